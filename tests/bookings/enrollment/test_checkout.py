"""Paying an enrollment through Stripe Checkout, with the real stripe-python client against the
local stand-in, and webhooks signed with the test secret."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.billing.stripe_client import StripeEvent
from bbtraining.bookings.enrollment import payments, waitlist
from bbtraining.bookings.enrollment import (
    tasks as enrollment_tasks,
)
from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
from bbtraining.courses import editions
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.bookings.conftest import seats_taken
from tests.conftest import outbox_to


@pytest.fixture
def enroll_by_card(client, login, billing_form, stripe_stub):
    """Sign in and enroll with pay_by=stripe; returns (enrollment, response)."""

    def do(edition, user):
        login(user)
        response = client.post(f"/editions/{edition.id}/enroll", data=billing_form(pay_by="stripe"))
        assert response.status_code == 303, response.data[:800]
        client.post("/auth/logout")
        enrollment = db.session.scalar(
            select(Enrollment).where(Enrollment.user_id == user.id).order_by(Enrollment.id.desc())
        )
        return enrollment, response

    return do


def _invoices() -> int:
    return db.session.scalar(select(func.count(Invoice.id)))


def test_enrollment_page_offers_ideal_and_card_when_stripe_is_configured(
    client, make_edition, make_user, login, stripe_stub
):
    edition = make_edition()
    login(make_user("facilitator"))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert 'value="stripe"' in page and "iDEAL of creditcard" in page
    assert 'value="invoice"' in page


def test_checkout_session_carries_idempotency_key_metadata_and_the_hold(
    make_edition, make_user, enroll_by_card, stripe_stub
):
    edition = make_edition(capacity=3)
    enrollment, response = enroll_by_card(edition, make_user("facilitator", email="eva@example.nl"))
    assert enrollment.status == "held" and enrollment.payment_status == "pending"
    assert seats_taken(edition) == 1  # the seat is held while paying
    [request] = stripe_stub.find_requests("POST", "/v1/checkout/sessions")
    assert request.idempotency_key == f"checkout-{enrollment.token}-1"
    params = request.params
    assert params["metadata"]["enrollment_id"] == str(enrollment.id)
    assert params["allowed_payment_method_types"] == ["card", "ideal"]
    assert params["line_items"][0]["price_data"]["currency"] == "eur"
    assert params["line_items"][0]["price_data"]["unit_amount"] == "59895"
    assert params["customer_email"] == "eva@example.nl"
    session = stripe_stub.get(enrollment.stripe_session_id)
    assert response.headers["Location"] == session["url"]
    assert int(enrollment.hold_expires_at.timestamp()) == session["expires_at"]
    assert timedelta(minutes=30) < enrollment.hold_expires_at - utcnow() < timedelta(minutes=32)
    assert outbox_to("eva@example.nl") == []  # nothing to confirm yet


def test_paid_checkout_confirms_once_and_replays_change_nothing(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=3, days=1)
    user = make_user("facilitator", email="eva@example.nl")
    enrollment, _ = enroll_by_card(edition, user)
    event = stripe_stub.complete_checkout(enrollment.stripe_session_id)
    assert deliver(event) == "confirmed"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "confirmed" and enrollment.payment_status == "paid"
    assert enrollment.amount_paid == Decimal("598.95")
    assert (
        enrollment.stripe_payment_intent_id
        == stripe_stub.get(enrollment.stripe_session_id)["payment_intent"]
    )
    assert enrollment.invoice.status == "paid" and enrollment.invoice.payment_method == "stripe"
    assert seats_taken(edition) == 1
    mails = outbox_to("eva@example.nl")
    confirmation = [m for m in mails if m.subject.startswith("Inschrijving bevestigd")]
    assert len(confirmation) == 1 and "ontvangen" in confirmation[0].text_body
    assert len([m for m in mails if m.calendar_method == "REQUEST"]) == 1

    assert deliver(event) == "duplicate"  # the same event again
    again = {**event, "id": event["id"] + "_retry"}  # a new event id, same session
    assert deliver(again) == "already-recorded"
    assert _invoices() == 1
    assert len(outbox_to("eva@example.nl")) == len(mails)
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 2


def test_delayed_payment_holds_the_seat_then_confirms_in_any_order(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=2)
    enrollment, _ = enroll_by_card(edition, make_user("facilitator"))
    completed = stripe_stub.complete_checkout(enrollment.stripe_session_id, payment_status="unpaid")
    succeeded = stripe_stub.async_succeed(enrollment.stripe_session_id)
    # The settlement arrives before the completion: the re-fetched session is paid either way.
    assert deliver(succeeded) == "confirmed"
    assert deliver(completed) == "already-recorded"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "confirmed" and _invoices() == 1


def test_processing_payment_keeps_the_seat_past_the_checkout_hold(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=2)
    enrollment, _ = enroll_by_card(edition, make_user("facilitator"))
    completed = stripe_stub.complete_checkout(enrollment.stripe_session_id, payment_status="unpaid")
    assert deliver(completed) == "processing"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "held" and enrollment.payment_status == "processing"
    assert enrollment.hold_expires_at - utcnow() > timedelta(hours=70)
    assert deliver(stripe_stub.async_succeed(enrollment.stripe_session_id)) == "confirmed"


def test_failed_delayed_payment_releases_the_seat_to_the_waiting_list(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=1)
    payer = make_user("facilitator", email="eva@example.nl")
    enrollment, _ = enroll_by_card(edition, payer)
    waiting = make_user("facilitator", email="wacht@example.nl")
    waitlist.join_waitlist(edition, waiting)
    db.session.commit()
    stripe_stub.complete_checkout(enrollment.stripe_session_id, payment_status="unpaid")
    failed = stripe_stub.async_fail(enrollment.stripe_session_id)
    assert deliver(failed) == "payment-failed"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "expired" and enrollment.payment_status == "failed"
    assert any(m.subject.startswith("Betaling mislukt") for m in outbox_to("eva@example.nl"))
    entry = db.session.scalar(select(WaitlistEntry))
    assert entry.status == "offered"  # the freed seat went straight to the next person
    assert seats_taken(edition) == 1
    assert any(m.subject.startswith("Er is een plaats") for m in outbox_to("wacht@example.nl"))
    assert deliver(failed) == "duplicate"


def test_expired_checkout_releases_the_hold(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=1)
    enrollment, _ = enroll_by_card(edition, make_user("facilitator", email="eva@example.nl"))
    event = stripe_stub.expire_checkout(enrollment.stripe_session_id)
    assert deliver(event) == "hold-released"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "expired" and seats_taken(edition) == 0
    assert any(m.subject.startswith("Reservering verlopen") for m in outbox_to("eva@example.nl"))
    assert deliver({**event, "id": event["id"] + "_2"}) == "expired-known"


def test_payment_after_the_seat_is_gone_is_refunded_and_explained(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=1)
    late = make_user("facilitator", email="laat@example.nl")
    enrollment, _ = enroll_by_card(edition, late)
    waiting = make_user("facilitator", email="wacht@example.nl")
    waitlist.join_waitlist(edition, waiting)
    # Our side let the hold go (the customer kept the Stripe tab open); the seat moved on.
    payments.expire_hold(enrollment, reason="hold-lapsed", now=utcnow() + timedelta(hours=1))
    db.session.commit()
    assert db.session.scalar(select(WaitlistEntry)).status == "offered"

    event = stripe_stub.complete_checkout(enrollment.stripe_session_id)
    assert deliver(event) == "refunded-late"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "expired" and enrollment.payment_status == "refunded"
    assert enrollment.amount_refunded == Decimal("598.95")
    [refund_request] = stripe_stub.find_requests("POST", "/v1/refunds")
    assert refund_request.params["amount"] == "59895"
    charge = stripe_stub.get(stripe_stub.get(enrollment.stripe_payment_intent_id)["latest_charge"])
    assert charge["refunded"] is True
    mail = next(m for m in outbox_to("laat@example.nl") if "teruggestort" in m.subject)
    assert "al aan iemand anders gegeven" in mail.text_body
    assert seats_taken(edition) == 1 and _invoices() == 0

    # Stripe's charge.refunded for our own refund, delivered twice: recorded, nothing moves.
    refunded = stripe_stub.refund_event(enrollment.stripe_payment_intent_id)
    assert deliver(refunded) == "refund-known"
    assert deliver({**refunded, "id": refunded["id"] + "_2"}) == "refund-known"
    assert len(stripe_stub.find_requests("POST", "/v1/refunds")) == 1


def test_payment_after_the_hold_lapsed_keeps_a_seat_that_is_still_free(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=2)
    enrollment, _ = enroll_by_card(edition, make_user("facilitator"))
    payments.expire_hold(enrollment, reason="hold-lapsed", now=utcnow() + timedelta(hours=1))
    db.session.commit()
    assert seats_taken(edition) == 0
    assert deliver(stripe_stub.complete_checkout(enrollment.stripe_session_id)) == "confirmed"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "confirmed" and seats_taken(edition) == 1
    assert stripe_stub.find_requests("POST", "/v1/refunds") == []


def test_cancelling_a_paid_enrollment_refunds_through_stripe_with_credit_invoice(
    client, make_edition, make_user, login, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=2, start_in_days=30)
    user = make_user("facilitator", email="eva@example.nl")
    enrollment, _ = enroll_by_card(edition, user)
    deliver(stripe_stub.complete_checkout(enrollment.stripe_session_id))
    login(user)
    response = client.post(f"/enrollments/{enrollment.id}/cancel", data={"reason": "Verhinderd"})
    assert response.status_code == 302
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "cancelled" and enrollment.payment_status == "refunded"
    assert enrollment.amount_refunded == Decimal("598.95")
    [refund] = stripe_stub.find_requests("POST", "/v1/refunds")
    assert refund.idempotency_key == f"refund-cancel-{enrollment.token}"
    assert enrollment.credit_invoice.total == Decimal("-598.95")
    mail = next(m for m in outbox_to("eva@example.nl") if "geannuleerd" in m.subject)
    assert "598,95" in mail.text_body and "terug" in mail.text_body
    assert seats_taken(edition) == 0
    assert deliver(stripe_stub.refund_event(enrollment.stripe_payment_intent_id)) == "refund-known"


def test_refund_made_in_the_dashboard_is_recorded_from_the_webhook(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=2)
    enrollment, _ = enroll_by_card(edition, make_user("facilitator"))
    deliver(stripe_stub.complete_checkout(enrollment.stripe_session_id))
    enrollment = db.session.get(Enrollment, enrollment.id)
    stripe_stub.create_refund(enrollment.stripe_payment_intent_id, amount=10000)
    event = stripe_stub.refund_event(enrollment.stripe_payment_intent_id)
    # The payload is not trusted: even a doctored amount leads to what Stripe says now.
    event["data"]["object"]["amount_refunded"] = 1
    assert deliver(event) == "refund-recorded"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.amount_refunded == Decimal("100.00")
    assert enrollment.payment_status == "partially-refunded"
    assert enrollment.status == "confirmed"


def test_beat_sweep_closes_a_lapsed_checkout_and_frees_the_seat(
    make_edition, make_user, enroll_by_card, stripe_stub
):
    edition = make_edition(capacity=1)
    enrollment, _ = enroll_by_card(edition, make_user("facilitator", email="eva@example.nl"))
    enrollment.hold_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert enrollment_tasks.expire_holds() == {"hold-released": 1}
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).status == "expired"
    assert stripe_stub.get(enrollment.stripe_session_id)["status"] == "expired"
    assert seats_taken(edition) == 0
    assert enrollment_tasks.expire_holds() == {}


def test_beat_sweep_confirms_a_payment_whose_webhook_was_lost(
    make_edition, make_user, enroll_by_card, stripe_stub
):
    edition = make_edition(capacity=1)
    enrollment, _ = enroll_by_card(edition, make_user("facilitator"))
    stripe_stub.complete_checkout(enrollment.stripe_session_id)  # event never delivered
    enrollment.hold_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert enrollment_tasks.expire_holds() == {"confirmed": 1}
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "confirmed" and enrollment.payment_status == "paid"
    assert seats_taken(edition) == 1


def test_stripe_unreachable_keeps_the_hold_and_invoice_remains_possible(
    client, make_edition, make_user, login, billing_form, stripe_stub
):
    edition = make_edition(capacity=2)
    user = make_user("facilitator", email="eva@example.nl")
    login(user)
    stripe_stub.stop()
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form(pay_by="stripe"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "De betaalpagina is nu niet bereikbaar" in page
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.status == "held" and enrollment.stripe_session_id is None
    assert "Liever op factuur betalen" in page
    client.post(f"/enrollments/{enrollment.id}/invoice")
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "confirmed" and enrollment.pay_by == "invoice"
    assert enrollment.invoice.status == "open" and seats_taken(edition) == 1


def test_pay_again_reuses_the_open_session(
    client, make_edition, make_user, login, enroll_by_card, stripe_stub
):
    edition = make_edition(capacity=2)
    user = make_user("facilitator")
    enrollment, first = enroll_by_card(edition, user)
    login(user)
    detail = client.get(f"/enrollments/{enrollment.id}?betaling=afgebroken").get_data(as_text=True)
    assert "Nu betalen" in detail
    again = client.post(f"/enrollments/{enrollment.id}/pay")
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert len(stripe_stub.find_requests("POST", "/v1/checkout/sessions")) == 1


def test_switching_to_invoice_closes_the_checkout_so_it_cannot_be_paid_twice(
    client, make_edition, make_user, login, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=2)
    user = make_user("facilitator")
    enrollment, _ = enroll_by_card(edition, user)
    login(user)
    client.post(f"/enrollments/{enrollment.id}/invoice")
    assert stripe_stub.get(enrollment.stripe_session_id)["status"] == "expired"
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).pay_by == "invoice"


def test_held_enrollment_cancelled_by_participant_closes_checkout(
    client, make_edition, make_user, login, enroll_by_card, stripe_stub
):
    edition = make_edition(capacity=1)
    user = make_user("facilitator")
    enrollment, _ = enroll_by_card(edition, user)
    login(user)
    client.post(f"/enrollments/{enrollment.id}/cancel", data={})
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).status == "cancelled"
    assert stripe_stub.get(enrollment.stripe_session_id)["status"] == "expired"
    assert seats_taken(edition) == 0


def test_cancelled_edition_refunds_a_payment_that_settles_afterwards(
    make_edition, make_user, enroll_by_card, stripe_stub, deliver
):
    edition = make_edition(capacity=2)
    user = make_user("facilitator", email="eva@example.nl")
    enrollment, _ = enroll_by_card(edition, user)
    deliver(stripe_stub.complete_checkout(enrollment.stripe_session_id, payment_status="unpaid"))
    admin = make_user("admin")
    editions.cancel_edition(edition, "Trainer ziek", by=admin)
    db.session.commit()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "cancelled" and seats_taken(edition) == 0
    assert deliver(stripe_stub.async_succeed(enrollment.stripe_session_id)) == "refunded-late"
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.payment_status == "refunded" and _invoices() == 0
    mail = next(m for m in outbox_to("eva@example.nl") if "teruggestort" in m.subject)
    assert "nadat uw inschrijving was geannuleerd" in mail.text_body
