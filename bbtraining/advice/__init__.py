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

TASK_MODULES: tuple[str, ...] = ("bbtraining.advice.bundle_tasks",)


def init_app(app: Flask) -> None:
    """Nothing to set up yet beyond the blueprints create_app registers."""
    bundle_views.register_panels()  # h17c: the strippenkaart on /account/ and /admin/


from . import bundle_models, bundle_views  # noqa: E402, F401  (h17c: advies-strippenkaart)
