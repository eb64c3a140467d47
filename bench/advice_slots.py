"""Benchmark: an advisor's month of free slots, and 100 clients booking the same slot at once.

    DATABASE_URL=postgresql://postgres@127.0.0.1/bbt_advice_bench \
        .venv/bin/python bench/advice_slots.py [--runs 200 --clients 100 --workers 4 --threads 8]

It (re)creates the schema in that database with create_all (the database is created when it does
not exist; everything in it is dropped first, so never point it at real data) and seeds one
advisor (weekly hours Monday to Friday 09:00-12:00 and 13:00-17:00) with 90 days of history
around today: 200 calls (60 days back to 30 ahead) and 40 sessions they teach (half on site,
with travel time). Then:

1. slots: `availability.free_slots_any` for the next 31 days, as the booking page asks it, each
   run in a fresh session (profile, hours, overrides, calls and sessions loaded anew); p95 over
   `--runs` runs;
2. race: the real app under gunicorn; `--clients` signed-in clients each open
   /advies/kennismaking (CSRF token, submission key) and then, all released at once, post the
   form for the same slot. One must get the call (303 to the call's page), every other the
   Dutch "Dit tijdstip is net geboekt; kies een ander." (400).

The last line printed is one JSON object:
{"name": "advice_slots", "figures": {"slots_p95_ms", "slots_p50_ms", "slots_queries",
 "attempts", "booked", "double_booked", "errors", "post_p95_ms"}}
`booked` counts booked calls at the raced slot in the database; `double_booked` counts pairs of
the advisor's calls whose blocked times overlap (must be 0); `errors` counts answers that were
neither the booking nor the "taken" refusal. Targets: slots_p95_ms <= 20, booked = 1,
double_booked = 0, errors = 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

from enroll_race import (  # noqa: E402  (bench/ is on the path above)
    PASSWORD,
    _ensure_database,
    bench_app,
    percentile,
    start_gunicorn,
)

TOKEN_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
KEY_RE = re.compile(
    r'name="submission_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="submission_key"'
)
TAKEN = "Dit tijdstip is net geboekt; kies een ander."


def seed(clients: int) -> int:
    """Fresh schema, the advisor with history, `clients` client accounts. Returns the advisor's
    profile id."""
    from decimal import Decimal

    from bbtraining.advice.models import AdviceCall, AdvisorHours, AdvisorProfile
    from bbtraining.auth.models import Organisation, Role, User
    from bbtraining.courses.models import AMSTERDAM, Course, TrainingSession
    from bbtraining.extensions import db

    app = bench_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        template = User(email="x@bench.example.nl", name="x")
        template.set_password(PASSWORD)
        people = []
        for n in range(clients):
            organisation = Organisation(name=f"Gemeente Bench {n}", kind="gemeente")
            user = User(
                email=f"griffie{n}@bench.example.nl",
                name=f"Griffier {n}",
                password_hash=template.password_hash,
                organisation=organisation,
            )
            user.add_role(Role.CLIENT)
            user.mark_email_verified()
            people.append(user)
        advisor_user = User(
            email="adviseur@bench.example.nl",
            name="Adviseur Bench",
            password_hash=template.password_hash,
        )
        for role in (Role.ADVISOR, Role.TRAINER):
            advisor_user.add_role(role)
        profile = AdvisorProfile(user=advisor_user, meeting_url="https://meet.example.nl/bench")
        profile.hours = [
            AdvisorHours(
                weekday=d,
                starts=datetime.strptime(s, "%H:%M").time(),
                ends=datetime.strptime(e, "%H:%M").time(),
            )
            for d in range(5)
            for s, e in (("09:00", "12:00"), ("13:00", "17:00"))
        ]
        course = Course(
            slug="inspiratiesessie",
            title="Inspiratiesessie burgerberaad",
            kind="inspiratiesessie",
            audience="civil-servants",
            delivery="inhouse",
            price_inhouse=Decimal("1250.00"),
            published=True,
        )
        course.phases = ["verkenning"]
        db.session.add_all([*people, profile, course])
        db.session.flush()

        today = datetime.now(AMSTERDAM).date()
        workdays = [
            today + timedelta(days=offset)
            for offset in range(-60, 31)
            if (today + timedelta(days=offset)).weekday() < 5
        ]

        def at(day, hhmm: str) -> datetime:
            hour, minute = map(int, hhmm.split(":"))
            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)

        now = datetime.now(UTC)
        starts = [at(day, hhmm) for hhmm in ("09:00", "10:00", "11:00") for day in workdays]
        starts += [at(day, "16:00") for day in workdays]
        for number, local_start in enumerate(sorted(starts[:200])):
            start = local_start.astimezone(UTC)
            requester = people[number % len(people)]
            db.session.add(
                AdviceCall(
                    advisor=profile,
                    organisation=requester.organisation,
                    requester=requester,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=30),
                    blocked_from=start - timedelta(minutes=10),
                    blocked_until=start + timedelta(minutes=40),
                    mode="online",
                    phase="verkenning",
                    organisation_name_given=requester.organisation.name,
                    question="Hoe beginnen we?",
                    status="booked" if start > now else "held",
                    created_at=start - timedelta(days=7),
                )
            )
        for number, day in enumerate(workdays[1::2][:40]):
            db.session.add(
                TrainingSession(
                    course=course,
                    starts_at=at(day, "13:00").astimezone(UTC),
                    ends_at=at(day, "15:00").astimezone(UTC),
                    location="Gemeentehuis" if number % 2 == 0 else None,
                    online_url=None if number % 2 == 0 else "https://meet.example.nl/sessie",
                    trainer=advisor_user,
                )
            )
        db.session.commit()
        profile_id = profile.id
        db.engine.dispose()
    return profile_id


def time_slots(runs: int) -> tuple[list[float], int, datetime]:
    """`runs` timings of a month of slots; the number of queries of one run; the first slot."""
    from sqlalchemy import event

    from bbtraining.advice.availability import free_slots_any
    from bbtraining.courses.models import AMSTERDAM
    from bbtraining.extensions import db

    app = bench_app()
    timings: list[float] = []
    with app.app_context():
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        first = datetime.now(AMSTERDAM).date()
        last = first + timedelta(days=30)
        found: list[datetime] = []
        for run in range(runs + 5):  # five to warm up
            db.session.remove()
            if run == runs + 4:
                event.listen(db.engine, "before_cursor_execute", listener)
            started = time.perf_counter()
            found = free_slots_any(first, last, now=datetime.now(UTC))
            elapsed = (time.perf_counter() - started) * 1000
            if run >= 5:
                timings.append(elapsed)
        event.remove(db.engine, "before_cursor_execute", listener)
        db.session.remove()
        db.engine.dispose()
    if not found:
        raise RuntimeError("the advisor offers no slot in the coming month")
    return timings, len(statements), found[0]


class Client(threading.Thread):
    def __init__(self, n: int, base: str, slot: str, ready: threading.Barrier):
        super().__init__(daemon=True)
        self.n, self.base, self.slot, self.ready = n, base, slot, ready
        self.outcome = "not-run"
        self.detail = ""
        self.latency_ms: float | None = None

    def run(self) -> None:
        import requests

        session = requests.Session()
        try:
            page = session.get(self.base + "/auth/login", timeout=60)
            token = TOKEN_RE.search(page.text).group(1)
            login = session.post(
                self.base + "/auth/login",
                data={
                    "email": f"griffie{self.n}@bench.example.nl",
                    "password": PASSWORD,
                    "csrf_token": token,
                },
                allow_redirects=False,
                timeout=60,
            )
            if login.status_code != 302:
                raise RuntimeError(f"login answered {login.status_code}")
            page = session.get(self.base + "/advies/kennismaking", timeout=60)
            token = TOKEN_RE.search(page.text).group(1)
            key_match = KEY_RE.search(page.text)
            key = next(g for g in key_match.groups() if g) if key_match else ""
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
                self.base + "/advies/kennismaking",
                data={
                    "csrf_token": token,
                    "submission_key": key,
                    "phase": "verkenning",
                    "mode": "online",
                    "phone": "",
                    "question": "Hoe pakken andere gemeenten de loting aan?",
                    "slot": self.slot,
                    "tz": "Europe/Amsterdam",
                },
                allow_redirects=False,
                timeout=120,
            )
        except requests.RequestException as exc:
            self.outcome, self.detail = "error", f"post: {exc}"
            return
        finally:
            self.latency_ms = (time.perf_counter() - started) * 1000
        if answer.status_code in (302, 303) and "/advies/gesprek/" in answer.headers.get(
            "Location", ""
        ):
            self.outcome = "booked"
        elif answer.status_code == 400 and TAKEN in answer.text:
            self.outcome = "taken"
        else:
            self.outcome, self.detail = "error", f"post answered {answer.status_code}"


def count(profile_id: int, slot: datetime) -> dict[str, int]:
    from sqlalchemy import and_, func, select
    from sqlalchemy.orm import aliased

    from bbtraining.advice.models import BLOCKING_STATUSES, AdviceCall
    from bbtraining.extensions import db

    app = bench_app()
    with app.app_context():
        booked = db.session.scalar(
            select(func.count()).where(
                AdviceCall.advisor_id == profile_id,
                AdviceCall.starts_at == slot,
                AdviceCall.status == "booked",
            )
        )
        other = aliased(AdviceCall)
        double = db.session.scalar(
            select(func.count())
            .select_from(AdviceCall)
            .join(
                other,
                and_(
                    other.advisor_id == AdviceCall.advisor_id,
                    other.id > AdviceCall.id,
                    other.blocked_from < AdviceCall.blocked_until,
                    AdviceCall.blocked_from < other.blocked_until,
                ),
            )
            .where(AdviceCall.status.in_(BLOCKING_STATUSES), other.status.in_(BLOCKING_STATUSES))
        )
        db.engine.dispose()
    return {"booked": int(booked), "double_booked": int(double)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        print(
            "Set DATABASE_URL, e.g. postgresql://postgres@127.0.0.1/bbt_advice_bench",
            file=sys.stderr,
        )
        return 2
    instance = Path(tempfile.mkdtemp(prefix="bbtraining-bench-"))
    env = {
        **os.environ,
        "BBTRAINING_CONFIG": "testing",
        "BBTRAINING_INSTANCE": str(instance),
        "DATABASE_URL": url,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH_DIR}",
    }
    os.environ.update(BBTRAINING_INSTANCE=str(instance), DATABASE_URL=url)
    _ensure_database(url)
    profile_id = seed(args.clients)
    print(
        f"seeded advisor {profile_id}: 200 calls, 40 sessions, {args.clients} clients", flush=True
    )

    timings, queries, slot = time_slots(args.runs)
    print(
        f"slots: p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 95):.1f} ms, "
        f"{queries} queries; racing for {slot.isoformat()}",
        flush=True,
    )

    proc, base, log = start_gunicorn(env, args.workers, args.threads, instance / "gunicorn.log")
    print(f"gunicorn on {base}: {args.workers} workers x {args.threads} threads", flush=True)
    slot_value = f"{slot.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
    try:
        ready = threading.Barrier(args.clients + 1)
        clients = [Client(n, base, slot_value, ready) for n in range(args.clients)]
        for client in clients:
            client.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait(timeout=300)
        for client in clients:
            client.join(timeout=300)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    errors = [c for c in clients if c.outcome not in ("booked", "taken")]
    for client in errors[:5]:
        print(f"client {client.n}: {client.outcome} {client.detail}", file=sys.stderr)
    latencies = [c.latency_ms for c in clients if c.latency_ms is not None]
    counted = count(profile_id, slot)
    figures = {
        "slots_p95_ms": round(percentile(timings, 95), 2),
        "slots_p50_ms": round(statistics.median(timings), 2),
        "slots_queries": queries,
        "attempts": len(latencies),
        "booked": counted["booked"],
        "double_booked": counted["double_booked"],
        "errors": len(errors),
        "post_p95_ms": round(percentile(latencies, 95), 1) if latencies else 0.0,
    }
    print(json.dumps({"name": "advice_slots", "figures": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
