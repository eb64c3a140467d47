"""Advice: advisors' availability, kennismakingsgesprekken and advies-strippenkaarten.

Advice sits above bookings (auth <- courses <- bookings <- advice): an advisor's free slots leave
out the sessions they teach, so this package reads sessions and never the other way round.

Wiring, written out:
- `bp` serves the public booking of a kennismakingsgesprek at /advies/...;
- `admin_bp` serves the staff and advisor pages at /admin/advies/...;
- TASK_MODULES are the task modules the worker loads (reminders, bundle notices).
"""

from flask import Blueprint, Flask

bp = Blueprint("advice", __name__, url_prefix="/advies")
admin_bp = Blueprint("advice_admin", __name__, url_prefix="/admin/advies")

TASK_MODULES: tuple[str, ...] = (
    "bbtraining.advice.tasks",  # h17b: the reminder the day before a call
)

from . import advisor_views, models  # noqa: E402, F401  (h17a: advisors, hours, calls)

# isort: split
from . import call_panels, staff_views, views  # noqa: E402, F401  (h17b: calls, portal, staff)


def init_app(app: Flask) -> None:
    """What the package adds beyond the blueprints create_app registers."""
    from ..core.panels import nav_links

    nav_links.register(70)(advisor_views.availability_link)  # h17a
    call_panels.register()  # h17b: the client's calls on /account/, the staff tile and link
