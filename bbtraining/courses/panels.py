"""The catalog's tile on /admin/: the next editions and how full they are."""

from flask import render_template
from markupsafe import Markup

from ..core.panels import admin_panels
from ..extensions import db
from .catalog import upcoming_editions_query

TILE_EDITIONS = 6


def catalog_tile(user) -> Markup | None:
    if not user.is_admin:
        return None
    editions = list(db.session.scalars(upcoming_editions_query().limit(TILE_EDITIONS)))
    # render_template autoescapes; the result is safe HTML.
    return Markup(render_template("courses/admin/panel.html", editions=editions))  # noqa: S704


def register_panels() -> None:
    admin_panels.register(10)(catalog_tile)
