from flask import Flask

from ..sessions.participants import register_provider
from . import participation, views  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.enrollment.tasks",)

register_provider(participation.enrollment_participants)


def init_app(app: Flask) -> None:
    """Registrations that need the app; those that do not are made above, on import."""
