from flask import Blueprint

bp = Blueprint("bookings", __name__)

from . import (  # noqa: E402, F401
    calendar_sync,
    evaluation_views,
    feeds,
    invoice_views,
    invoices,
    participants,
    reminders,
    stripe_gateway,
    stripe_views,
)
