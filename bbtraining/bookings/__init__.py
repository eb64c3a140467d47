from flask import Blueprint

bp = Blueprint("bookings", __name__)

<<<<<<< HEAD
from . import (  # noqa: E402, F401
    calendar_sync,
    invoice_views,
    invoices,
    participants,
    stripe_gateway,
    stripe_views,
)
=======
from . import qualifications  # noqa: E402, F401
>>>>>>> alumni
