"""Stripe: the client, and the webhook that is the only way a card or iDEAL payment counts.

Events are verified with the endpoint secret, stored under their unique id (a replay changes
nothing), and dispatched to handlers registered with `@on_event("type")`. Handlers re-fetch the
object from Stripe rather than trusting the payload, so out-of-order events are harmless.
"""

import logging
from collections.abc import Callable
from datetime import datetime

import stripe
from flask import current_app
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
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


def on_event(*event_types: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        for event_type in event_types:
            _handlers[event_type] = handler
        return handler

    return decorator


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
    """Record the event once and run its handler in the caller's transaction.

    Must be the first write of that transaction: a duplicate id rolls it back. (No savepoint:
    pysqlite would commit it on its own.)
    """
    db.session.add(StripeEvent(id=event.id, type=event.type))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    handler = _handlers.get(event.type)
    outcome = "ignored" if handler is None else handler(event, get_client()) or "handled"
    db.session.get(StripeEvent, event.id).outcome = outcome[:200]
    return outcome
