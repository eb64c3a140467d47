from flask import Flask

from . import invoices, stripe_client, views, webhook  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ()


def init_app(app: Flask) -> None:
    """Registrations that need the app; those that do not are made above, on import."""
