"""Open enrollment: seats, enroll/pay/cancel, the waiting list and enrollment's Stripe Checkout.

This module is the capability's wiring: everything enrollment adds to the lower layers
(catalog signals, session participants, invoice and Stripe events, dashboard panels) is
registered here, at import, so that nothing depends on another module happening to be imported.
"""

from ...core.panels import account_panels, admin_panels
from ...courses.signals import edition_cancelled, edition_changed
from .. import bp
from ..billing.invoices import invoice_paid
from ..billing.stripe_client import on_event
from ..sessions.participants import register_provider, register_sessions_provider
from . import cancellation, checkout, participation, payments, policy
from .views import account, admin, public  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.enrollment.tasks",)

# Wiring: what enrollment adds to the lower layers.
register_provider(
    participation.enrollment_participants, many=participation.enrollment_participants_many
)
register_sessions_provider(participation.enrolled_sessions)
edition_cancelled.connect(cancellation.on_edition_cancelled)
edition_changed.connect(cancellation.on_edition_changed)
invoice_paid.connect(payments.settle_paid_invoice)
on_event(*checkout.CHECKOUT_EVENTS)(checkout.handle_checkout_event)
on_event("charge.refunded")(checkout.handle_charge_refunded)
account_panels.register(20)(account.enrollments_panel)
admin_panels.register(20)(admin.enrollments_tile)
# The catalog's course page states an edition's cancellation terms by enrollment's one rule.
bp.add_app_template_global(policy.offered_free_cancellation, "offered_free_cancellation")
