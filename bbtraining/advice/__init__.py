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
    "bbtraining.advice.tasks",  # the reminder the day before a call
    "bbtraining.advice.bundle_tasks",  # strippenkaart notices: 80 % used, 30 days to expiry
)

from . import advisor_views, models  # noqa: E402, F401  (advisors, hours, calls)

# isort: split
from . import call_panels, staff_views, views  # noqa: E402, F401  (calls, portal, staff)

# isort: split
from . import bundle_models, bundle_views  # noqa: E402, F401  (advies-strippenkaart)


def init_app(app: Flask) -> None:
    """What the package adds beyond the blueprints create_app registers."""
    from ..core.panels import nav_links

    nav_links.register(70)(advisor_views.availability_link)
    call_panels.register()  # the client's calls on /account/, the staff tile and link
    bundle_views.register_panels()  # the strippenkaart on /account/ and /admin/
