import importlib

import click
from flask import Flask

from .extensions import db

# Each seeder is idempotent; they run in this order (accounts first, then what hangs on them).
DEMO_SEEDERS = (
    "bbtraining.auth.demo",
    "bbtraining.courses.demo",
    "bbtraining.bookings.enrollment.demo",
    "bbtraining.bookings.billing.demo",
    "bbtraining.bookings.inhouse.demo",
    "bbtraining.alumni.demo",
    "bbtraining.bookings.attendance.demo",
    "bbtraining.advice.demo",
    "bbtraining.advice.bundle_demo",
)


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="Beheerder")
    @click.password_option(help="Password for a new account (asked for when omitted).")
    def create_admin(email: str, name: str, password: str) -> None:
        """Create a staff account, or give an existing account the admin role."""
        from .auth.services import create_admin as make_admin
        from .errors import DomainError

        try:
            user = make_admin(email, password, name)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"{user.email} is now an admin.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo data (safe to run again: nothing is duplicated)."""
        for module_name in DEMO_SEEDERS:
            importlib.import_module(module_name).seed()
            db.session.commit()
        from .auth.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

        click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        extra = [
            account
            for module_name in DEMO_SEEDERS
            for account in getattr(importlib.import_module(module_name), "DEMO_EXTRA_ACCOUNTS", ())
        ]
        for email, name, roles, _org in (*DEMO_ACCOUNTS, *extra):
            click.echo(f"  {email:<32} {', '.join(roles):<22} {name}")

    @app.cli.group("outbox")
    def outbox_group() -> None:
        """Inspect and deliver queued mail."""

    @outbox_group.command("deliver")
    def outbox_deliver() -> None:
        """Deliver every pending mail in this process (no worker needed)."""
        from .notifications.tasks import deliver_due_now

        click.echo(deliver_due_now())

    @outbox_group.command("sweep")
    def outbox_sweep() -> None:
        """Enqueue pending mail for the worker."""
        from .notifications.tasks import sweep

        click.echo(f"{sweep(grace_seconds=0)} enqueued")
