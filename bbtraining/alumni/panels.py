"""What the alumni pool adds to /account/, /admin/ and the menu.

Panels are rendered templates (autoescaped by Jinja), hence Markup around their output.
"""

from flask import render_template
from markupsafe import Markup

from ..core.panels import account_panels, admin_panels, nav_links
from ..i18n import lazy_gettext as _l
from . import matches, services


def alumnus_panel(user) -> Markup | None:
    profile = services.profile_of(user)
    # may_have_profile() would look the profile up a second time.
    if profile is None and not services.has_alumni_qualification(user):
        return None
    inbox = matches.inbox(user)
    return Markup(  # noqa: S704 - autoescaped template output
        render_template(
            "alumni/panels/alumnus.html",
            profile=profile,
            pending=[r for r in inbox if r.is_pending],
            answered=[r for r in inbox if not r.is_pending][:5],
        )
    )


def client_panel(user) -> Markup | None:
    if not user.has_role("client"):
        return None
    return Markup(  # noqa: S704 - autoescaped template output
        render_template(
            "alumni/panels/client.html",
            requests=matches.requests_visible_to(user, limit=10),
            shortlists=matches.shortlists_for(user),
        )
    )


def privacy_panel(user) -> Markup:
    return Markup(  # noqa: S704 - autoescaped template output
        render_template("alumni/panels/privacy.html")
    )


def staff_tile(user) -> Markup:
    return Markup(  # noqa: S704 - autoescaped template output
        render_template(
            "alumni/panels/admin_tile.html",
            pending=matches.pending_recipient_count(),
            requests_waiting=matches.requests_waiting_count(),
        )
    )


def search_link(user) -> list:
    if user.has_role("client", "admin"):
        return [(_l("Alumni zoeken"), "alumni.search")]
    return []


def register() -> None:
    account_panels.register(60)(alumnus_panel)
    account_panels.register(61)(client_panel)
    account_panels.register(95)(privacy_panel)
    admin_panels.register(60)(staff_tile)
    nav_links.register(60)(search_link)
