"""The worker's side of the outbox: claim a row, send it, mark it; the sweep; the heartbeat.

Services only queue mail (`services.queue_mail`, in the caller's transaction). Delivering is
the worker's job, and it commits for itself, row by row: a row is claimed in a transaction of
its own before it is sent, and marked sent or failed right after, so two workers never send the
same row and a crash leaves at most the row in flight to be retried. Those commits belong
here, in the task module, and nowhere in request code.
"""

import logging
import socket
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from flask import current_app
from sqlalchemy import select, update

from ..db_types import utcnow
from ..extensions import db
from . import services
from .models import OutboxMessage, OutboxStatus, WorkerHeartbeat

log = logging.getLogger(__name__)

BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "notifications.sweep_outbox", "schedule": 60.0},
    "worker-heartbeat": {"task": "notifications.heartbeat", "schedule": 30.0},
    "purge-embedded-broker": {"task": "notifications.purge_embedded_broker", "schedule": 3600.0},
}


# -- delivery -----------------------------------------------------------------------------------
def _claim(row_ids: list[int]) -> list[int]:
    """Mark the pending rows among these as ours with one conditional UPDATE, so two workers
    never both send a row; returns the ids this call claimed."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=utcnow(),
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    claimed = sorted(result.scalars())
    db.session.commit()  # the claim must be visible to the other workers before we send
    return claimed


def backoff_seconds(attempts: int) -> int:
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


def deliver(row_id: int) -> str:
    """Deliver one row if nobody else has; returns what happened ('sent', 'skipped', 'retry',
    'failed'). Commits its own transactions: it runs in the worker."""
    return deliver_many([row_id])[row_id]


def deliver_many(row_ids: list[int]) -> dict[int, str]:
    """Deliver the rows nobody else has claimed, one after the other; returns the outcome per
    id. Commits its own transactions: it runs in the worker.

    Each row is claimed before it is sent and marked right after, in a transaction of its own,
    so a crash leaves at most the row in flight to be retried."""
    from .mail import build_message, send

    outcomes = dict.fromkeys(row_ids, "skipped")
    claimed = _claim(list(row_ids))
    if not claimed:
        return outcomes
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
    ).all()
    work: list[tuple[int, int, Any]] = []
    for row in rows:
        try:
            work.append((row.id, row.attempts, build_message(row)))
        except Exception as exc:  # a row that cannot be built fails like one SMTP refused
            work.append((row.id, row.attempts, exc))
    db.session.commit()  # no transaction stays open while we talk to the SMTP server
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    # One connection in autocommit for the status updates: one round trip per mail.
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for row_id, attempts, message in work:
            try:
                if isinstance(message, Exception):
                    raise message
                send(message, row_id)
            except Exception as exc:  # SMTP refused, timed out, disk full: all worth a retry
                error = f"{type(exc).__name__}: {exc}"[:2000]
                if attempts >= max_attempts:
                    values = {"status": OutboxStatus.FAILED, "last_error": error}
                    outcomes[row_id] = "failed"
                else:
                    next_attempt = utcnow() + timedelta(seconds=backoff_seconds(attempts))
                    values = {
                        "status": OutboxStatus.PENDING,
                        "next_attempt_at": next_attempt,
                        "last_error": error,
                    }
                    outcomes[row_id] = "retry"
                log.warning("outbox %s: %s (%s)", row_id, outcomes[row_id], error)
            else:
                values = {"status": OutboxStatus.SENT, "sent_at": utcnow(), "last_error": None}
                outcomes[row_id] = "sent"
            connection.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )
    return outcomes


def due_row_ids(grace_seconds: int | None = None, limit: int = 500) -> list[int]:
    """Rows whose task was lost (broker down, worker crashed) and should be enqueued again."""
    grace = current_app.config["OUTBOX_SWEEP_AFTER"] if grace_seconds is None else grace_seconds
    now = utcnow()
    stuck_before = now - timedelta(minutes=10)
    # A worker that died mid-send leaves 'sending' behind; give it back to the queue.
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < stuck_before
        )
        .values(status=OutboxStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # handed back even if nobody enqueues it now: the next sweep will
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now - timedelta(seconds=grace),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def sweep(grace_seconds: int | None = None) -> int:
    return services.enqueue_rows(due_row_ids(grace_seconds))


def deliver_due_now() -> dict[str, int]:
    """Deliver every pending row in this process (CLI `flask outbox deliver`, tests)."""
    counts: dict[str, int] = {}
    ids = due_row_ids(grace_seconds=0, limit=10_000)
    for start in range(0, len(ids), 100):
        for outcome in deliver_many(ids[start : start + 100]).values():
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# -- worker heartbeat ---------------------------------------------------------------------------
def beat_heartbeat(name: str) -> None:
    row = db.session.get(WorkerHeartbeat, name)
    if row is None:
        db.session.add(WorkerHeartbeat(name=name, seen_at=utcnow()))
    else:
        row.seen_at = utcnow()
    db.session.commit()


@shared_task(name="notifications.deliver", bind=True, max_retries=None)
def deliver_outbox_message(self, row_id: int) -> str:
    outcome = deliver(row_id)
    if outcome == "retry":
        row = db.session.get(OutboxMessage, row_id)
        services.enqueue_delivery(row_id, countdown=backoff_seconds(row.attempts))
    return outcome


@shared_task(name="notifications.deliver_batch")
def deliver_outbox_batch(row_ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row_id, outcome in deliver_many(row_ids).items():
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "retry":
            row = db.session.get(OutboxMessage, row_id)
            services.enqueue_delivery(row_id, countdown=backoff_seconds(row.attempts))
    return counts


@shared_task(name="notifications.sweep_outbox")
def sweep_outbox() -> int:
    return sweep()


@shared_task(name="notifications.heartbeat")
def heartbeat() -> None:
    beat_heartbeat(socket.gethostname())


@shared_task(name="notifications.purge_embedded_broker")
def purge_embedded_broker() -> int:
    """kombu's SQLAlchemy transport never deletes delivered rows; drop them hourly."""
    from celery import current_app as celery_app
    from sqlalchemy import create_engine, text

    url = celery_app.conf.broker_url
    if not url.startswith("sqla+"):
        return 0
    engine = create_engine(url[len("sqla+") :])
    try:
        with engine.begin() as conn:
            return conn.execute(text("DELETE FROM kombu_message WHERE visible = false")).rowcount
    finally:
        engine.dispose()


@worker_ready.connect
def _heartbeat_on_start(sender=None, **_kwargs) -> None:
    # The first beat tick may be 30 s away; a just-started worker should show as alive at once.
    heartbeat.delay()
