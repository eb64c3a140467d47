"""Stripe: the client, and the webhook that is the only way a card or iDEAL payment counts.

Events are verified with the endpoint secret, stored under their unique id (a replay changes
nothing), and dispatched to the handler registered for their type. Billing knows no handler:
each capability that takes payments registers its own in its `__init__.py`, e.g.
`on_event("invoice.paid", payments.settle_stripe_invoice)`. Handlers re-fetch the object from
Stripe rather than trusting the payload, so out-of-order events are harmless.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import stripe
from flask import current_app
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ...db_types import UTCDateTime, utcnow
from ...extensions import db

log = logging.getLogger(__name__)
stripe.enable_telemetry = False

Handler = Callable[[stripe.Event, stripe.StripeClient], str | None]
_handlers: dict[str, Handler] = {}


class StripeEvent(db.Model):
    __tablename__ = "stripe_event"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(200))


def stripe_enabled() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def get_client() -> stripe.StripeClient:
    config = current_app.config
    base = config.get("STRIPE_API_BASE")
    kwargs = {"base_addresses": {"api": base}} if base else {}
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], **kwargs)


def on_event(*args: str | Handler) -> Any:
    """Register the handler of one or more Stripe event types.

    A plain call, as a capability's `__init__.py` makes it: `on_event("charge.refunded", handler)`
    (several types may come before the handler); or, with types only, a decorator:
    `@on_event("charge.refunded")`. Each type has one handler: registering another one for a type
    that has one is a wiring mistake and raises.
    """
    *event_types, last = args
    if callable(last):
        _register(event_types, last)
        return last
    event_types.append(last)

    def decorator(handler: Handler) -> Handler:
        _register(event_types, handler)
        return handler

    return decorator


def _register(event_types: list, handler: Handler) -> None:
    if not event_types or not all(isinstance(t, str) for t in event_types):
        raise TypeError("on_event takes one or more event types (str), then the handler")
    for event_type in event_types:
        registered = _handlers.get(event_type)
        if registered is not None and registered is not handler:
            raise ValueError(f"Stripe event {event_type!r} already has a handler: {registered!r}")
        _handlers[event_type] = handler


class InvalidWebhook(Exception):
    pass


def verify(payload: bytes, signature: str | None) -> stripe.Event:
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or not signature:
        raise InvalidWebhook("missing secret or signature")
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidWebhook(str(exc)) from exc


def handle_event(event: stripe.Event) -> str:
    """Record the event once and run its handler in the caller's transaction (flushes only).

    A replay of a recorded event is answered "duplicate" and changes nothing. Two deliveries of
    the same event at the same moment both pass that check; the second one's flush then breaks
    the primary key before its handler runs, and the IntegrityError ends its request unhandled
    (rolled back): Stripe retries it, and the retry is a plain duplicate.
    """
    if db.session.get(StripeEvent, event.id) is not None:
        return "duplicate"
    db.session.add(StripeEvent(id=event.id, type=event.type))
    db.session.flush()
    handler = _handlers.get(event.type)
    outcome = "ignored" if handler is None else handler(event, get_client()) or "handled"
    db.session.get(StripeEvent, event.id).outcome = outcome[:200]
    return outcome
