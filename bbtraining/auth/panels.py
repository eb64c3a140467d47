"""What accounts add to /admin/: the tile to people and organisations."""

from flask import render_template
from markupsafe import Markup

from ..core.panels import admin_panels


def people_tile(_user) -> Markup:
    # A panel is HTML for the page: a plain str would be escaped into visible tags.
    return Markup(render_template("auth/admin/tile.html"))  # noqa: S704 - autoescaped


def register() -> None:
    """Registers a module-level function, so a second app does not add a second tile."""
    admin_panels.register(order=90)(people_tile)
