import os

from flask import Blueprint, Flask

bp = Blueprint("alumni", __name__, url_prefix="/alumni")
admin_bp = Blueprint("alumni_admin", __name__, url_prefix="/admin/alumni")

# Settings with their defaults; each can be set in the environment under the same name.
DEFAULTS = {
    "ALUMNI_MATCH_EXPIRY_DAYS": 14,  # a request waits this long for answers
    "ALUMNI_MATCH_DAILY_LIMIT": 20,  # alumni one client may contact per day
    "ALUMNI_MATCH_MAX_RECIPIENTS": 10,  # alumni in one request
    "ALUMNI_CONFIRM_REMINDER_DAYS": 30,  # reminder this long before a profile drops out
    "ALUMNI_PHOTO_MAX_BYTES": 5 * 1024 * 1024,
    "ALUMNI_PAGE_SIZE": 20,
}


def init_app(app: Flask) -> None:
    for key, default in DEFAULTS.items():
        value = os.environ.get(key)
        app.config.setdefault(key, int(value) if value else default)
    from . import panels

    panels.register()


from ..bookings.attendance.qualifications import (  # noqa: E402
    completed_without_account,
    qualified,
)
from . import admin_matches, admin_views, invitations, match_models, models, views  # noqa: E402, F401

# Wiring: whoever qualifies for the pool is invited to publish a profile.
qualified.connect(invitations.invite_to_alumni_pool)
# Someone without an account (a colleague a booker enrolled) is first asked to make one.
completed_without_account.connect(invitations.invite_to_make_an_account)
