"""What /healthz reports: can we reach the database, the broker, and has a worker beaten lately."""

from flask import current_app
from sqlalchemy import text

from ..extensions import db
from ..notifications import services as outbox


def check_all() -> dict[str, bool]:
    checks = {"database": database_up(), "broker": broker_up(), "worker": False}
    if checks["database"]:
        try:
            checks["worker"] = outbox.worker_alive()
        except Exception:
            checks["worker"] = False
    return checks


def database_up() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        db.session.rollback()  # the failed probe must not poison the request's session
        return False


def broker_up() -> bool:
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            # One quick try: /healthz must answer while the broker is down, and say so.
            timeout = current_app.config["BROKER_PUBLISH_TIMEOUT"]
            conn.ensure_connection(max_retries=0, timeout=timeout)
        return True
    except Exception:
        return False
