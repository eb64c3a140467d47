"""Billing: invoices (numbering, lines, VAT, credit invoices), receivables (payments, reminders)
and the Stripe client and webhook.

The lowest capability: it imports no other one. Those above react to it without being imported:
they connect to `invoices.invoice_paid` and register their Stripe event handlers with
`stripe_client.on_event` in their own `__init__.py`. Billing itself registers nothing.
"""

# Models (invoices, Stripe events) and routes on bookings.bp.
from . import invoices, receivables, stripe_client, views, webhook  # noqa: F401

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.billing.tasks",)
