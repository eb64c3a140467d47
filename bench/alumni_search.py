"""Alumni search over 100,000 profiles: through the HTTP stack and at the service level.

    DATABASE_URL=postgresql://postgres@127.0.0.1/bbt_alumni_bench \
        .venv/bin/python bench/alumni_search.py

The database is emptied and filled (its name must contain "bench", or pass --reset-any-database):
100,000 facilitators with realistic profiles (provinces weighted by population, neighbouring
provinces to travel to, languages, specialisations, tags, experience, blocked dates, verified
trainings, some unpublished, hidden or lapsed), loaded with COPY on PostgreSQL. Then a fixed mix
of searches (filters, text, dates, combinations) runs in-process through `services.search` and
over HTTP against gunicorn on a free local port, as a logged-in client. The last line printed is
one JSON object: {"name": "alumni_search", "figures": {...}}.
"""

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-wachtwoord-2026"

# Share of the Dutch population per province (CBS, rounded): where facilitators live.
PROVINCE_WEIGHTS = {
    "zuid-holland": 21.3,
    "noord-holland": 16.6,
    "noord-brabant": 14.6,
    "gelderland": 12.1,
    "utrecht": 7.7,
    "overijssel": 6.6,
    "limburg": 6.3,
    "friesland": 3.7,
    "groningen": 3.4,
    "drenthe": 2.8,
    "flevoland": 2.4,
    "zeeland": 2.2,
}
NEIGHBOURS = {
    "groningen": ["friesland", "drenthe"],
    "friesland": ["groningen", "drenthe", "overijssel", "flevoland"],
    "drenthe": ["groningen", "friesland", "overijssel"],
    "overijssel": ["drenthe", "friesland", "flevoland", "gelderland"],
    "flevoland": ["noord-holland", "utrecht", "gelderland", "overijssel", "friesland"],
    "gelderland": [
        "overijssel",
        "flevoland",
        "utrecht",
        "zuid-holland",
        "noord-brabant",
        "limburg",
    ],
    "utrecht": ["noord-holland", "zuid-holland", "gelderland", "flevoland"],
    "noord-holland": ["utrecht", "zuid-holland", "flevoland"],
    "zuid-holland": ["noord-holland", "utrecht", "gelderland", "noord-brabant", "zeeland"],
    "zeeland": ["zuid-holland", "noord-brabant"],
    "noord-brabant": ["zeeland", "zuid-holland", "gelderland", "limburg"],
    "limburg": ["noord-brabant", "gelderland"],
}
LANGUAGE_SHARE = {
    "en": 0.55,
    "de": 0.15,
    "fr": 0.09,
    "ar": 0.06,
    "tr": 0.05,
    "fy": 0.03,
    "pl": 0.03,
    "es": 0.04,
    "pap": 0.015,
    "ber": 0.02,
    "uk": 0.01,
    "so": 0.005,
    "dse": 0.005,
}
SPECIALISATIONS = [
    "Jongeren",
    "Klimaat en energie",
    "Mobiliteit",
    "Wonen en ruimte",
    "Zorg en welzijn",
    "Laaggeletterdheid en toegankelijke taal",
    "Meertalige groepen",
    "Online beraadslaging",
    "Loting en werving",
]
TAGS = [
    "jongeren",
    "klimaat",
    "mobiliteit",
    "energie",
    "wonen",
    "zorg",
    "onderwijs",
    "landbouw",
    "stikstof",
    "water",
    "veiligheid",
    "armoede",
    "cultuur",
    "sport",
    "digitaal",
    "platteland",
    "binnenstad",
    "inclusie",
    "ouderen",
    "nieuwkomers",
]
TOPICS = [
    "klimaat",
    "energietransitie",
    "mobiliteit",
    "woningbouw",
    "jeugdzorg",
    "onderwijs",
    "stikstof",
    "waterbeheer",
    "armoede",
    "leefbaarheid",
    "windmolens",
    "zonneparken",
    "openbare ruimte",
    "gezondheid",
    "duurzaamheid",
    "digitalisering",
]
HEADLINES = [
    "Gespreksbegeleider voor burgerberaden over {t}",
    "Ervaren tafelbegeleider, thuis in {t}",
    "Procesbegeleider van inwonersberaden over {t} en {u}",
    "Begeleiding van grote groepen, met oog voor {t}",
    "Meertalige begeleiding van gesprekken over {t}",
]
BIO_SENTENCES = [
    "Ik begeleidde beraden in gemeenten en provincies over {t}.",
    "Mijn achtergrond ligt in {t}; ik zorg dat iedereen aan tafel gehoord wordt.",
    "Ik werk graag met inwoners die zelden meedoen, zoals jongeren en nieuwkomers.",
    "Ervaring met online en hybride bijeenkomsten en met het samenvatten van {u}.",
    "Daarnaast train ik ambtenaren in het voorbereiden van een burgerberaad over {t}.",
    "Ik houd van een goede voorbereiding en een heldere agenda.",
]
MUNICIPALITIES = ["Centrum", "Noord", "Oost", "Zuid", "West", "Dorp", "Stad"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# -- data ------------------------------------------------------------------------------------------
def generate(n: int, rng: random.Random, today: date):
    provinces, weights = zip(*PROVINCE_WEIGHTS.items(), strict=True)
    now = datetime.now(UTC)
    tables: dict[str, list[tuple]] = {
        "user": [],
        "user_role": [],
        "alumni_profile": [],
        "alumni_language": [],
        "alumni_travel_province": [],
        "alumni_profile_specialisation": [],
        "alumni_tag": [],
        "alumni_blocked_date": [],
        "qualification": [],
    }
    from werkzeug.security import generate_password_hash

    password_hash = generate_password_hash(PASSWORD, method="scrypt:2048:8:1")
    for i in range(1, n + 1):
        user_id = i
        tables["user"].append(
            (
                user_id,
                f"alumnus{i}@bench.example",
                f"Alumnus {i}",
                password_hash,
                now,
                f"s{i}",
                f"c{i}",
                "nl",
                True,
                now,
            )
        )
        tables["user_role"].append((user_id, "facilitator"))
        province = rng.choices(provinces, weights)[0]
        travel = rng.sample(
            NEIGHBOURS[province], k=min(len(NEIGHBOURS[province]), rng.choice([0, 1, 1, 2, 2, 3]))
        )
        topic, other = rng.sample(TOPICS, 2)
        headline = rng.choice(HEADLINES).format(t=topic, u=other)
        bio = " ".join(
            s.format(t=rng.choice(TOPICS), u=rng.choice(TOPICS))
            for s in rng.sample(BIO_SENTENCES, 3)
        )
        assemblies = min(int(rng.expovariate(1 / 2.5)), 60)
        sessions = assemblies * rng.randint(3, 9) + rng.randint(0, 10)
        years = min(int(rng.expovariate(1 / 5)), 40)
        roll = rng.random()
        published = roll < 0.92
        hidden = 0.92 <= roll < 0.94
        consented = published or hidden or rng.random() < 0.5
        confirmed = now - timedelta(days=rng.randint(0, 330 if rng.random() < 0.94 else 500))
        tables["alumni_profile"].append(
            (
                i,
                user_id,
                f"Alumnus {i}",
                headline,
                bio,
                province,
                rng.choice(MUNICIPALITIES),
                assemblies,
                sessions,
                years,
                rng.randint(0, 127),
                "2025-1" if consented else None,
                confirmed if consented else None,
                published and consented,
                confirmed if published else None,
                confirmed if published else None,
                hidden,
                "Bench" if hidden else None,
                0,
                now,
                now,
            )
        )
        tables["alumni_language"].append((i, "nl"))
        for code, share in LANGUAGE_SHARE.items():
            if rng.random() < share:
                tables["alumni_language"].append((i, code))
        for p in travel:
            tables["alumni_travel_province"].append((i, p))
        for spec_id in rng.sample(range(1, len(SPECIALISATIONS) + 1), k=rng.randint(0, 3)):
            tables["alumni_profile_specialisation"].append((i, spec_id))
        for tag in rng.sample(TAGS, k=rng.choice([0, 1, 1, 2, 3])):
            tables["alumni_tag"].append((i, tag))
        for day in {today + timedelta(days=rng.randint(0, 364)) for _ in range(rng.randint(0, 20))}:
            tables["alumni_blocked_date"].append((i, day))
        tables["qualification"].append((user_id, 1, now - timedelta(days=rng.randint(30, 2000))))
        if rng.random() < 0.2:
            tables["qualification"].append(
                (user_id, 2, now - timedelta(days=rng.randint(30, 2000)))
            )
    return tables


COLUMNS = {
    "user": (
        "id",
        "email",
        "name",
        "password_hash",
        "created_at",
        "session_token",
        "calendar_token",
        "locale",
        "is_active_account",
        "email_verified_at",
    ),
    "user_role": ("user_id", "role"),
    "alumni_profile": (
        "id",
        "user_id",
        "display_name",
        "headline",
        "bio",
        "province",
        "municipality",
        "assemblies_count",
        "sessions_count",
        "years_experience",
        "preferred_weekdays",
        "consent_version",
        "consented_at",
        "published",
        "published_at",
        "confirmed_at",
        "hidden_by_staff",
        "hidden_reason",
        "photo_version",
        "created_at",
        "updated_at",
    ),
    "alumni_language": ("profile_id", "language"),
    "alumni_travel_province": ("profile_id", "province"),
    "alumni_profile_specialisation": ("profile_id", "specialisation_id"),
    "alumni_tag": ("profile_id", "tag"),
    "alumni_blocked_date": ("profile_id", "day"),
    "qualification": ("user_id", "course_id", "completed_at"),
}


def load(db, tables) -> None:
    engine = db.engine
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for name, rows in tables.items():
                cols = COLUMNS[name]
                if name == "qualification":
                    rows = [(*r, "admin", r[2]) for r in rows]
                    cols = (*cols, "source", "created_at")
                with cursor.copy(f'COPY "{name}" ({", ".join(cols)}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            for table in ('"user"', "alumni_profile"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
            raw.commit()
            raw.driver_connection.autocommit = True
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would: index-only scans need it
        finally:
            raw.close()
    else:
        from sqlalchemy import insert

        for name, rows in tables.items():
            cols = COLUMNS[name]
            if name == "qualification":
                rows = [(*r, "admin", r[2]) for r in rows]
                cols = (*cols, "source", "created_at")
            table = db.metadata.tables[name]
            for start in range(0, len(rows), 20_000):
                db.session.execute(
                    insert(table),
                    [dict(zip(cols, r, strict=True)) for r in rows[start : start + 20_000]],
                )
        db.session.commit()


def seed_fixed_rows(db, n: int) -> int:
    """Courses, specialisations and one client to search as; returns the client's user id."""
    from bbtraining.alumni.models import Specialisation
    from bbtraining.auth.models import Organisation, User
    from bbtraining.courses.models import Course

    for i, (title, qualifies) in enumerate(
        (("Training gespreksbegeleiders", True), ("Masterclass procesbegeleiding", True)), start=1
    ):
        db.session.add(
            Course(
                id=i,
                slug=f"bench-{i}",
                title=title,
                kind="facilitator-training",
                audience="facilitators",
                delivery="open",
                qualifies_for_alumni=qualifies,
            )
        )
    for i, name in enumerate(SPECIALISATIONS, start=1):
        db.session.add(
            Specialisation(
                id=i, slug=re.sub(r"[^a-z]+", "-", name.lower()).strip("-"), name=name, position=i
            )
        )
    org = Organisation(name="Gemeente Bench", kind="gemeente")
    client = User(id=n + 1, email="client@bench.example", name="Bench Client", organisation=org)
    client.set_password(PASSWORD)
    client.add_role("client")
    db.session.add(client)
    db.session.commit()
    return client.id


# -- searches --------------------------------------------------------------------------------------
def search_mix(today: date) -> list[dict]:
    """Representative searches: as query parameters of /alumni/."""
    d = lambda days: (today + timedelta(days=days)).isoformat()  # noqa: E731
    dutch = lambda days: (today + timedelta(days=days)).strftime("%d-%m-%Y")  # noqa: E731
    return [
        {},
        {"province": "utrecht"},
        {"province": "zeeland"},
        {"language": ["ar"]},
        {"language": ["nl", "en"], "province": "noord-holland"},
        {"specialisation": "jongeren"},
        {"tag": "klimaat"},
        {"min_assemblies": 5},
        {"min_years": 10, "province": "gelderland"},
        {"q": "klimaat"},
        {"q": "energietransitie windmolens"},
        {"q": "jongeren", "province": "zuid-holland"},
        {"dates": f"{dutch(30)}, {dutch(37)}, {dutch(44)}"},
        {"date_from": d(60), "date_to": d(90)},
        {"province": "noord-brabant", "language": ["nl"], "dates": f"{dutch(14)}, {dutch(21)}"},
        {
            "province": "utrecht",
            "language": ["ar"],
            "date_from": d(20),
            "date_to": d(22),
            "min_assemblies": 2,
            "course": "1",
        },
        {
            "province": "limburg",
            "q": "duurzaamheid",
            "specialisation": "klimaat-en-energie",
            "dates": dutch(100),
        },
        {"course": "2", "min_assemblies": 3, "language": ["de"]},
        {"province": "friesland", "language": ["fy"], "page": 2},
        {"weekday": ["5"]},
        {"weekday": ["0", "2"], "province": "utrecht", "min_assemblies": 1},
        {"page": 40},
    ]


def to_criteria(params: dict):
    from bbtraining.alumni import search
    from bbtraining.alumni.forms import parse_dates

    return search.SearchCriteria(
        province=params.get("province"),
        languages=params.get("language", []),
        specialisation=params.get("specialisation"),
        tag=params.get("tag"),
        min_assemblies=params.get("min_assemblies"),
        min_years=params.get("min_years"),
        dates=parse_dates(params.get("dates", "")),
        date_from=date.fromisoformat(params["date_from"]) if "date_from" in params else None,
        date_to=date.fromisoformat(params["date_to"]) if "date_to" in params else None,
        course_id=int(params["course"]) if "course" in params else None,
        weekdays=[int(d) for d in params.get("weekday", [])],
        q=params.get("q", ""),
    )


def run_service(app, mix, rounds: int) -> tuple[list[float], int, list[int]]:
    from bbtraining.alumni import search
    from bbtraining.extensions import db

    timings, errors, totals = [], 0, []
    with app.app_context():
        for _ in range(rounds):
            for params in mix:
                start = time.perf_counter()
                try:
                    result = search.search(to_criteria(params), page=params.get("page", 1))
                    totals.append(result.total)
                except Exception as exc:  # a failing search is counted, not fatal
                    errors += 1
                    print(f"service error {params}: {exc}", file=sys.stderr)
                    db.session.rollback()
                timings.append((time.perf_counter() - start) * 1000)
                db.session.remove()
    return timings, errors, totals


def run_http(base: str, mix, rounds: int) -> tuple[list[float], int]:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/auth/login", timeout=30)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    login = session.post(
        f"{base}/auth/login",
        data={"email": "client@bench.example", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    if login.status_code != 302:
        raise SystemExit(f"login failed: {login.status_code}")
    timings, errors = [], 0
    for _ in range(rounds):
        for params in mix:
            url = f"{base}/alumni/?{urlencode(params, doseq=True)}"
            start = time.perf_counter()
            try:
                response = session.get(url, timeout=60)
                ok = response.status_code == 200 and "gevonden" in response.text
            except requests.RequestException:
                ok = False
            timings.append((time.perf_counter() - start) * 1000)
            if not ok:
                errors += 1
                print(f"http error {url}", file=sys.stderr)
    return timings, errors


def explain(app, mix) -> None:
    """EXPLAIN ANALYZE every statement a few searches run (to stderr), to check index use."""
    from sqlalchemy import event

    from bbtraining.alumni import search
    from bbtraining.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        captured: list[tuple[str, object]] = []

        def capture(_conn, _cursor, statement, parameters, _context, _many):
            if "alumni_profile" in statement and statement.lstrip().upper().startswith(
                ("SELECT", "WITH")
            ):
                captured.append((statement, parameters))

        for params in (mix[1], mix[9], mix[15]):
            captured.clear()
            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                search.search(to_criteria(params))
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            print(f"== search {params}", file=sys.stderr)
            raw = db.engine.raw_connection()
            try:
                cursor = raw.cursor()
                for statement, parameters in captured[:3]:  # counts and the page itself
                    cursor.execute("EXPLAIN ANALYZE " + statement, parameters)
                    print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)
                    print("--", file=sys.stderr)
            finally:
                raw.close()
            db.session.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="times the search mix runs per stack")
    parser.add_argument("--reset-any-database", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL, e.g. postgresql://postgres@127.0.0.1/bbt_alumni_bench")
    if "bench" not in url.rsplit("/", 1)[-1] and not args.reset_any_database:
        raise SystemExit("Refusing to empty a database whose name lacks 'bench'.")

    instance = tempfile.mkdtemp(prefix="bbt-bench-")
    os.environ.setdefault("BBTRAINING_INSTANCE", instance)
    os.environ.pop("REDIS_URL", None)
    import config
    from bbtraining import create_app
    from bbtraining.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=config._database_url())
    rng = random.Random(20260314)
    today = date.today()
    started = time.perf_counter()
    with app.app_context():
        db.drop_all()
        db.create_all()
        client_id = seed_fixed_rows(db, args.profiles)
        tables = generate(args.profiles, rng, today)
        load(db, tables)
        assert client_id
    load_seconds = time.perf_counter() - started
    print(f"loaded {args.profiles} profiles in {load_seconds:.1f} s", file=sys.stderr)

    mix = search_mix(today)
    if args.explain:
        explain(app, mix)
    run_service(app, mix, 1)  # warm caches
    service_ms, service_errors, totals = run_service(app, mix, args.rounds)
    print(f"result sizes: {sorted(set(totals))[:5]} .. {max(totals, default=0)}", file=sys.stderr)

    port = free_port()
    env = {
        **os.environ,
        "BBTRAINING_CONFIG": "testing",
        "BBTRAINING_INSTANCE": instance,
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": "bench-only-secret-key-of-sufficient-length",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        run_http(base, mix, 1)  # warm both workers
        http_ms, http_errors = run_http(base, mix, args.rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)

    figures = {
        "profiles": args.profiles,
        "queries": len(service_ms) + len(http_ms),
        "errors": service_errors + http_errors,
        "service_p50_ms": round(statistics.median(service_ms), 1),
        "service_p95_ms": round(percentile(service_ms, 95), 1),
        "http_p50_ms": round(statistics.median(http_ms), 1),
        "http_p95_ms": round(percentile(http_ms, 95), 1),
    }
    print(json.dumps({"name": "alumni_search", "figures": figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
