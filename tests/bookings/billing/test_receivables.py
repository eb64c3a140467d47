"""Receivables: the list of open invoices, registering bank payments (partial ones too) and the
payment reminders, by hand and by the daily beat task through the real outbox and SMTP."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.billing import receivables as rec
from bbtraining.bookings.billing.amounts import MoneyLine
from bbtraining.bookings.billing.invoices import Invoice, issue_credit_invoice, issue_invoice
from bbtraining.bookings.billing.tasks import send_due_reminders
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.bookings.billing.support import payment_url, register_payment
from tests.conftest import outbox_to

LINE = MoneyLine("Training gespreksbegeleiders", Decimal(1), Decimal("1000.00"), Decimal(21))


def _invoice(*, overdue_days: int = 0, email="griffie@gemeente.nl", name="Gemeente Test", **kw):
    """An open invoice of 1210,00 whose due date was `overdue_days` days ago (0: due today)."""
    invoice = issue_invoice(
        subject_type="inhouse",
        subject_id=1,
        buyer_name=name,
        buyer_email=email,
        lines=[LINE],
        **kw,
    )
    shift = timedelta(days=30 + overdue_days)
    invoice.issue_date -= shift
    invoice.due_date = invoice.issue_date + timedelta(days=30)
    db.session.commit()
    return invoice


def _audit(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- services ---------------------------------------------------------------------------------
def test_partial_payments_add_up_and_the_last_one_pays_the_invoice(make_user):
    staff = make_user("admin")
    invoice = _invoice(overdue_days=3)
    rec.register_payment(invoice, Decimal("200.00"), rec.today() - timedelta(days=1), by=staff)
    db.session.commit()
    assert invoice.status == "open" and invoice.amount_paid == Decimal("200.00")
    assert invoice.open_amount == Decimal("1010.00")
    [item] = rec.receivables()
    assert item.invoice == invoice and item.days_overdue == 3
    rec.register_payment(invoice, Decimal("1010.00"), rec.today(), by=staff)
    db.session.commit()
    assert invoice.status == "paid" and invoice.payment_method == "bank-transfer"
    assert invoice.open_amount == 0 and rec.receivables() == []
    assert [p.amount for p in rec.payments_of(invoice)] == [Decimal("200.00"), Decimal("1010.00")]
    assert _audit("invoice.payment_registered") == 2 and _audit("invoice.paid") == 1


@pytest.mark.parametrize(
    ("amount", "days_from_today", "field", "message"),
    [
        ("0", 0, "amount", "Vul een bedrag groter dan 0 in."),
        ("-5", 0, "amount", "Vul een bedrag groter dan 0 in."),
        ("1210.01", 0, "amount", "Het bedrag is hoger dan wat nog openstaat (€ 1.210,00)."),
        ("100", 1, "paid_on", "De betaaldatum ligt in de toekomst."),
        ("100", -400, "paid_on", "De betaaldatum ligt vóór de factuurdatum."),
    ],
)
def test_impossible_payments_are_refused_and_change_nothing(
    make_user, amount, days_from_today, field, message
):
    staff = make_user("admin")
    invoice = _invoice()
    with pytest.raises(DomainError) as refused:
        rec.register_payment(
            invoice, Decimal(amount), rec.today() + timedelta(days=days_from_today), by=staff
        )
    db.session.rollback()
    assert str(refused.value).replace("\xa0", " ") == message and refused.value.field == field
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).amount_paid == 0
    assert _count(rec.InvoicePayment) == 0


def test_simultaneous_payments_never_pay_more_than_the_total(app, make_user):
    """Two staff register the whole open amount at the same moment: one payment counts."""
    import threading

    staff_id, invoice_id = make_user("admin").id, _invoice().id
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def pay():
        from bbtraining.auth.models import User

        with app.app_context():
            try:
                staff = db.session.get(User, staff_id)
                invoice = db.session.get(Invoice, invoice_id)
                barrier.wait()
                rec.register_payment(invoice, Decimal("1210.00"), rec.today(), by=staff)
                db.session.commit()
                outcomes.append("paid")
            except DomainError:
                db.session.rollback()
                outcomes.append("refused")
            except Exception as exc:  # SQLite: the writer lock; asserted below
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("paid") == 1, outcomes
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice_id)
    assert invoice.amount_paid == Decimal("1210.00") and invoice.status == "paid"
    assert _count(rec.InvoicePayment) == 1


def test_paid_and_credit_invoices_are_not_receivables(make_user):
    staff = make_user("admin")
    paid, credited, still_open = _invoice(), _invoice(), _invoice(overdue_days=10)
    rec.register_payment(paid, paid.total, rec.today(), by=staff)
    issue_credit_invoice(credited, reason="geannuleerd", by=staff)
    db.session.commit()
    assert [r.invoice for r in rec.receivables()] == [still_open]
    assert rec.open_invoice_count() == 1
    with pytest.raises(DomainError, match="Op deze factuur staat niets meer open."):
        rec.register_payment(paid, Decimal("1"), rec.today(), by=staff)


def test_overdue_filter_orders_the_longest_overdue_first():
    late, later, not_yet = _invoice(overdue_days=5), _invoice(overdue_days=40), _invoice()
    not_yet.due_date = rec.today() + timedelta(days=10)
    db.session.commit()
    assert [r.invoice for r in rec.receivables(overdue_only=True)] == [later, late]
    assert [r.invoice for r in rec.receivables()] == [later, late, not_yet]


def test_automatic_reminders_follow_the_rule(app):
    """7 days after the due date, then every 14 days, at most 3 (config)."""
    invoice = _invoice(overdue_days=0)
    due = invoice.due_date

    def due_on(day: int) -> bool:
        return invoice.id in rec.due_reminder_ids(on=due + timedelta(days=day))

    assert not due_on(6) and due_on(7)
    rec.send_reminder(invoice, on=due + timedelta(days=7))
    db.session.commit()
    assert not due_on(7) and not due_on(20) and due_on(21)
    rec.send_reminder(invoice, on=due + timedelta(days=21))
    rec.send_reminder(invoice, on=due + timedelta(days=35))
    db.session.commit()
    assert not due_on(49) and not due_on(400)  # three sent: no more
    app.config["INVOICE_REMINDER_MAX"] = 4
    try:
        assert due_on(49)
    finally:
        app.config["INVOICE_REMINDER_MAX"] = 3


def test_a_reminder_goes_once_a_day_at_most(make_user):
    staff = make_user("admin")
    invoice = _invoice(overdue_days=8)
    rec.send_reminder(invoice, by=staff)
    db.session.commit()
    with pytest.raises(DomainError, match="Vandaag is al een herinnering"):
        rec.send_reminder(invoice)
    db.session.rollback()
    assert len(outbox_to("griffie@gemeente.nl")) == 1
    assert rec.due_reminder_ids() == []  # the manual one counts for the automatic rule


def test_no_reminder_without_an_address_or_anything_open(make_user):
    invoice = _invoice(overdue_days=30, email=None)
    with pytest.raises(DomainError, match="geen e-mailadres"):
        rec.send_reminder(invoice)
    db.session.rollback()
    assert rec.due_reminder_ids() == []
    assert _count(OutboxMessage) == 0


# -- the beat task, through the outbox and a real SMTP server ------------------------------------
def test_the_daily_task_mails_overdue_invoices_once(smtp_server, make_user):
    from bbtraining.notifications.tasks import deliver_due_now

    late = _invoice(overdue_days=9, email="late@gemeente.nl", name="Gemeente Laat")
    _invoice(overdue_days=3, email="soon@gemeente.nl")  # not yet 7 days late
    paid = _invoice(overdue_days=20, email="paid@gemeente.nl")
    rec.register_payment(paid, paid.total, rec.today(), by=make_user("admin"))
    db.session.commit()

    assert send_due_reminders.apply().get() == {"sent": 1, "skipped": 0, "errors": 0}
    assert deliver_due_now() == {"sent": 1}
    [(recipients, message)] = smtp_server.wait_for(1)
    assert recipients == ["late@gemeente.nl"]
    assert message["Subject"] == f"Herinnering: factuur {late.number} staat nog open"
    body = message.get_body(("plain",)).get_content().replace("\xa0", " ")
    assert "Beste Gemeente Laat," in body and "€ 1.210,00" in body
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"factuur-{late.number}.pdf"
    [reminder] = rec.reminders_of(late)
    assert reminder.automatic and reminder.sent_by_id is None
    assert _audit("invoice.reminder_sent") == 1

    # The beat fires again the same day (a restart): nothing more is sent.
    assert send_due_reminders.apply().get() == {"sent": 0, "skipped": 0, "errors": 0}
    assert deliver_due_now() == {}
    assert len(smtp_server.messages) == 1


# -- pages --------------------------------------------------------------------------------------
def test_only_staff_reach_receivables(client, login, make_user):
    invoice = _invoice(overdue_days=10)
    urls = [
        ("get", "/admin/receivables"),
        ("get", "/admin/receivables.csv"),
        ("get", "/admin/receivables.xlsx"),
        ("get", payment_url(invoice.id)),
        ("post", f"/admin/invoices/{invoice.id}/reminder"),
    ]
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 302  # anonymous: to the login page
    for role in ("facilitator", "client", "trainer"):
        login(make_user(role))
        for method, url in urls:
            assert getattr(client, method)(url).status_code == 403, (role, url)
        assert register_payment(client, invoice.id, "100").status_code == 403
        client.post("/auth/logout")
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).amount_paid == 0
    assert _count(rec.InvoiceReminder) == 0 and _count(OutboxMessage) == 0
    login(make_user("admin"))
    assert client.get(payment_url(invoice.id + 999)).status_code == 404


def test_the_list_shows_every_open_invoice_and_exports_it(client, login, make_user):
    staff = make_user("admin")
    late = _invoice(overdue_days=12, name="=HYPERLINK(1)")
    fresh = _invoice(name="Provincie Nieuw")
    fresh.due_date = rec.today() + timedelta(days=20)
    rec.register_payment(late, Decimal("210.00"), rec.today(), by=staff)
    rec.send_reminder(late, by=staff)
    db.session.commit()
    login(staff)
    page = client.get("/admin/receivables").get_data(as_text=True)
    assert late.number in page and fresh.number in page
    assert "€\xa0210,00" in page and "(1×)" in page and ">12<" in page
    overdue = client.get("/admin/receivables?overdue=1").get_data(as_text=True)
    assert late.number in overdue and fresh.number not in overdue

    response = client.get("/admin/receivables.csv?overdue=1")
    assert response.mimetype == "text/csv"
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[0][:3] == ["Factuur", "Soort", "Debiteur"]
    assert len(rows) == 2 and rows[1][0] == late.number
    assert rows[1][2] == "'=HYPERLINK(1)"  # never a formula
    assert rows[1][6] == "12" and rows[1][9] == "1000,00" and rows[1][10] == "1"

    sheet = load_workbook(io.BytesIO(client.get("/admin/receivables.xlsx").data)).active
    values = list(sheet.values)
    assert values[0][0] == "Factuur" and len(values) == 3
    assert values[1][0] == late.number and values[1][6] == 12 and values[1][9] == 1000


def test_the_dashboard_count_links_to_the_list(client, login, make_user, make_enrollment):
    make_enrollment()
    login(make_user("admin"))
    page = client.get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/receivables">1 open factuur</a>' in page


def test_registering_a_payment_asks_for_confirmation_first(client, login, make_user):
    invoice = _invoice(overdue_days=2)
    login(make_user("admin"))
    form = client.get(payment_url(invoice.id)).get_data(as_text=True)
    assert "1.210,00" in form or "1210.00" in form  # the open amount is proposed
    page = client.post(
        payment_url(invoice.id),
        data={"amount": "500,00", "paid_on": rec.today().isoformat()},
    ).get_data(as_text=True)
    page = page.replace("\xa0", " ")
    assert "Betaling bevestigen" in page and "Daarna staat nog € 710,00 open." in page
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).amount_paid == 0  # not before the confirmation
    response = register_payment(client, invoice.id, "500.00")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert f"De betaling op factuur {invoice.number} is geregistreerd." in page
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.amount_paid == Decimal("500.00") and invoice.status == "open"


@pytest.mark.parametrize(
    ("amount", "paid_on", "message"),
    [
        ("0", None, "Vul een bedrag groter dan 0 in."),
        ("-10", None, "Vul een bedrag van 0 of meer in."),
        ("veel", None, "Vul een bedrag in euro in, bijvoorbeeld 1450 of 1450,50."),
        ("1300", None, "Het bedrag is hoger dan wat nog openstaat (€ 1.210,00)."),
        ("100", "morgen", "De betaaldatum ligt in de toekomst."),
        ("100", "geen-datum", "Vul een geldige datum in."),
    ],
)
def test_bad_payments_on_the_page_are_refused_in_dutch(
    client, login, make_user, amount, paid_on, message
):
    invoice = _invoice()
    login(make_user("admin"))
    day = {
        None: rec.today().isoformat(),
        "morgen": (rec.today() + timedelta(days=1)).isoformat(),
    }.get(paid_on, paid_on)
    for confirmed in ("", "1"):  # the first step and a forged confirmation alike
        page = client.post(
            payment_url(invoice.id), data={"amount": amount, "paid_on": day, "confirmed": confirmed}
        ).get_data(as_text=True)
        assert message in page.replace("&#39;", "'").replace("\xa0", " ")
        assert "Betaling bevestigen</button>" not in page
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).amount_paid == 0
    assert _count(rec.InvoicePayment) == 0 and _audit("invoice.payment_registered") == 0


def test_paying_an_enrollment_invoice_in_parts_settles_the_enrollment_at_the_end(
    client, login, make_user, make_enrollment
):
    enrollment = make_enrollment(user=make_user("facilitator", email="eva@example.nl"))
    login(make_user("admin"))
    register_payment(client, enrollment.invoice_id, "98,95")
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).payment_status == "due"
    register_payment(client, enrollment.invoice_id, "500")
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.payment_status == "paid" and enrollment.invoice.status == "paid"
    assert any("Betaling ontvangen" in m.subject for m in outbox_to("eva@example.nl"))


def test_staff_send_a_reminder_by_hand_once_a_day(client, login, make_user):
    staff = make_user("admin")
    invoice = _invoice(overdue_days=1)
    login(staff)
    response = client.post(f"/admin/invoices/{invoice.id}/reminder")
    page = client.get(response.location).get_data(as_text=True)
    assert f"Er is een betalingsherinnering voor factuur {invoice.number} verstuurd." in page
    client.post(f"/admin/invoices/{invoice.id}/reminder", data={"next": "receivables"})
    page = client.get("/admin/receivables").get_data(as_text=True)
    assert "Vandaag is al een herinnering voor deze factuur verstuurd." in page
    assert len(outbox_to("griffie@gemeente.nl")) == 1
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "invoice.reminder_sent")
    )
    assert entry.actor_id == staff.id and entry.data["automatic"] is False


# -- demo and wiring ----------------------------------------------------------------------------
def test_demo_has_an_overdue_partly_paid_reminded_invoice_and_is_idempotent(make_edition):
    from bbtraining.auth import demo as auth_demo
    from bbtraining.bookings.billing import demo as billing_demo
    from bbtraining.bookings.enrollment import demo as enrollment_demo

    auth_demo.seed()
    make_edition(capacity=10)
    make_edition(capacity=10, start_in_days=60)
    for _ in range(2):
        enrollment_demo.seed()
        billing_demo.seed()
        db.session.commit()
    [item] = rec.receivables(overdue_only=True)
    assert item.invoice.buyer_email == "begeleider@example.nl"
    assert item.days_overdue == 31 and item.reminders == 1
    assert item.invoice.amount_paid == Decimal("100.00") and item.invoice.status == "open"
    assert len(rec.payments_of(item.invoice)) == 1


def test_the_reminder_task_runs_daily_on_beat(app):
    entry = app.config["CELERY_BEAT_SCHEDULE"]["billing-invoice-reminders"]
    assert entry["task"] == "bookings.invoice_reminders"
    assert entry["schedule"].hour == {9} and entry["schedule"].minute == {0}


def test_a_real_worker_sends_the_reminder_once(celery_worker, smtp_server):
    """The beat's task in a real worker process: the reminder mailed through SMTP, once."""
    import time

    late = _invoice(overdue_days=8, email="worker@gemeente.nl")
    send_due_reminders.apply_async()
    [(recipients, message)] = smtp_server.wait_for(1, timeout=30)
    assert recipients == ["worker@gemeente.nl"] and late.number in message["Subject"]
    send_due_reminders.apply_async()  # the same day again: nothing more
    time.sleep(1.5)
    assert len(smtp_server.messages) == 1
    db.session.rollback()
    assert len(rec.reminders_of(late)) == 1
