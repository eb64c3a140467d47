"""Enrollment's Stripe Checkout (paying for a seat online), and the webhook handlers that are
the only way such a payment counts.

Handlers never trust the event payload: they re-fetch the Checkout Session (or charge) from
Stripe and act on its current state, so a replayed, duplicated or out-of-order event leads to
the same result as the latest one. The domain rules live in the other modules of this package.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import stripe
from sqlalchemy import select

from ... import audit
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...urls import public_url
from ..billing.stripe_client import get_client
from .models import Enrollment, EnrollmentStatus

log = logging.getLogger(__name__)

CHECKOUT_PAYMENT_METHODS = ["card", "ideal"]


class PaymentUnavailable(DomainError):
    pass


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int | None) -> Decimal:
    return (Decimal(cents or 0) / 100).quantize(Decimal("0.01"))


def _unavailable(exc: Exception) -> PaymentUnavailable:
    log.warning("Stripe call failed: %s", exc)
    return PaymentUnavailable(
        _l(
            "De betaalpagina is nu niet bereikbaar. Uw plaats blijft nog even voor u "
            "vastgehouden: probeer het zo opnieuw, of kies betalen op factuur."
        )
    )


# -- Checkout -------------------------------------------------------------------------------------
def start_checkout(enrollment: Enrollment) -> str:
    """The URL of an open Checkout Session for a held enrollment, created when needed.

    The session expires with the hold (Stripe's minimum is 30 minutes; the hold follows the
    session). Creation carries an idempotency key, so a retried request never makes a second one.
    """
    if enrollment.status != EnrollmentStatus.HELD:
        raise DomainError(_l("Deze inschrijving wacht niet op betaling."))
    client = get_client()
    try:
        if enrollment.stripe_session_id:
            session = client.v1.checkout.sessions.retrieve(enrollment.stripe_session_id)
            if session.status == "open":
                return session.url
            if session.status == "complete":
                raise DomainError(
                    _l("Uw betaling is ontvangen of wordt verwerkt. U krijgt een bevestiging.")
                )
        now = utcnow()
        if enrollment.hold_expires_at <= now:
            raise DomainError(_l("Uw reservering is verlopen. Schrijf u opnieuw in."))
        expires_at = max(enrollment.hold_expires_at, now + timedelta(minutes=31))
        enrollment.checkout_attempts += 1
        edition = enrollment.edition
        detail_url = public_url("bookings.enrollment_detail", enrollment_id=enrollment.id)
        name = edition.course.title
        if enrollment.seats > 1:
            name = f"{name} ({enrollment.seats}x)"
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        # One line for the invoice total, so Stripe charges exactly what the
                        # invoice says (VAT is computed once on the subtotal, as on the invoice).
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": to_cents(enrollment.total),
                            "product_data": {"name": name[:250]},
                        },
                        "quantity": 1,
                    }
                ],
                "allowed_payment_method_types": CHECKOUT_PAYMENT_METHODS,
                "customer_email": enrollment.user.email,
                "client_reference_id": f"enrollment-{enrollment.id}",
                "metadata": {
                    "enrollment_id": str(enrollment.id),
                    "enrollment_token": enrollment.token,
                    "edition_id": str(edition.id),
                },
                "payment_intent_data": {
                    "description": name[:250],
                    "metadata": {"enrollment_id": str(enrollment.id)},
                },
                "expires_at": int(expires_at.timestamp()),
                "locale": "nl" if enrollment.user.locale == "nl" else "en",
                "success_url": f"{detail_url}?betaling=klaar&session_id={{CHECKOUT_SESSION_ID}}",
                "cancel_url": f"{detail_url}?betaling=afgebroken",
            },
            options={
                "idempotency_key": (f"checkout-{enrollment.token}-{enrollment.checkout_attempts}")
            },
        )
    except stripe.StripeError as exc:
        raise _unavailable(exc) from exc
    enrollment.stripe_session_id = session.id
    enrollment.stripe_session_url = session.url
    enrollment.hold_expires_at = datetime.fromtimestamp(session.expires_at, UTC)
    audit.record(
        "enrollment.checkout_started",
        enrollment,
        actor=None,
        session=session.id,
        amount=str(enrollment.total),
        until=enrollment.hold_expires_at,
    )
    return session.url


def close_checkout(enrollment: Enrollment) -> str:
    """Make sure an unpaid Checkout Session can no longer be paid; returns its final state:
    'expired', 'processing' or 'paid'. A payment that slips through is refunded later."""
    from ..billing.stripe_client import stripe_enabled

    if not enrollment.stripe_session_id or not stripe_enabled():
        return "expired"
    session = _expire_if_open(get_client(), enrollment.stripe_session_id)
    if session.status == "complete":
        return "paid" if session.payment_status == "paid" else "processing"
    return "expired"


def _expire_if_open(client: stripe.StripeClient, session_id: str):
    try:
        session = client.v1.checkout.sessions.retrieve(session_id)
        if session.status == "open":
            try:
                session = client.v1.checkout.sessions.expire(session_id)
            except stripe.InvalidRequestError:
                # Completed between our two calls: its current state decides.
                session = client.v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as exc:
        raise _unavailable(exc) from exc
    return session


def refund_intent(payment_intent_id: str, amount: Decimal, *, key: str) -> str:
    """Refund `amount` of a payment; the idempotency key makes a retried webhook or a second
    click refund nothing twice."""
    if amount <= 0:
        return ""
    try:
        refund = get_client().v1.refunds.create(
            params={
                "payment_intent": payment_intent_id,
                "amount": to_cents(amount),
                "reason": "requested_by_customer",
                "metadata": {"purpose": key[:40]},
            },
            options={"idempotency_key": f"refund-{key}"},
        )
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "code", None) == "charge_already_refunded":
            return "already-refunded"
        raise _unavailable(exc) from exc
    except stripe.StripeError as exc:
        raise _unavailable(exc) from exc
    return refund.id


# -- finding the enrollment behind a Checkout Session ---------------------------------------------
def _enrollment_for_session(session) -> Enrollment | None:
    enrollment = db.session.scalar(
        select(Enrollment).where(Enrollment.stripe_session_id == session.id)
    )
    if enrollment is not None:
        return enrollment
    # The session was created but our commit storing its id failed: the token still links it.
    metadata = session.metadata or {}
    token = metadata.get("enrollment_token")
    if not token:
        return None
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.token == token))
    if enrollment is not None and enrollment.stripe_session_id is None:
        enrollment.stripe_session_id = session.id
    if enrollment is None or enrollment.stripe_session_id != session.id:
        return None
    return enrollment


def apply_checkout_session(session, client: stripe.StripeClient) -> str:
    """Bring the enrollment in line with the Checkout Session's current state at Stripe."""
    from . import payments

    enrollment = _enrollment_for_session(session)
    if enrollment is None:
        if session.status == "complete" and session.payment_status == "paid":
            # Money for nothing we know of: give it back rather than keep it.
            refund_intent(
                _intent_id(session), from_cents(session.amount_total), key=f"orphan-{session.id}"
            )
            log.warning("refunded payment of unknown Checkout Session %s", session.id)
            return "refunded-unknown-session"
        return "unknown-session"
    if session.status == "complete" and session.payment_status in ("paid", "no_payment_required"):
        return payments.record_stripe_payment(
            enrollment,
            amount=from_cents(session.amount_total),
            payment_intent_id=_intent_id(session),
        )
    if session.status == "complete":
        intent = client.v1.payment_intents.retrieve(_intent_id(session))
        if intent.status in ("requires_payment_method", "canceled"):
            expired = payments.expire_hold(enrollment, reason="payment-failed")
            return "payment-failed" if expired else "payment-failed-known"
        return payments.mark_processing(enrollment)
    if session.status == "expired":
        expired = payments.expire_hold(enrollment, reason="checkout-expired")
        return "hold-released" if expired else "expired-known"
    return "session-open"


def _intent_id(session) -> str:
    intent = session.payment_intent
    return intent if isinstance(intent, str) else intent.id


# -- webhook handlers (registered for their event types in the package's __init__) --------------
CHECKOUT_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)


def handle_checkout_event(event: stripe.Event, client: stripe.StripeClient) -> str:
    """A Checkout Session of an enrollment changed: act on its state as Stripe has it now."""
    session = client.v1.checkout.sessions.retrieve(event.data.object.id)
    return apply_checkout_session(session, client)


def handle_charge_refunded(event: stripe.Event, client: stripe.StripeClient) -> str:
    """A refund made in Stripe's dashboard: record it on the enrollment it paid for."""
    from . import payments

    charge = client.v1.charges.retrieve(event.data.object.id)
    intent = charge.payment_intent
    intent_id = intent if isinstance(intent, str) else getattr(intent, "id", None)
    enrollment = db.session.scalar(
        select(Enrollment).where(Enrollment.stripe_payment_intent_id == intent_id)
    )
    if enrollment is None:
        return "ignored-unknown-charge"
    return payments.record_stripe_refund(enrollment, from_cents(charge.amount_refunded))


def settle_lapsed_hold(enrollment: Enrollment) -> str:
    """The hold's time is up (beat task). Ask Stripe first: a webhook may be late or lost."""
    from ..billing.stripe_client import stripe_enabled
    from . import payments

    if enrollment.stripe_session_id and stripe_enabled():
        client = get_client()
        try:
            session = _expire_if_open(client, enrollment.stripe_session_id)
        except PaymentUnavailable:
            # Try again on the next run rather than release a seat that may have been paid.
            log.warning("enrollment %s: Stripe unreachable, hold kept", enrollment.id)
            return "stripe-unreachable"
        if session.status == "complete":
            outcome = apply_checkout_session(session, client)
            if outcome in ("processing", "already-processing"):
                payments.extend_processing_hold(enrollment)
            return outcome
    return "hold-released" if payments.expire_hold(enrollment, reason="hold-lapsed") else "kept"
