from flask import Flask

from ...core.panels import account_panels, admin_panels
from ...courses.signals import edition_cancelled, edition_changed
from ..sessions.participants import register_provider
from . import cancellation, participation
from .views import account, admin, public  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.enrollment.tasks",)

register_provider(participation.enrollment_participants)
edition_cancelled.connect(cancellation.on_edition_cancelled)
edition_changed.connect(cancellation.on_edition_changed)
account_panels.register(20)(account.enrollments_panel)
admin_panels.register(20)(admin.enrollments_tile)


def init_app(app: Flask) -> None:
    """Registrations that need the app; those that do not are made above, on import."""
