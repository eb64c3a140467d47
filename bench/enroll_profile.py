"""Profile: what one enrollment POST and one waiting-list join cost the server.

    DATABASE_URL=postgresql://postgres@127.0.0.1/bbt_enroll_bench \
        .venv/bin/python bench/enroll_profile.py [--clients 60 --capacity 20] [--pyinstrument]

It seeds the same world as bench/enroll_race.py (one edition, `--capacity` seats, `--clients`
signed-up facilitators; everything in the database is dropped first, so never point it at real
data), signs every client in through the app's own test client, and then, one after the other,
lets each post the enrollment form (payment by invoice); whoever hears "full" joins the waiting
list, as in the race. Nothing runs concurrently, so the figures are the work itself, not the
waiting: per kind of request (an enrollment that got a seat, one refused because the edition is
full, a waiting-list join) the SQL statements and the process CPU per request, and how long the
edition's row stayed locked (from the UPDATE that takes the seat to the COMMIT) per seat taken.
With --pyinstrument it also prints where the CPU of the enrollment POSTs goes.

The last line printed is one JSON object:
{"name": "enroll_profile", "figures": {"enrolled", "full", "waitlisted", "errors",
 "enroll_queries", "enroll_cpu_ms", "full_queries", "full_cpu_ms", "waitlist_queries",
 "waitlist_cpu_ms", "post_cpu_ms", "lock_hold_ms_p50", "lock_hold_ms_max",
 "lock_statements"}}
`post_cpu_ms` is the mean CPU of every enrollment POST (the race's mix); `lock_statements`
counts the statements sent while the edition's row was locked, per seat taken.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
for path in (ROOT, BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import enroll_race  # noqa: E402 - the same seed, form and app as the race


class Recorder:
    """Counts statements and times the edition's row lock, per connection."""

    def __init__(self):
        self.queries = 0
        self.statements: list[str] = []
        self.lock_started: dict[int, float] = {}
        self.lock_statements: dict[int, int] = {}
        self.holds: list[float] = []
        self.held_statements: list[int] = []
        self.local = threading.local()

    def install(self, engine) -> None:
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _before(self, conn, _cursor, statement, *_args) -> None:
        self.queries += 1
        self.statements.append(" ".join(statement.split())[:160])
        key = id(conn.connection.dbapi_connection)
        if key in self.lock_started:
            self.lock_statements[key] += 1
        elif statement.lstrip().upper().startswith("UPDATE EDITION SET SEATS_TAKEN"):
            self.local.started = time.perf_counter()

    def _after(self, conn, cursor, statement, *_args) -> None:
        key = id(conn.connection.dbapi_connection)
        started = getattr(self.local, "started", None)
        self.local.started = None
        # The lock is taken by an UPDATE that changed the row (a refused take locks nothing).
        if started is not None and key not in self.lock_started and cursor.rowcount == 1:
            self.lock_started[key] = started
            self.lock_statements[key] = 0

    def _end(self, conn) -> None:
        key = id(conn.connection.dbapi_connection)
        started = self.lock_started.pop(key, None)
        statements = self.lock_statements.pop(key, 0)
        if started is not None:
            self.holds.append((time.perf_counter() - started) * 1000)
            self.held_statements.append(statements)


def _token(client, path: str) -> str:
    page = client.get(path)
    match = enroll_race.TOKEN_RE.search(page.get_data(as_text=True))
    if not match:
        raise RuntimeError(f"no CSRF token on {path} ({page.status_code})")
    return match.group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--capacity", type=int, default=20)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument(
        "--statements", action="store_true", help="print one request's SQL per kind"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        print("Set DATABASE_URL, e.g. postgresql://postgres@127.0.0.1/bbt_enroll_bench")
        return 2
    instance = Path(tempfile.mkdtemp(prefix="bbtraining-profile-"))
    os.environ.update(BBTRAINING_INSTANCE=str(instance), DATABASE_URL=url)
    enroll_race._ensure_database(url)
    edition_id = enroll_race.seed(args.clients, args.capacity)

    from bbtraining.extensions import db

    app = enroll_race.bench_app()
    enroll_path = f"/editions/{edition_id}/enroll"
    clients = []
    with app.app_context():
        engine = db.engine
    for n in range(args.clients):
        client = app.test_client()
        token = _token(client, "/auth/login")
        login = client.post(
            "/auth/login",
            data={
                "email": f"deelnemer{n}@bench.example.nl",
                "password": enroll_race.PASSWORD,
                "csrf_token": token,
            },
        )
        if login.status_code != 302:
            raise RuntimeError(f"login answered {login.status_code}")
        clients.append((client, _token(client, enroll_path)))
    recorder = Recorder()
    recorder.install(engine)

    profiler = None
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
    kinds: dict[str, dict[str, list[float]]] = {
        kind: {"queries": [], "cpu": []} for kind in ("enroll", "full", "waitlist")
    }
    post_cpu: list[float] = []
    errors = 0

    shown: set[str] = set()

    def show(kind: str, first: int) -> None:
        if args.statements and kind not in shown and len(kinds[kind]["cpu"]) == 3:
            shown.add(kind)
            print(f"-- {kind}:", *recorder.statements[first:], sep="\n  ")

    def timed(call):
        timed.first = len(recorder.statements)
        queries, cpu = recorder.queries, time.process_time()
        if profiler is not None:
            profiler.start()
        answer = call()
        if profiler is not None:
            profiler.stop()
        return answer, recorder.queries - queries, (time.process_time() - cpu) * 1000

    for client, token in clients:
        answer, queries, cpu = timed(
            lambda c=client, t=token: c.post(
                enroll_path, data={**enroll_race.BILLING, "csrf_token": t}
            )
        )
        post_cpu.append(cpu)
        if answer.status_code == 302 and "/enrollments/" in answer.headers.get("Location", ""):
            kind = "enroll"
        elif answer.status_code == 409 and "Zet mij op de wachtlijst" in answer.get_data(
            as_text=True
        ):
            kind = "full"
        else:
            errors += 1
            continue
        kinds[kind]["queries"].append(queries)
        kinds[kind]["cpu"].append(cpu)
        show(kind, timed.first)
        if kind == "full":
            joined, queries, cpu = timed(
                lambda c=client, t=token: c.post(
                    f"/editions/{edition_id}/waitlist",
                    data={"seats": "1", "note": "", "csrf_token": t},
                )
            )
            if joined.status_code != 302:
                errors += 1
                continue
            kinds["waitlist"]["queries"].append(queries)
            kinds["waitlist"]["cpu"].append(cpu)
            show("waitlist", timed.first)
    if profiler is not None:
        print(profiler.output_text(unicode=False, color=False, show_all=False))

    def mean(values):
        return round(statistics.fmean(values), 1) if values else 0.0

    figures = {
        "enrolled": len(kinds["enroll"]["cpu"]),
        "full": len(kinds["full"]["cpu"]),
        "waitlisted": len(kinds["waitlist"]["cpu"]),
        "errors": errors,
    }
    for kind, values in kinds.items():
        figures[f"{kind}_queries"] = mean(values["queries"])
        figures[f"{kind}_cpu_ms"] = mean(values["cpu"])
    figures["post_cpu_ms"] = mean(post_cpu)
    figures["lock_hold_ms_p50"] = (
        round(statistics.median(recorder.holds), 2) if recorder.holds else 0
    )
    figures["lock_hold_ms_max"] = round(max(recorder.holds), 2) if recorder.holds else 0
    figures["lock_statements"] = mean(recorder.held_statements)
    with app.app_context():
        db.engine.dispose()
    print(json.dumps({"name": "enroll_profile", "figures": figures}), flush=True)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
