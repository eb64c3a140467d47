import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from bbtraining.bookings.billing.amounts import MoneyLine
from bbtraining.bookings.billing.invoices import (
    Invoice,
    InvoiceStatus,
    issue_credit_invoice,
    issue_invoice,
)
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.bookings.billing.support import pay_in_full

LINE = MoneyLine("Training gespreksbegeleiders", Decimal(1), Decimal("495.00"), Decimal(21))


def _issue(user=None, organisation=None, **kwargs):
    return issue_invoice(
        subject_type="enrollment",
        subject_id=1,
        buyer_name="Eva",
        lines=[LINE],
        buyer_user=user,
        buyer_organisation=organisation,
        **kwargs,
    )


def test_numbers_are_sequential_per_year_with_vat_totals():
    first, second = _issue(), _issue()
    db.session.commit()
    assert second.sequence == first.sequence + 1
    assert first.number.endswith("-00001") and second.number.endswith("-00002")
    assert first.subtotal == Decimal("495.00")
    assert first.vat_total == Decimal("103.95")
    assert first.total == Decimal("598.95")


def test_rolled_back_invoice_leaves_no_gap():
    _issue()
    db.session.commit()
    _issue()
    db.session.rollback()
    third = _issue()
    db.session.commit()
    assert third.number.endswith("-00002")


def test_no_duplicates_under_concurrency(app):
    # SQLite serialises writers; it must still never duplicate.
    workers = 4 if db.engine.dialect.name == "sqlite" else 12
    errors: list[Exception] = []

    def issue_one():
        with app.app_context():
            try:
                _issue()
                db.session.commit()
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue_one) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sequences = sorted(db.session.scalars(select(Invoice.sequence)))
    assert sequences == list(range(1, workers + 1))


def test_credit_invoice_negates_and_settles():
    original = _issue()
    credit = issue_credit_invoice(original, reason="geannuleerd")
    db.session.commit()
    assert credit.total == Decimal("-598.95")
    assert credit.credit_for_id == original.id
    assert original.status == InvoiceStatus.CREDITED
    with pytest.raises(DomainError, match="al gecrediteerd"):
        issue_credit_invoice(original)


def test_mark_paid_is_idempotent():
    invoice = _issue()
    invoice.mark_paid("bank-transfer")
    paid_at = invoice.paid_at
    invoice.mark_paid("bank-transfer")
    assert invoice.paid_at == paid_at and invoice.status == InvoiceStatus.PAID


def test_pdf_visible_to_buyer_org_and_staff_only(client, make_user, make_organisation, login):
    org, other_org = make_organisation(), make_organisation()
    buyer = make_user("client", organisation=org)
    colleague = make_user("client", organisation=org)
    stranger = make_user("client", organisation=other_org)
    admin = make_user("admin")
    invoice = _issue(user=buyer, organisation=org)
    db.session.commit()
    url = f"/invoices/{invoice.id}.pdf"
    assert client.get(url).status_code == 302  # anonymous: to login
    for user, status in ((stranger, 404), (colleague, 200), (buyer, 200), (admin, 200)):
        login(user)
        response = client.get(url)
        assert response.status_code == status, user.email
        if status == 200:
            assert response.data.startswith(b"%PDF")
        client.post("/auth/logout")


def test_admin_registers_a_bank_transfer_in_full(client, make_user, login):
    invoice = _issue()
    db.session.commit()
    login(make_user("facilitator"))
    assert pay_in_full(client, invoice).status_code == 403
    client.post("/auth/logout")
    login(make_user("admin"))
    pay_in_full(client, invoice)
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == InvoiceStatus.PAID
