from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
staff_bp = Blueprint("auth_admin", __name__, url_prefix="/admin")

from . import admin_views, views  # noqa: E402, F401


def init_app(app) -> None:
    from . import panels

    panels.register()
