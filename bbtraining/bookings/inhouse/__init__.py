from flask import Flask

from ..sessions.groups import register_group_resolver
from . import views  # noqa: F401  (routes on bookings.bp)
from .groups import INHOUSE_BOOKINGS

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.inhouse.tasks",)

register_group_resolver(INHOUSE_BOOKINGS)


def init_app(app: Flask) -> None:
    """Registrations that need the app; those that do not are made above, on import."""
