from flask import Blueprint

bp = Blueprint("bookings", __name__)

from . import (  # noqa: E402, F401
    attendance_views,
    calendar_sync,
    invoice_views,
    invoices,
    participants,
    qualifications,
    stripe_gateway,
    stripe_views,
)
