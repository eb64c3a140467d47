from flask import Blueprint

bp = Blueprint("bookings", __name__)

from . import qualifications  # noqa: E402, F401
