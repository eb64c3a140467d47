from flask import Flask

from ...courses.signals import edition_cancelled, edition_changed
from ..sessions.participants import register_provider
from . import cancellation, participation, views  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.enrollment.tasks",)

register_provider(participation.enrollment_participants)
edition_cancelled.connect(cancellation.on_edition_cancelled)
edition_changed.connect(cancellation.on_edition_changed)


def init_app(app: Flask) -> None:
    """Registrations that need the app; those that do not are made above, on import."""
