"""The invoice of an inhouse booking at Stripe: a sent invoice due in 30 days, paid through a
signed `invoice.paid` webhook that is believed only after re-fetching, once."""

import copy
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from bbtraining.bookings.billing.invoices import Invoice, InvoiceStatus
from bbtraining.bookings.inhouse import invoicing
from bbtraining.bookings.inhouse import tasks as inhouse_tasks
from bbtraining.bookings.inhouse.models import InhouseBooking, InhouseStatus
from bbtraining.extensions import db
from tests.bookings.billing.support import pay_in_full, payment_url, register_payment
from tests.stripe_stub import StripeStub, signed_event

SECRET = "whsec_inhouse_test"
S = InhouseStatus


@pytest.fixture
def stripe_stub(app):
    with StripeStub() as stub:
        old = {
            k: app.config.get(k)
            for k in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE")
        }
        app.config.update(
            STRIPE_SECRET_KEY="sk_test_bbtraining",
            STRIPE_WEBHOOK_SECRET=SECRET,
            STRIPE_API_BASE=stub.url,
        )
        yield stub
        app.config.update(old)


def _post(client, event):
    body, headers = signed_event(event, SECRET)
    return client.post("/stripe/webhook", data=body, headers=headers, csrf=False)


def _status_count(booking, status) -> int:
    return sum(1 for t in booking.transitions if t.action == "status" and t.to_status == status)


def test_invoice_is_created_finalized_and_sent_at_stripe(inhouse, stripe_stub):
    booking = inhouse.invoiced()
    invoice = booking.invoice
    stripe_id = invoicing.push_invoice_to_stripe(invoice)
    db.session.commit()
    assert invoice.stripe_invoice_id == stripe_id
    remote = stripe_stub.get(stripe_id)
    assert remote["collection_method"] == "send_invoice"
    assert remote["due_date"] - remote["created"] == 30 * 86400
    assert remote["status"] == "open" and stripe_id in stripe_stub.sent_invoices
    assert remote["metadata"]["bbtraining_invoice_number"] == invoice.number
    assert remote["metadata"]["po_number"] == "PO-4500012345"
    assert invoice.number in remote["description"] and "PO-4500012345" in remote["description"]
    customer = stripe_stub.get(remote["customer"])
    assert customer["name"] == booking.organisation.name
    assert customer["email"] == booking.contact_email
    # The same amounts as our invoice: lines excl. VAT, 21 % on top.
    assert remote["subtotal"] == 160750 and remote["total"] == int(invoice.total * 100)
    assert [line["amount"] for line in remote["lines"]["data"]] == [145000, 4500, 11250]
    assert booking.transitions[-1].action == "stripe_invoice"

    # Pushing again (a retried task, the sweep) calls Stripe no more.
    calls = len(stripe_stub.requests)
    assert invoicing.push_invoice_to_stripe(invoice) == stripe_id
    assert len(stripe_stub.requests) == calls
    assert invoicing.invoices_waiting_for_stripe() == []


def test_customer_and_tax_rate_are_reused_across_invoices(inhouse, stripe_stub, make_organisation):
    first = inhouse.invoiced()
    invoicing.push_invoice_to_stripe(first.invoice)
    db.session.commit()
    colleague = inhouse.client_user(first.organisation)
    # The same contact person, asked for by a colleague.
    second = inhouse.booking(
        colleague, contact_email=first.contact_email, contact_name=first.contact_name
    )
    inhouse.proposal(second, sessions=[inhouse.session_draft(days=70)])
    inhouse.accept(second)
    inhouse.delivered(booking=second)
    invoicing.issue_booking_invoice(
        second, by=inhouse.staff, lines=invoicing.invoice_lines_from_proposal(second)
    )
    db.session.commit()
    invoicing.push_invoice_to_stripe(second.invoice)
    db.session.commit()
    assert len(stripe_stub.objects("customer")) == 1
    assert len(stripe_stub.objects("tax_rate")) == 1
    assert len(stripe_stub.objects("invoice")) == 2
    # Another contact person of the organisation is another Stripe customer (their mailbox).
    third = inhouse.booking(colleague)
    inhouse.proposal(third, sessions=[inhouse.session_draft(days=75)])
    inhouse.accept(third)
    inhouse.delivered(booking=third)
    invoicing.issue_booking_invoice(
        third, by=inhouse.staff, lines=invoicing.invoice_lines_from_proposal(third)
    )
    db.session.commit()
    invoicing.push_invoice_to_stripe(third.invoice)
    emails = sorted(c["email"] for c in stripe_stub.objects("customer"))
    assert emails == sorted([first.contact_email, colleague.email])


def test_signed_invoice_paid_webhook_marks_invoice_and_booking_paid_once(
    inhouse, stripe_stub, client
):
    booking = inhouse.invoiced()
    stripe_id = invoicing.push_invoice_to_stripe(booking.invoice)
    db.session.commit()
    event = stripe_stub.pay_invoice(stripe_id)
    response = _post(client, event)
    assert response.status_code == 200 and response.json["outcome"] == "paid"
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.status == S.PAID
    assert booking.invoice.status == InvoiceStatus.PAID
    assert booking.invoice.payment_method == "stripe-invoice"
    paid_at = booking.invoice.paid_at

    # The same event again, and the same fact in a new event: nothing changes twice.
    assert _post(client, event).json["outcome"] == "duplicate"
    again = copy.deepcopy(event)
    again["id"] = event["id"] + "_resent"
    assert _post(client, again).status_code == 200
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.invoice.paid_at == paid_at
    assert _status_count(booking, "paid") == 1


def test_webhook_is_believed_only_after_refetching(inhouse, stripe_stub, client):
    booking = inhouse.invoiced()
    stripe_id = invoicing.push_invoice_to_stripe(booking.invoice)
    db.session.commit()
    # A correctly signed event whose payload claims "paid" for an invoice Stripe has open.
    forged = {
        "id": "evt_claims_paid",
        "object": "event",
        "type": "invoice.paid",
        "created": 1,
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": {"id": stripe_id, "object": "invoice", "status": "paid"}},
    }
    response = _post(client, forged)
    assert response.status_code == 200 and response.json["outcome"] == "not paid (open)"
    db.session.expire_all()
    assert db.session.get(InhouseBooking, booking.id).status == S.INVOICED


def test_unsigned_webhook_changes_nothing(inhouse, stripe_stub, client):
    booking = inhouse.invoiced()
    stripe_id = invoicing.push_invoice_to_stripe(booking.invoice)
    db.session.commit()
    event = stripe_stub.pay_invoice(stripe_id)
    body = json.dumps(event).encode()
    assert client.post("/stripe/webhook", data=body, csrf=False).status_code == 400
    _body, wrong = signed_event(event, "whsec_someone_else")
    assert client.post("/stripe/webhook", data=body, headers=wrong, csrf=False).status_code == 400
    db.session.expire_all()
    assert db.session.get(InhouseBooking, booking.id).status == S.INVOICED


def test_sweep_pushes_invoices_whose_task_was_lost(inhouse, stripe_stub):
    booking = inhouse.invoiced()
    assert [i.id for i in invoicing.invoices_waiting_for_stripe()] == [booking.invoice_id]
    assert inhouse_tasks.stripe_sweep.run() == 1
    db.session.expire_all()
    assert db.session.get(Invoice, booking.invoice_id).stripe_invoice_id is not None
    assert invoicing.invoices_waiting_for_stripe() == []


def test_invoice_view_hands_the_invoice_to_stripe_after_commit(
    inhouse, stripe_stub, client, login, app
):
    booking = inhouse.delivered()
    login(inhouse.staff)
    page = client.get(f"/admin/inhouse/{booking.id}/invoice")
    assert page.status_code == 200 and "Stripe stuurt de klant" in page.get_data(as_text=True)
    data = {
        "lines-0-kind": "session-fee",
        "lines-0-description": "Inspiratiesessie",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "1.450,00",
        "billing_address": "Postbus 1",
    }
    response = client.post(f"/admin/inhouse/{booking.id}/invoice", data=data)
    assert response.status_code == 302
    invoice = db.session.scalar(select(Invoice))
    assert invoice.subtotal == Decimal("1450.00") and invoice.reference == "PO-4500012345"
    # Tests switch auto-enqueueing off; the sweep (or a worker) takes it from here.
    assert invoice.stripe_invoice_id is None
    assert invoicing.invoices_waiting_for_stripe() == [invoice]


def test_without_stripe_staff_mark_the_invoice_paid(inhouse, client, login):
    booking = inhouse.invoiced()
    assert invoicing.push_invoice_to_stripe(booking.invoice) is None
    assert invoicing.invoices_waiting_for_stripe() == []
    login(inhouse.staff)
    page = client.get(f"/admin/inhouse/{booking.id}").get_data(as_text=True)
    assert payment_url(booking.invoice_id) in page
    response = pay_in_full(client, booking.invoice)
    assert response.status_code == 302
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.status == S.PAID and booking.invoice.payment_method == "bank-transfer"
    assert booking.transitions[-1].actor_id == inhouse.staff.id
    register_payment(client, booking.invoice_id, "1,00")  # a second payment: nothing is open
    db.session.expire_all()
    assert _status_count(db.session.get(InhouseBooking, booking.id), "paid") == 1
