import socket

from celery import shared_task
from celery.signals import worker_ready

from . import services

BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "notifications.sweep_outbox", "schedule": 60.0},
    "worker-heartbeat": {"task": "notifications.heartbeat", "schedule": 30.0},
    "purge-embedded-broker": {"task": "notifications.purge_embedded_broker", "schedule": 3600.0},
}


@shared_task(name="notifications.deliver", bind=True, max_retries=None)
def deliver_outbox_message(self, row_id: int) -> str:
    outcome = services.deliver(row_id)
    if outcome == "retry":
        from ..extensions import db
        from .models import OutboxMessage

        row = db.session.get(OutboxMessage, row_id)
        services.enqueue_delivery(row_id, countdown=services.backoff_seconds(row.attempts))
    return outcome


@shared_task(name="notifications.deliver_batch")
def deliver_outbox_batch(row_ids: list[int]) -> dict[str, int]:
    from ..extensions import db
    from .models import OutboxMessage

    counts: dict[str, int] = {}
    for row_id, outcome in services.deliver_many(row_ids).items():
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "retry":
            row = db.session.get(OutboxMessage, row_id)
            services.enqueue_delivery(row_id, countdown=services.backoff_seconds(row.attempts))
    return counts


@shared_task(name="notifications.sweep_outbox")
def sweep_outbox() -> int:
    return services.sweep()


@shared_task(name="notifications.heartbeat")
def heartbeat() -> None:
    services.beat_heartbeat(socket.gethostname())


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
