"""Background work of inhouse bookings: expiring proposals, marking delivered bookings, and
putting invoices at Stripe. Every task takes ids (or nothing), reloads and is idempotent."""

import logging

from celery import shared_task
from flask import current_app

from ...extensions import db

log = logging.getLogger(__name__)

BEAT_SCHEDULE = {
    "inhouse-expire-proposals": {"task": "bookings.inhouse_expire_proposals", "schedule": 3600.0},
    "inhouse-mark-delivered": {"task": "bookings.inhouse_mark_delivered", "schedule": 900.0},
    "inhouse-stripe-sweep": {"task": "bookings.inhouse_stripe_sweep", "schedule": 600.0},
}


@shared_task(name="bookings.inhouse_expire_proposals")
def expire_proposals() -> int:
    from .proposals import expire_due_proposals

    count = expire_due_proposals()
    db.session.commit()
    return count


@shared_task(name="bookings.inhouse_mark_delivered")
def mark_delivered() -> int:
    from .delivery import deliver_finished_bookings

    count = deliver_finished_bookings()
    db.session.commit()
    return count


@shared_task(name="bookings.inhouse_push_invoice", bind=True, max_retries=5)
def push_invoice(self, invoice_id: int) -> str | None:
    from ..billing.invoices import Invoice
    from .invoicing import push_invoice_to_stripe

    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        return None
    try:
        stripe_id = push_invoice_to_stripe(invoice)
    except Exception as exc:  # Stripe down or refusing: retry later; the sweep is the backstop
        db.session.rollback()
        log.warning("invoice %s not pushed to Stripe: %s", invoice_id, exc)
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
    db.session.commit()
    return stripe_id


@shared_task(name="bookings.inhouse_stripe_sweep")
def stripe_sweep() -> int:
    from .invoicing import invoices_waiting_for_stripe, push_invoice_to_stripe

    pushed = 0
    for invoice in invoices_waiting_for_stripe():
        try:
            push_invoice_to_stripe(invoice)
            db.session.commit()
            pushed += 1
        except Exception as exc:  # one failing invoice must not block the others
            db.session.rollback()
            log.warning("invoice %s not pushed to Stripe: %s", invoice.id, exc)
    return pushed


def enqueue_push_invoice(invoice_id: int) -> bool:
    """After commit: hand the invoice to the worker. When the broker is down (or tests switch
    auto-enqueueing off) the sweep pushes it later."""
    from ..billing.stripe_client import stripe_enabled

    if not stripe_enabled() or not current_app.config.get("OUTBOX_AUTO_ENQUEUE", True):
        return False
    try:
        push_invoice.apply_async((invoice_id,), retry=False)
    except Exception as exc:
        log.warning("invoice %s not enqueued, sweep will retry: %s", invoice_id, exc)
        return False
    return True
