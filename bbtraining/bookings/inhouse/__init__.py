"""Inhouse bookings: requests, proposals, delivery, invoicing, messages and the pipeline.

This file is the capability's wiring: its routes on `bookings.bp` (the views), the task module
the worker loads, and what it registers with the lower capabilities, in one block below.
"""

from ...core.panels import account_panels, admin_panels
from ..billing.invoices import invoice_paid
from ..billing.stripe_client import on_event
from ..sessions.groups import register_group_resolver
from ..sessions.participants import register_provider, register_sessions_provider
from . import invoicing, models, participants, proposal_models  # noqa: F401  (every model mapped)
from .groups import INHOUSE_BOOKINGS
from .views import account, admin, admin_proposal, participant_list, public  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.inhouse.tasks",)

# Wiring: what inhouse bookings add to the lower capabilities.
register_provider(
    participants.inhouse_session_participants, many=participants.inhouse_participants_many
)
register_sessions_provider(participants.inhouse_sessions_of)
register_group_resolver(INHOUSE_BOOKINGS)
on_event("invoice.paid")(invoicing.stripe_invoice_paid)
invoice_paid.connect(invoicing.booking_follows_its_invoice)
account_panels.register(20)(account.inhouse_account_panel)
admin_panels.register(20)(admin.inhouse_admin_tile)
