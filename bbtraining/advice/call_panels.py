"""What kennismakingsgesprekken add to /account/ (the client's calls), /admin/ and the menu.

Panels are rendered templates (autoescaped by Jinja), hence Markup around their output.
"""

from flask import render_template
from markupsafe import Markup

from ..core.panels import account_panels, admin_panels, nav_links
from ..db_types import utcnow
from ..extensions import db
from ..i18n import lazy_gettext as _l
from . import outcome


def client_calls_panel(user) -> Markup | None:
    # Whoever books a call becomes a client (resolve_requester), so nobody else has calls to
    # show, and a trainer's or admin's dashboard pays no query for this panel.
    if not user.is_client:
        return None
    calls = list(db.session.scalars(outcome.client_calls_query(user).limit(20)))
    now = utcnow()
    upcoming = sorted(
        (c for c in calls if c.is_booked and c.ends_at > now), key=lambda c: c.starts_at
    )
    past = [c for c in calls if c not in upcoming]
    return Markup(  # noqa: S704 - autoescaped template output
        render_template("advice/panels/client_calls.html", upcoming=upcoming, past=past)
    )


def staff_tile(user) -> Markup | None:
    return Markup(  # noqa: S704 - autoescaped template output
        render_template("advice/panels/staff_tile.html")
    )


def calls_link(user) -> list:
    if user.has_role("admin", "advisor"):
        return [(_l("Gesprekken"), "advice_admin.calls")]
    return []


def register() -> None:
    account_panels.register(55)(client_calls_panel)
    admin_panels.register(55)(staff_tile)
    nav_links.register(55)(calls_link)
