"""Benchmark: hundreds of people enroll at once, over HTTP, into an edition of 20 seats.

    DATABASE_URL=postgresql://postgres@127.0.0.1/bbt_enroll_bench \
        .venv/bin/python bench/enroll_race.py [--clients 240 --workers 4 --threads 8]

It (re)creates the schema in that database with create_all (the database is created when it does
not exist; everything in it is dropped first, so never point it at real data), seeds one edition
and the users, starts the app under gunicorn with several workers on a free port, and lets every
client log in, open the enrollment page (CSRF token) and then, all released at once, post the
enrollment form (payment by invoice). Whoever hears "full" joins the waiting list, as a person
would. Afterwards it counts what the database holds.

The last line printed is one JSON object:
{"name": "enroll_race", "figures": {"attempts", "capacity", "confirmed", "waitlisted",
 "overbooked", "errors", "p50_ms", "p95_ms", "per_s"}}
`confirmed` counts held + confirmed seats; `overbooked` is how far that exceeds capacity (must be
0); `errors` counts responses that were neither an enrollment nor a "full, join the waiting list"
answer, plus failed waiting-list joins; latencies are of the enrollment POST.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
PASSWORD = "bench-wachtwoord-42"
TOKEN_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def bench_app():
    """The WSGI app gunicorn serves (`enroll_race:bench_app()`): the real app, test settings
    for cheap password hashes, no rate limit (every client comes from 127.0.0.1), and mail left
    in the outbox (no broker needed)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bbtraining import create_app

    return create_app(
        "testing",
        TESTING=False,
        RATELIMIT_ENABLED=False,
        OUTBOX_AUTO_ENQUEUE=False,
        PUBLIC_URL="http://bench.invalid",
    )


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _ensure_database(url: str) -> None:
    """Create the PostgreSQL database if it is missing (connecting to `postgres` to do so)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(_sqlalchemy_url(url))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def seed(clients: int, capacity: int) -> int:
    """Fresh schema, one open edition, `clients` facilitators. Returns the edition id."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from bbtraining.auth.models import Role, User
    from bbtraining.courses.models import Course, Edition, TrainingSession
    from bbtraining.extensions import db

    app = bench_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        course = Course(
            slug="training-gespreksbegeleiding",
            title="Training gespreksbegeleiding burgerberaad",
            kind="facilitator-training",
            audience="facilitators",
            delivery="open",
            price_seat=Decimal("495.00"),
            published=True,
        )
        course.phases = ["uitvoering"]
        trainer = User(email="trainer@bench.example.nl", name="Trainer Bench")
        trainer.set_password(PASSWORD)
        trainer.add_role(Role.TRAINER)
        edition = Edition(course=course, capacity=capacity, location="Utrecht")
        start = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
        for day in (30, 31):
            edition.sessions.append(
                TrainingSession(
                    course=course,
                    starts_at=start + timedelta(days=day),
                    ends_at=start + timedelta(days=day, hours=7),
                    location="Utrecht",
                    trainer=trainer,
                )
            )
        db.session.add_all([course, trainer, edition])
        # One hash for everyone: hashing 200+ passwords would only time the seeding.
        template = User(email="x@bench.example.nl", name="x")
        template.set_password(PASSWORD)
        for n in range(clients):
            user = User(
                email=f"deelnemer{n}@bench.example.nl",
                name=f"Deelnemer {n}",
                password_hash=template.password_hash,
            )
            user.add_role(Role.FACILITATOR)
            user.mark_email_verified()
            db.session.add(user)
        db.session.commit()
        edition_id = edition.id
        db.engine.dispose()
    return edition_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict[str, str], workers: int, threads: int, log_path: Path):
    port = free_port()
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--backlog",
            "2048",
            "--timeout",
            "120",
            # Clients wait at the start line with an open connection; gthread's default of
            # 2 s would close it under them and the POST would hit a dead socket.
            "--keep-alive",
            "300",
            "--bind",
            f"127.0.0.1:{port}",
            "--pythonpath",
            f"{ROOT},{BENCH_DIR}",
            "enroll_race:bench_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    import requests

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + log_path.read_text()[-3000:])
        try:
            if requests.get(f"{url}/auth/login", timeout=2).status_code == 200:
                return proc, url, log
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not answer:\n" + log_path.read_text()[-3000:])


BILLING = {
    "billing_name": "Deelnemer",
    "billing_organisation": "",
    "billing_street": "Oudegracht 1",
    "billing_postcode": "3511 AB",
    "billing_city": "Utrecht",
    "billing_country": "NL",
    "vat_number": "",
    "reference": "",
    "pay_by": "invoice",
    "accept_terms": "y",
}


class Client(threading.Thread):
    def __init__(self, n: int, base: str, edition_id: int, ready: threading.Barrier):
        super().__init__(daemon=True)
        self.n, self.base, self.edition_id, self.ready = n, base, edition_id, ready
        self.outcome = "not-run"
        self.latency_ms: float | None = None
        self.detail = ""
        self.finished_at = 0.0

    def _token(self, session, path: str) -> str:
        page = session.get(self.base + path, timeout=60)
        match = TOKEN_RE.search(page.text)
        if not match:
            raise RuntimeError(f"no CSRF token on {path} ({page.status_code})")
        return match.group(1)

    def run(self) -> None:
        import requests

        session = requests.Session()
        enroll_path = f"/editions/{self.edition_id}/enroll"
        try:
            token = self._token(session, "/auth/login")
            login = session.post(
                self.base + "/auth/login",
                data={
                    "email": f"deelnemer{self.n}@bench.example.nl",
                    "password": PASSWORD,
                    "csrf_token": token,
                },
                allow_redirects=False,
                timeout=60,
            )
            if login.status_code != 302:
                raise RuntimeError(f"login answered {login.status_code}")
            token = self._token(session, enroll_path)
        except Exception as exc:  # counted as an error, reported in the summary
            self.outcome, self.detail = "error", f"setup: {exc}"
            self.ready.abort()
            return
        try:
            self.ready.wait(timeout=300)
        except threading.BrokenBarrierError:
            self.outcome, self.detail = "error", "another client failed to set up"
            return
        started = time.perf_counter()
        try:
            answer = session.post(
                self.base + enroll_path,
                data={**BILLING, "csrf_token": token},
                allow_redirects=False,
                timeout=120,
            )
        except requests.RequestException as exc:
            self.outcome, self.detail = "error", f"enroll: {exc}"
            return
        finally:
            self.latency_ms = (time.perf_counter() - started) * 1000
            self.finished_at = time.perf_counter()
        if answer.status_code == 302 and "/enrollments/" in answer.headers.get("Location", ""):
            self.outcome = "enrolled"
            return
        if answer.status_code == 409 and "Zet mij op de wachtlijst" in answer.text:
            joined = session.post(
                self.base + f"/editions/{self.edition_id}/waitlist",
                data={"seats": "1", "note": "", "csrf_token": token},
                allow_redirects=False,
                timeout=120,
            )
            if joined.status_code == 302:
                self.outcome = "waitlisted"
            else:
                self.outcome, self.detail = "error", f"waitlist answered {joined.status_code}"
            return
        self.outcome, self.detail = "error", f"enroll answered {answer.status_code}"


def count(edition_id: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
    from bbtraining.courses.models import Edition
    from bbtraining.extensions import db

    app = bench_app()
    with app.app_context():
        occupied = db.session.scalar(
            select(func.coalesce(func.sum(Enrollment.seats), 0)).where(
                Enrollment.edition_id == edition_id,
                Enrollment.status.in_(("held", "confirmed")),
            )
        )
        waiting = db.session.scalar(
            select(func.count(WaitlistEntry.id)).where(
                WaitlistEntry.edition_id == edition_id,
                WaitlistEntry.status.in_(("waiting", "offered")),
            )
        )
        edition = db.session.get(Edition, edition_id)
        result = {
            "occupied": int(occupied),
            "waiting": int(waiting),
            "seats_taken": edition.seats_taken,
            "capacity": edition.capacity,
        }
        db.engine.dispose()
    return result


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=240)
    parser.add_argument("--capacity", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        print(
            "Set DATABASE_URL, e.g. postgresql://postgres@127.0.0.1/bbt_enroll_bench",
            file=sys.stderr,
        )
        return 2
    if args.clients < 200:
        print("note: the issue asks for at least 200 clients", file=sys.stderr)

    instance = Path(tempfile.mkdtemp(prefix="bbtraining-bench-"))
    env = {
        **os.environ,
        "BBTRAINING_CONFIG": "testing",
        "BBTRAINING_INSTANCE": str(instance),
        "DATABASE_URL": url,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH_DIR}",
    }
    os.environ.update(BBTRAINING_INSTANCE=str(instance), DATABASE_URL=url)
    sys.path.insert(0, str(ROOT))
    _ensure_database(url)
    edition_id = seed(args.clients, args.capacity)
    print(f"seeded edition {edition_id}: {args.capacity} seats, {args.clients} clients", flush=True)

    proc, base, log = start_gunicorn(env, args.workers, args.threads, instance / "gunicorn.log")
    print(f"gunicorn on {base}: {args.workers} workers x {args.threads} threads", flush=True)
    try:
        ready = threading.Barrier(args.clients + 1)
        clients = [Client(n, base, edition_id, ready) for n in range(args.clients)]
        for client in clients:
            client.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait(timeout=300)  # everyone logged in and holds a form
        released = time.perf_counter()
        for client in clients:
            client.join(timeout=300)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    outcomes: dict[str, int] = {}
    for client in clients:
        outcomes[client.outcome] = outcomes.get(client.outcome, 0) + 1
    errors = [c for c in clients if c.outcome != "enrolled" and c.outcome != "waitlisted"]
    for client in errors[:5]:
        print(f"client {client.n}: {client.outcome} {client.detail}", file=sys.stderr)
    latencies = [c.latency_ms for c in clients if c.latency_ms is not None]
    finished = [c.finished_at for c in clients if c.finished_at]
    wall = (max(finished) - released) if finished else 0.0
    db_counts = count(edition_id)
    figures = {
        "attempts": len(latencies),
        "capacity": db_counts["capacity"],
        "confirmed": db_counts["occupied"],
        "waitlisted": db_counts["waiting"],
        "overbooked": max(0, db_counts["occupied"] - db_counts["capacity"]),
        "errors": len(errors),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p95_ms": round(percentile(latencies, 95), 1),
        "per_s": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
    }
    print(
        f"outcomes {outcomes}; seats_taken counter {db_counts['seats_taken']}; "
        f"enroll phase {wall:.2f} s",
        flush=True,
    )
    print(json.dumps({"name": "enroll_race", "figures": figures}), flush=True)
    ok = figures["overbooked"] == 0 and figures["errors"] == 0
    ok = ok and figures["confirmed"] == min(args.capacity, args.clients)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
