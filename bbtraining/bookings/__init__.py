from flask import Blueprint

bp = Blueprint("bookings", __name__)

from . import (  # noqa: E402, F401
    attendance_views,
    calendar_sync,
    enrollment_views,
    evaluation_views,
    feeds,
    inhouse_views,
    invoice_views,
    invoices,
    participants,
    qualifications,
    reminders,
    stripe_gateway,
    stripe_views,
)
