"""The worker's side of the outbox: claim rows, send them, mark them; the sweep; the heartbeat.

Services only queue mail (`services.queue_mail`, in the caller's transaction). Delivering is
the worker's job, and it commits for itself: a delivery task claims the pending rows of its
batch in one statement of its own (a lease of OUTBOX_LEASE_SECONDS, renewed while the batch is
being sent) and marks each row sent or failed right after the SMTP server answered for it.
Those commits belong here, in the task module, and nowhere in request code.

Delivery is at-least-once. Two workers never send the same row at the same time (the claim is
a conditional UPDATE), and a worker that dies holds only its batch's rows not sent yet: their
lease runs out and the sweep (every 10 s) hands them back, so mail recovers within about
OUTBOX_LEASE_SECONDS + 10 s of the crash. Only the row in flight can be sent twice, when the
crash fell between the SMTP server's 250 and our write of "sent"; both copies carry the row's
Message-ID, so a mail client can tell them apart from two mails.
"""

import logging
import socket
import threading
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
    # Often, so a dead worker's lease is taken back and a lost task re-sent within seconds.
    "outbox-sweep": {"task": "notifications.sweep_outbox", "schedule": 10.0},
    "worker-heartbeat": {"task": "notifications.heartbeat", "schedule": 30.0},
    "purge-embedded-broker": {"task": "notifications.purge_embedded_broker", "schedule": 3600.0},
}


# -- delivery -----------------------------------------------------------------------------------
def _claim_batch(connection, row_ids: list[int]) -> list[Any]:
    """Take the lease on the rows of a batch that are still pending, with one conditional UPDATE
    ... RETURNING in autocommit: the claim is visible to the other workers at once, and two
    workers never both claim a row. Returns the claimed rows (their columns, id order)."""
    table = OutboxMessage.__table__
    rows = connection.execute(
        update(table)
        .where(table.c.id.in_(row_ids), table.c.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=utcnow(),
            attempts=table.c.attempts + 1,
        )
        .returning(*table.c)
    ).all()
    return sorted(rows, key=lambda row: row.id)


class _LeaseKeeper:
    """Renews the lease on a batch's claimed rows that are not sent yet, every third of
    OUTBOX_LEASE_SECONDS, so a slow SMTP server does not make the sweep hand a live send to
    another worker. A row leaves the keeper as soon as its outcome is written."""

    def __init__(self, engine, row_ids: list[int], lease_seconds: float):
        self.engine = engine
        self.row_ids = set(row_ids)
        self.lock = threading.Lock()
        self.interval = max(lease_seconds / 3, 0.1)
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._run, daemon=True, name=f"lease-{min(row_ids, default=0)}"
        )

    def __enter__(self) -> "_LeaseKeeper":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopped.set()
        self.thread.join()

    def done(self, row_id: int) -> None:
        with self.lock:
            self.row_ids.discard(row_id)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.lock:
                ids = sorted(self.row_ids)
            if not ids:
                continue
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(OutboxMessage)
                        .where(
                            OutboxMessage.id.in_(ids),
                            OutboxMessage.status == OutboxStatus.SENDING,
                        )
                        .values(claimed_at=utcnow())
                    )
            except Exception as exc:  # the database is away: the send goes on, the lease may lapse
                log.warning("outbox %s: lease not renewed: %s", ids, exc)


def backoff_seconds(attempts: int) -> int:
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


def deliver(row_id: int) -> str:
    """Deliver one row if nobody else has; returns what happened ('sent', 'skipped', 'retry',
    'failed'). Commits its own transactions: it runs in the worker."""
    return deliver_many([row_id])[row_id]


def deliver_many(row_ids: list[int]) -> dict[int, str]:
    """Deliver the rows nobody else has claimed, one after the other; returns the outcome per
    id. Commits its own transactions: it runs in the worker.

    The batch's pending rows are claimed together (one UPDATE ... RETURNING, which also brings
    their content) under a lease that is renewed until each row's outcome is written, one
    UPDATE per mail right after the SMTP server answered. A worker that dies holds its batch's
    unsent rows until the lease lapses; the sweep then hands them back, and only the row in
    flight can be sent twice."""
    from .mail import build_message

    outcomes = dict.fromkeys(row_ids, "skipped")
    if not row_ids:
        return outcomes
    lease = float(current_app.config["OUTBOX_LEASE_SECONDS"])
    # One connection in autocommit for the claim and the outcomes: one round trip each.
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        claimed = _claim_batch(connection, row_ids)
        if not claimed:
            return outcomes
        with _LeaseKeeper(db.engine, [row.id for row in claimed], lease) as keeper:
            for row in claimed:
                try:
                    message = build_message(row)
                except Exception as exc:  # a row that cannot be built fails like a refusal
                    message = exc
                outcomes[row.id], values = _send_claimed(row.id, row.attempts, message)
                connection.execute(
                    update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
                )
                keeper.done(row.id)
    return outcomes


def _send_claimed(row_id: int, attempts: int, message: Any) -> tuple[str, dict[str, Any]]:
    """Send one claimed row (its lease is kept by the batch); the outcome and its new values."""
    from .mail import send

    try:
        if isinstance(message, Exception):
            raise message
        send(message, row_id)
    except Exception as exc:  # SMTP refused, timed out, disk full, unbuildable: all retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            outcome, values = "failed", {"status": OutboxStatus.FAILED, "last_error": error}
        else:
            next_attempt = utcnow() + timedelta(seconds=backoff_seconds(attempts))
            outcome = "retry"
            values = {
                "status": OutboxStatus.PENDING,
                "next_attempt_at": next_attempt,
                "last_error": error,
            }
        log.warning("outbox %s: %s (%s)", row_id, outcome, error)
        return outcome, values
    return "sent", {"status": OutboxStatus.SENT, "sent_at": utcnow(), "last_error": None}


def due_row_ids(grace_seconds: int | None = None, limit: int | None = None) -> list[int]:
    """Rows whose task was lost (broker down, worker crashed) and should be enqueued again.

    Also takes back the lease of a row whose worker stopped renewing it (it died mid-send).
    Each row returned is marked as handed over now, so the next sweeps leave it alone for
    another grace period while its task waits its turn in a long queue."""
    config = current_app.config
    grace = config["OUTBOX_SWEEP_AFTER"] if grace_seconds is None else grace_seconds
    limit = config["OUTBOX_SWEEP_LIMIT"] if limit is None else limit
    now = utcnow()
    lapsed = now - timedelta(seconds=float(config["OUTBOX_LEASE_SECONDS"]))
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < lapsed)
        .values(status=OutboxStatus.PENDING, next_attempt_at=now - timedelta(seconds=grace))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # handed back even if nobody enqueues it now: the next sweep will
    ids = list(
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
    if ids and grace > 0:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return ids


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
