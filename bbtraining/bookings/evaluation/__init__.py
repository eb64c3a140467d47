from flask import Flask

from . import views  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.evaluation.tasks",)


def init_app(app: Flask) -> None:
    """Registrations that need the app; those that do not are made above, on import."""
