"""Benchmark: 10,000 due reminders from the beat job to an SMTP server, and a killed worker.

    DATABASE_URL=postgresql://postgres@127.0.0.1/bbt_bench REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/reminders.py

What it does, in one run:
1. recreates the schema in DATABASE_URL (refused unless the database name contains "bench",
   or --force), and bulk-inserts 100 sessions starting in 12 hours with 100 participants
   each (a plain-list participants provider), so 10,000 reminders are due;
2. starts a local SMTP sink (aiosmtpd) and a real Celery worker (subprocess) on REDIS_URL;
3. measures the worker's rate on a no-op task (`bookings.noop`): the queue is filled before the
   worker starts, and the time from "ready" to an empty queue is the worker's own;
4. sends the reminder beat job twice at once (two beats), as production would, and waits until
   the sink has every reminder: the worker runs the sweep, which claims each reminder, writes
   the outbox rows and enqueues their delivery; the worker delivers them over SMTP.
5. the killed-worker run (unless --skip-crash): the reminders are made due again, a worker
   with its beat (-B: the outbox sweep every 10 s) starts on them, is killed with SIGKILL when
   half the mails have arrived, and a new one is started. Delivery is at-least-once: nothing
   may be lost, at most the rows in flight are sent twice (same Message-ID), and every mail
   should be in within 60 s of the restart (the lease, OUTBOX_LEASE_SECONDS, is 30 s).
Figures: sent (distinct mails received), duplicates (received more than once), missing,
seconds (beat job sent to last mail received), per_s, noop_per_s and ratio_to_noop; and
crash_sent, crash_duplicates, crash_missing, crash_recovery_s (restart to last missing mail
received), crash_received_before_kill; worker_cpu_ms_per_mail and worker_cpu_ms_per_noop (the
worker's own CPU, its children's included, per mail and per no-op task: these hold still when
other programs share the machine, the rates do not). The last line printed is the JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_SLUG = "bench-reminders"
SESSIONS = 100


def log(message: str) -> None:
    print(message, flush=True)


# -- used inside the worker too (bench/reminders_worker.py) --------------------------------------
def register_bench_participants(per_session: int | None = None) -> None:
    """Every session of the bench course has `per_session` participants."""
    from bbtraining.bookings.sessions.participants import Participant, register_provider

    count = per_session or int(os.environ.get("BENCH_PARTICIPANTS_PER_SESSION", "100"))

    def bench_participants(session) -> list[Participant]:
        if session.course.slug != BENCH_SLUG:
            return []
        return [
            Participant(
                key=f"bench:{session.id}:{n}",
                email=f"p{n}.s{session.id}@bench.example",
                name=f"Deelnemer {n}",
            )
            for n in range(count)
        ]

    register_provider(bench_participants)


# -- SMTP sink ----------------------------------------------------------------------------------
class Sink:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.message_ids: Counter[str] = Counter()
        self.received = 0
        self.last_at = 0.0
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                content = envelope.content
                start = content.find(b"Message-ID:")
                end = content.find(b"\r\n", start)
                message_id = content[start + 11 : end].strip().decode() if start >= 0 else ""
                with sink.lock:
                    sink.message_ids[message_id] += 1
                    sink.received += 1
                    sink.last_at = time.monotonic()
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def reset(self) -> None:
        with self.lock:
            self.message_ids = Counter()
            self.received = 0
            self.last_at = 0.0

    def distinct(self) -> int:
        with self.lock:
            return len(self.message_ids)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- worker -------------------------------------------------------------------------------------
def start_worker(
    env: dict[str, str], pool: str, concurrency: int, log_path: Path, beat: bool = False
):
    log_file = log_path.open("ab")
    start_size = log_path.stat().st_size
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.reminders_worker",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench-{os.getpid()}-{time.monotonic_ns()}@%h",
            *(["-B", f"--schedule={log_path.parent / 'celerybeat-schedule'}"] if beat else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if b" ready." in log_path.read_bytes()[start_size:]:
            return proc, log_file
        if proc.poll() is not None:
            raise SystemExit("worker exited:\n" + log_path.read_text()[-3000:])
        time.sleep(0.1)
    raise SystemExit("worker did not start:\n" + log_path.read_text()[-3000:])


def worker_cpu_seconds(pid: int) -> float:
    """User + system CPU of the worker and every process under it (prefork's children), from
    /proc (Linux); 0.0 elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree, total = {pid}, 0.0
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                changed = True
    for member in tree:
        total += times.get(member, 0.0)
    return total


def stop_worker(proc, log_file) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    log_file.close()


def queue_drained(redis_client) -> bool:
    # kombu's Redis transport: waiting messages in the "celery" list, taken but not yet
    # acknowledged ones (task_acks_late) in the "unacked" hash.
    return redis_client.llen("celery") == 0 and redis_client.hlen("unacked") == 0


# -- the run ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--noop", type=int, default=5_000, help="no-op tasks to time")
    # The README's production settings: prefork, one process per core (prefetch 1 and the batch
    # size come from config.py).
    parser.add_argument("--pool", default="prefork", choices=("threads", "prefork"))
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--force", action="store_true", help="also wipe a non-bench database")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--skip-crash", action="store_true", help="no killed-worker run")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        raise SystemExit("Set DATABASE_URL and REDIS_URL (see the docstring).")
    if "bench" not in urlsplit(database_url).path and not args.force:
        raise SystemExit("Refusing to wipe a database whose name lacks 'bench' (use --force).")
    if args.reminders % SESSIONS:
        raise SystemExit(f"--reminders must be a multiple of {SESSIONS}")
    per_session = args.reminders // SESSIONS

    workdir = Path(tempfile.mkdtemp(prefix="bbtraining-bench-"))
    sink = Sink()
    sink.controller.start()
    env = {
        **os.environ,
        "BBTRAINING_CONFIG": "testing",
        "BBTRAINING_INSTANCE": str(workdir / "instance"),
        "CELERY_BROKER_URL": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "PUBLIC_URL": "http://bbtraining.bench",
        "PYTHONPATH": str(ROOT),
        "BENCH_PARTICIPANTS_PER_SESSION": str(per_session),
    }
    os.environ.update(env)  # config reads the environment at import
    sys.path.insert(0, str(ROOT))

    import redis

    from bbtraining import create_app
    from bbtraining.extensions import db

    app = create_app("testing")
    celery = app.extensions["celery"]
    redis_client = redis.Redis.from_url(redis_url)
    with app.app_context():
        log(f"database {db.engine.url.render_as_string(hide_password=True)}; broker {redis_url}")
        db.drop_all()
        db.create_all()
        create_due_sessions(db, per_session)
    with celery.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    redis_client.delete("unacked", "unacked_index")

    enqueue_noops(celery, args.noop)
    proc, log_file = start_worker(env, args.pool, args.concurrency, workdir / "worker.log")
    ready_at = time.monotonic()
    try:
        cpu_at_ready = worker_cpu_seconds(proc.pid)
        noop_per_s = measure_noop(redis_client, args.noop, ready_at, args.timeout)
        cpu_after_noop = worker_cpu_seconds(proc.pid)
        figures = run_reminders(app, celery, redis_client, sink, args.reminders, args.timeout)
        # CPU per mail and per no-op task: what the worker spends, whatever else the machine runs.
        cpu_per_mail = (worker_cpu_seconds(proc.pid) - cpu_after_noop) / args.reminders * 1000
        cpu_per_noop = (cpu_after_noop - cpu_at_ready) / args.noop * 1000
        figures["worker_cpu_ms_per_mail"] = round(cpu_per_mail, 3)
        figures["worker_cpu_ms_per_noop"] = round(cpu_per_noop, 3)
        stop_worker(proc, log_file)
        if not args.skip_crash:
            figures.update(
                run_crash(app, celery, redis_client, sink, env, args, workdir / "crash.log")
            )
    finally:
        stop_worker(proc, log_file)
        sink.controller.stop()
    figures["noop_per_s"] = round(noop_per_s, 1)
    figures["ratio_to_noop"] = round(figures["per_s"] / noop_per_s, 3) if noop_per_s else None
    log(f"worker: --pool={args.pool} --concurrency={args.concurrency}; log {workdir}/worker.log")
    print(json.dumps({"name": "reminders", "figures": figures}), flush=True)


def create_due_sessions(db, per_session: int) -> None:
    from bbtraining.courses.models import Course, TrainingSession

    course = Course(
        slug=BENCH_SLUG,
        title="Benchmark: herinneringen",
        kind="masterclass",
        audience="civil-servants",
        delivery="open",
        published=True,
    )
    db.session.add(course)
    db.session.flush()
    start = datetime.now(UTC) + timedelta(hours=12)  # the 24-hour reminder is due
    db.session.execute(
        TrainingSession.__table__.insert(),
        [
            {
                "course_id": course.id,
                "starts_at": start + timedelta(minutes=n),
                "ends_at": start + timedelta(minutes=n, hours=3),
                "location": "Utrecht",
                "status": "scheduled",
                "revision": 0,
            }
            for n in range(SESSIONS)
        ],
    )
    db.session.commit()
    log(f"{SESSIONS} sessions x {per_session} participants: {SESSIONS * per_session} reminders due")


def enqueue_noops(celery, count: int) -> None:
    started = time.monotonic()
    with celery.producer_or_acquire() as producer:
        for _ in range(count):
            celery.send_task("bookings.noop", producer=producer)
    log(f"no-op: {count} tasks queued in {time.monotonic() - started:.2f} s")


def measure_noop(redis_client, count: int, ready_at: float, timeout: float) -> float:
    """The queue was filled before the worker started: from ready to drained is its own rate."""
    deadline = ready_at + timeout
    while not queue_drained(redis_client):
        if time.monotonic() > deadline:
            raise SystemExit("no-op tasks did not drain in time")
        time.sleep(0.01)
    seconds = time.monotonic() - ready_at
    log(f"no-op: {count} tasks done in {seconds:.2f} s, {count / seconds:.0f}/s")
    return count / seconds


def run_reminders(app, celery, redis_client, sink, expected: int, timeout: float) -> dict:
    started = time.monotonic()
    # Two beats fire at once: the UNIQUE claim must keep every reminder to one mail.
    celery.send_task("bookings.send_reminders")
    celery.send_task("bookings.send_reminders")
    deadline = started + timeout
    while sink.received < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    if sink.received < expected:
        log(f"timed out with {sink.received} of {expected} mails")
    # Anything still queued (a duplicate delivery, a retry) gets the chance to show up.
    settle = time.monotonic() + 30
    while not queue_drained(redis_client) and time.monotonic() < settle:
        time.sleep(0.1)
    time.sleep(2)
    seconds = (sink.last_at or time.monotonic()) - started
    with sink.lock:
        distinct = len(sink.message_ids)
        duplicates = sum(n - 1 for n in sink.message_ids.values() if n > 1)
    with app.app_context():
        report_database(app)
    return {
        "sent": distinct,
        "duplicates": duplicates,
        "missing": max(expected - distinct, 0),
        "seconds": round(seconds, 2),
        "per_s": round(distinct / seconds, 1) if seconds > 0 else None,
    }


def run_crash(app, celery, redis_client, sink, env, args, log_path: Path) -> dict:
    """Make the reminders due again, kill the worker (SIGKILL) halfway, start a new one."""
    from sqlalchemy import delete, func, select

    from bbtraining.bookings.sessions.reminders import SentReminder
    from bbtraining.extensions import db
    from bbtraining.notifications.models import OutboxMessage

    expected = args.reminders
    with app.app_context():
        db.session.execute(delete(OutboxMessage))
        db.session.execute(delete(SentReminder))
        db.session.commit()
    with celery.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    redis_client.delete("unacked", "unacked_index")
    sink.reset()

    def rows_written() -> int:
        with app.app_context():
            count = db.session.scalar(select(func.count(OutboxMessage.id)))
            db.session.remove()
            return count

    proc, log_file = start_worker(env, args.pool, args.concurrency, log_path, beat=True)
    celery.send_task("bookings.send_reminders")
    deadline = time.monotonic() + args.timeout
    while sink.received < expected // 2 or rows_written() < expected:
        if time.monotonic() > deadline:
            raise SystemExit("crash run: half the mails did not arrive in time")
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no goodbye, no acknowledgement, rows in flight stay 'sending'
    proc.wait()
    log_file.close()
    before_kill = sink.received
    log(f"crash: worker killed after {before_kill} of {expected} mails")

    proc, log_file = start_worker(env, args.pool, args.concurrency, log_path, beat=True)
    restarted = time.monotonic()
    try:
        while sink.distinct() < expected and time.monotonic() < restarted + args.timeout:
            time.sleep(0.05)
        done = time.monotonic()
        recovery = (sink.last_at if sink.distinct() >= expected else done) - restarted
        time.sleep(5)  # room for a late duplicate
    finally:
        stop_worker(proc, log_file)
    with sink.lock:
        distinct = len(sink.message_ids)
        duplicates = sum(n - 1 for n in sink.message_ids.values() if n > 1)
    with app.app_context():
        report_database(app)
    log(f"crash: {distinct} distinct, {duplicates} twice, all in {recovery:.1f} s after restart")
    return {
        "crash_sent": distinct,
        "crash_duplicates": duplicates,
        "crash_missing": max(expected - distinct, 0),
        "crash_recovery_s": round(recovery, 2),
        "crash_received_before_kill": before_kill,
    }


def report_database(app) -> None:
    from sqlalchemy import func, select

    from bbtraining.bookings.sessions.reminders import SentReminder
    from bbtraining.extensions import db
    from bbtraining.notifications.models import OutboxMessage

    claimed = db.session.scalar(select(func.count(SentReminder.id)))
    by_status = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
                OutboxMessage.status
            )
        ).all()
    )
    log(f"database: {claimed} reminders claimed; outbox {by_status}")


if __name__ == "__main__":
    main()
