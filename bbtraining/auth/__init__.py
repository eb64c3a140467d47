from flask import Blueprint, render_template
from markupsafe import Markup

bp = Blueprint("auth", __name__, url_prefix="/auth")
staff_bp = Blueprint("auth_admin", __name__, url_prefix="/admin")

from ..core.panels import admin_panels  # noqa: E402 - core imports auth's views
from . import admin_views, views  # noqa: E402, F401


def people_tile(_user) -> Markup:
    # A panel is HTML for the page: a plain str would be escaped into visible tags.
    return Markup(render_template("auth/admin/tile.html"))  # noqa: S704 - autoescaped


# At import, once: a function defined inside create_app's init_app was a new one for every app.
admin_panels.register(order=90)(people_tile)
