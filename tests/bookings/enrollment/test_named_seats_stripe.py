"""One seat of a group paid online: its share is refunded through Stripe, and cancelling the
rest later refunds only what remains (never more than was paid)."""

from decimal import Decimal

from sqlalchemy import select

from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.enrollment import cancellation
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.extensions import db
from tests.bookings.conftest import seats_taken


def test_a_seat_of_a_group_paid_by_card_is_refunded_then_the_rest(
    client, make_edition, make_user, login, billing_form, stripe_stub, deliver
):
    edition = make_edition(capacity=5, days=1, start_in_days=30)
    booker = make_user("client", email="griffie@gemeente.nl")
    login(booker)
    data = billing_form(pay_by="stripe", group_size="3")
    for i, name in enumerate(("Anna", "Bram", "Cor")):
        data[f"colleagues-{i}-name"] = name
        data[f"colleagues-{i}-email"] = f"{name.lower()}@gemeente.nl"
    data["not_attending"] = "y"
    response = client.post(f"/editions/{edition.id}/enroll", data=data)
    assert response.status_code == 303, response.data[:800]
    enrollment = db.session.scalar(select(Enrollment))
    [checkout] = stripe_stub.find_requests("POST", "/v1/checkout/sessions")
    assert checkout.params["line_items"][0]["price_data"]["unit_amount"] == "179685"
    deliver(stripe_stub.complete_checkout(enrollment.stripe_session_id))
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "confirmed" and enrollment.amount_paid == Decimal("1796.85")

    response = client.post(f"/enrollments/{enrollment.id}/seats/2/cancel", follow_redirects=True)
    assert "We storten € 598,95 terug" in response.get_data(as_text=True).replace("\xa0", " ")
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    seat = next(s for s in enrollment.seat_rows if s.position == 2)
    [refund] = stripe_stub.find_requests("POST", "/v1/refunds")
    assert refund.idempotency_key == f"refund-cancel-seat-{seat.id}"
    assert refund.params["amount"] == "59895"
    assert enrollment.amount_refunded == Decimal("598.95")
    assert enrollment.payment_status == "partially-refunded" and enrollment.seats == 2
    assert seats_taken(edition) == 2

    cancellation.cancel_enrollment(enrollment, by=booker, as_participant=True)
    db.session.commit()
    enrollment = db.session.get(Enrollment, enrollment.id)
    refunds = stripe_stub.find_requests("POST", "/v1/refunds")
    assert [r.params["amount"] for r in refunds] == ["59895", "119790"]
    assert enrollment.amount_refunded == Decimal("1796.85")
    assert enrollment.payment_status == "refunded"
    credits = db.session.scalars(
        select(Invoice).where(Invoice.credit_for_id == enrollment.invoice_id)
    ).all()
    assert sum(c.total for c in credits) == -enrollment.invoice.total
