from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
staff_bp = Blueprint("auth_admin", __name__, url_prefix="/admin")

from . import admin_views, views  # noqa: E402, F401


def init_app(app) -> None:
    from flask import render_template_string
    from flask_babel import gettext as _

    from ..core.panels import admin_panels

    @admin_panels.register(order=90)
    def people_tile(_user):
        return render_template_string(
            '<article><h2>{{ title }}</h2><p><a href="{{ url_for("auth_admin.users") }}">'
            '{{ users }}</a> · <a href="{{ url_for("auth_admin.organisations") }}">{{ orgs }}'
            "</a></p></article>",
            title=_("Mensen en organisaties"),
            users=_("Gebruikers en rollen"),
            orgs=_("Organisaties"),
        )
