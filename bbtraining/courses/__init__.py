from flask import Blueprint

bp = Blueprint("courses", __name__)
# The catalog's staff pages under /admin/courses/ (registered by create_app as `staff_bp`;
# `admin_bp` is the name core uses for /admin itself).
staff_bp = Blueprint("courses_admin", __name__, url_prefix="/admin/courses")

from . import admin_views, models, views  # noqa: E402, F401


def init_app(app) -> None:
    from .. import http_cache
    from .catalog import next_change_by_clock
    from .panels import register_panels

    register_panels()
    # The ETags of the public pages change when a session starts, a deadline passes, a day ends.
    http_cache.changes_by_clock(app, next_change_by_clock)
