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

Every search in the timed runs is distinct (each kind of search gets other values per round and
per stack), and the HTTP server runs with the page cache and the personal page cache off, so the
figures measure the search, not a cache. --reuse keeps the seeded profiles between runs (it seeds
again when the schema, the size or the day changed); --explain prints EXPLAIN (ANALYZE, BUFFERS)
of the statements of the slowest kinds of search, and the timings per kind, to stderr.
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

    from bbtraining.alumni.models import LANGUAGE_CODES, PROVINCE_CODES, code_mask

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
        languages = ["nl"] + [
            code for code, share in LANGUAGE_SHARE.items() if rng.random() < share
        ]
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
                code_mask(travel, PROVINCE_CODES),
                code_mask(languages, LANGUAGE_CODES),
            )
        )
        for code in languages:
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
        "travel_mask",
        "language_mask",
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
PROVINCES = list(PROVINCE_WEIGHTS)
RARE_LANGUAGES = ["ar", "tr", "fy", "pl", "es", "pap", "ber", "uk", "so", "dse", "fr", "de"]
SPEC_SLUGS = [re.sub(r"[^a-z]+", "-", name.lower()).strip("-") for name in SPECIALISATIONS]


def search_kinds(today: date) -> dict[str, object]:
    """Each kind of search as a function of a variant number: representative query parameters
    of /alumni/, different for every variant (so no two timed searches are the same)."""
    d = lambda days: (today + timedelta(days=days)).isoformat()  # noqa: E731
    dutch = lambda days: (today + timedelta(days=days)).strftime("%d-%m-%Y")  # noqa: E731
    pick = lambda items, v: items[v % len(items)]  # noqa: E731
    # Past the length of a list the page number changes, so a variant stays distinct.
    page = lambda items, v: 1 + v // len(items)  # noqa: E731
    return {
        "all": lambda v: {"page": 1 + v},
        "province": lambda v: {"province": pick(PROVINCES, v), "page": page(PROVINCES, v)},
        "language": lambda v: {
            "language": [pick(RARE_LANGUAGES, v)],
            "page": page(RARE_LANGUAGES, v),
        },
        "languages_province": lambda v: {
            "language": ["nl", pick(["en", "de", "fr", "es"], v)],
            "province": pick(PROVINCES, v + 3),
        },
        "specialisation": lambda v: {
            "specialisation": pick(SPEC_SLUGS, v),
            "page": page(SPEC_SLUGS, v),
        },
        "tag": lambda v: {"tag": pick(TAGS, v), "page": page(TAGS, v)},
        "min_assemblies": lambda v: {"min_assemblies": 2 + v},
        "min_years_province": lambda v: {"min_years": 5 + v % 10, "province": pick(PROVINCES, v)},
        "text": lambda v: {"q": pick(TOPICS, v), "page": page(TOPICS, v)},
        "text_two_words": lambda v: {"q": f"{pick(TOPICS, v)} {pick(TOPICS, v + 5)}"},
        "text_province": lambda v: {"q": pick(TOPICS, v + 2), "province": pick(PROVINCES, v)},
        "dates": lambda v: {"dates": f"{dutch(30 + v)}, {dutch(37 + v)}, {dutch(44 + v)}"},
        "date_range": lambda v: {"date_from": d(60 + v), "date_to": d(90 + v)},
        "province_language_dates": lambda v: {
            "province": pick(PROVINCES, v + 7),
            "language": ["nl"],
            "dates": f"{dutch(14 + v)}, {dutch(21 + v)}",
        },
        "combined": lambda v: {
            "province": pick(PROVINCES, v),
            "language": [pick(["ar", "en", "de", "tr"], v)],
            "date_from": d(20 + v),
            "date_to": d(22 + v),
            "min_assemblies": 2,
            "course": "1",
        },
        "text_specialisation_date": lambda v: {
            "province": pick(PROVINCES, v + 1),
            "q": pick(TOPICS, v + 9),
            "specialisation": pick(SPEC_SLUGS, v),
            "dates": dutch(100 + v),
        },
        "course_language": lambda v: {
            "course": "2",
            "min_assemblies": 1 + v % 5,
            "language": [pick(["de", "en", "fr"], v)],
        },
        "province_language_page": lambda v: {
            "province": pick(PROVINCES, v),
            "language": ["fy" if v % 2 == 0 else "en"],
            "page": 2 + v // len(PROVINCES),
        },
        "weekday": lambda v: {"weekday": [str(v % 7)], "page": 1 + v // 7},
        "weekdays_province": lambda v: {
            "weekday": [str(v % 7), str((v + 2) % 7)],
            "province": pick(PROVINCES, v),
            "min_assemblies": 1,
        },
        "deep_page": lambda v: {"page": 40 + 13 * v},
        "deep_page_province": lambda v: {"province": pick(PROVINCES, v), "page": 20 + v},
    }


def search_mix(today: date, variant: int) -> list[tuple[str, dict]]:
    """One search of every kind, as (kind, query parameters); other variants, other values."""
    return [(kind, make(variant)) for kind, make in search_kinds(today).items()]


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


def run_service(app, mixes) -> tuple[list[tuple[str, float]], int, list[int]]:
    from bbtraining.alumni import search
    from bbtraining.extensions import db

    timings, errors, totals = [], 0, []
    with app.app_context():
        for mix in mixes:
            for kind, params in mix:
                start = time.perf_counter()
                try:
                    result = search.search(to_criteria(params), page=params.get("page", 1))
                    totals.append(result.total)
                except Exception as exc:  # a failing search is counted, not fatal
                    errors += 1
                    print(f"service error {params}: {exc}", file=sys.stderr)
                    db.session.rollback()
                timings.append((kind, (time.perf_counter() - start) * 1000))
                db.session.remove()
    return timings, errors, totals


def run_http(base: str, mixes) -> tuple[list[tuple[str, float]], int]:
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
    for mix in mixes:
        for kind, params in mix:
            url = f"{base}/alumni/?{urlencode(params, doseq=True)}"
            start = time.perf_counter()
            try:
                response = session.get(url, timeout=60)
                ok = response.status_code == 200 and "gevonden" in response.text
            except requests.RequestException:
                ok = False
            timings.append((kind, (time.perf_counter() - start) * 1000))
            if not ok:
                errors += 1
                print(f"http error {url}", file=sys.stderr)
    return timings, errors


def per_kind(timings: list[tuple[str, float]]) -> dict[str, float]:
    """The slowest time of each kind of search, slowest kind first."""
    worst: dict[str, float] = {}
    for kind, ms in timings:
        worst[kind] = max(worst.get(kind, 0.0), ms)
    return dict(sorted(worst.items(), key=lambda item: -item[1]))


def explain(app, searches: list[tuple[str, dict]]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) every statement these searches run on the profiles (stderr)."""
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

        for kind, params in searches:
            captured.clear()
            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                search.search(to_criteria(params), page=params.get("page", 1))
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            print(f"== {kind}: {params}", file=sys.stderr)
            raw = db.engine.raw_connection()
            try:
                cursor = raw.cursor()
                for statement, parameters in captured:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)
                    print("--", file=sys.stderr)
            finally:
                raw.close()
            db.session.remove()


# -- seeding, kept between runs with --reuse ---------------------------------------------------
SEED_TABLE = "bench_alumni_seed"
SEED_VERSION = 3  # raise when generate() changes what it makes


def seed_fingerprint(db, profiles: int, today: date) -> str:
    """What the seeded data depends on: the schema (tables and indexes), the size, the day."""
    import hashlib

    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = db.engine.dialect
    ddl = []
    for table in db.metadata.sorted_tables:
        ddl.append(str(CreateTable(table).compile(dialect=dialect)))
        # table.indexes is a set: sorted, so the fingerprint is the same in every process.
        ddl.extend(sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes))
    text = "\n".join([*ddl, str(profiles), today.isoformat(), str(SEED_VERSION)])
    return hashlib.sha256(text.encode()).hexdigest()


def seeded_fingerprint(db) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(db.engine).has_table(SEED_TABLE):
        return None
    return db.session.scalar(text(f"SELECT fingerprint FROM {SEED_TABLE}"))  # noqa: S608


def seed(db, profiles: int, rng: random.Random, today: date, fingerprint: str) -> None:
    from sqlalchemy import text

    db.session.execute(text(f"DROP TABLE IF EXISTS {SEED_TABLE}"))
    db.session.commit()
    db.drop_all()
    db.create_all()
    client_id = seed_fixed_rows(db, profiles)
    load(db, generate(profiles, rng, today))
    assert client_id
    db.session.execute(text(f"CREATE TABLE {SEED_TABLE} (fingerprint varchar(64) NOT NULL)"))
    db.session.execute(text(f"INSERT INTO {SEED_TABLE} VALUES (:f)"), {"f": fingerprint})  # noqa: S608
    db.session.commit()


def vacuum(db) -> None:
    """VACUUM ANALYZE the profiles on a connection of its own, with no other transaction of ours
    open, as autovacuum would: until the visibility map is set, PostgreSQL cannot count from
    an index alone and scans the table instead."""
    if db.engine.dialect.name != "postgresql":
        return
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        cursor = raw.cursor()
        for table in (
            "alumni_profile",
            "alumni_language",
            "alumni_travel_province",
            "alumni_tag",
            "alumni_blocked_date",
            "alumni_profile_specialisation",
            "qualification",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        raw.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of the search mix per stack (each distinct)"
    )
    parser.add_argument("--reset-any-database", action="store_true")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the profiles seeded by an earlier run (same schema, size and day)",
    )
    parser.add_argument(
        "--explain",
        type=int,
        nargs="?",
        const=4,
        default=0,
        metavar="KINDS",
        help="EXPLAIN (ANALYZE, BUFFERS) the slowest kinds of search (default 4) to stderr",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL, e.g. postgresql://postgres@127.0.0.1/bbt_alumni_bench")
    if "bench" not in url.rsplit("/", 1)[-1] and not args.reset_any_database:
        raise SystemExit("Refusing to empty a database whose name lacks 'bench'.")

    instance = tempfile.mkdtemp(prefix="bbt-bench-")
    os.environ.setdefault("BBTRAINING_INSTANCE", instance)
    os.environ.pop("REDIS_URL", None)
    # Measure the search, not the caches: both page caches off, here and in gunicorn.
    os.environ["PAGE_CACHE_SECONDS"] = "0"
    os.environ["PERSONAL_CACHE_SECONDS"] = "0"
    import config
    from bbtraining import create_app
    from bbtraining.extensions import db

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=config._database_url(),
        PAGE_CACHE_SECONDS=0,
        PERSONAL_CACHE_SECONDS=0,
    )
    rng = random.Random(20260314)
    today = date.today()
    started = time.perf_counter()
    with app.app_context():
        fingerprint = seed_fingerprint(db, args.profiles, today)
        if args.reuse and seeded_fingerprint(db) == fingerprint:
            print(f"reusing the {args.profiles} seeded profiles", file=sys.stderr)
        else:
            seed(db, args.profiles, rng, today, fingerprint)
            print(
                f"loaded {args.profiles} profiles in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
        db.session.remove()
        vacuum(db)

    # Variant numbers: the service warm-up, the service rounds, the HTTP warm-up and the HTTP
    # rounds each get their own, so no search repeats within or across the timed runs.
    variants = iter(range(2 * args.rounds + 2))
    service_warm = [search_mix(today, next(variants))]
    service_mixes = [search_mix(today, next(variants)) for _ in range(args.rounds)]
    http_warm = [search_mix(today, next(variants))]
    http_mixes = [search_mix(today, next(variants)) for _ in range(args.rounds)]

    run_service(app, service_warm)
    service_timed, service_errors, totals = run_service(app, service_mixes)
    service_ms = [ms for _, ms in service_timed]
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
        run_http(base, http_warm)  # warm both workers
        http_timed, http_errors = run_http(base, http_mixes)
    finally:
        server.terminate()
        server.wait(timeout=30)
    http_ms = [ms for _, ms in http_timed]

    service_worst, http_worst = per_kind(service_timed), per_kind(http_timed)
    print("slowest per kind (ms): service / http", file=sys.stderr)
    for kind, ms in service_worst.items():
        print(f"  {kind:28} {ms:8.1f} {http_worst.get(kind, 0):8.1f}", file=sys.stderr)
    if args.explain:
        by_kind = {kind: params for kind, params in service_mixes[0]}
        explain(app, [(kind, by_kind[kind]) for kind in list(service_worst)[: args.explain]])

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
