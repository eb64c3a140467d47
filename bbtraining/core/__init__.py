from flask import Blueprint

bp = Blueprint("core", __name__)
account_bp = Blueprint("account", __name__, url_prefix="/account")
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import views  # noqa: E402, F401


def init_app(app) -> None:
    from . import personal_cache

    personal_cache.init_app(app)
