"""Counters that go up after every committed write, and pages kept under them.

The page caches (`page_cache` for the public catalog, `core.personal_cache` for the dashboard
and the alumni search) keep a rendered page under the *version* it was rendered with and serve
it only while that version is current. A version is a counter in Redis (without Redis, a file in
the instance folder), so every process sees the same one: web workers, the Celery worker, the
CLI. It goes up just after a transaction that wrote to the tables it watches commits. The engine
is watched, not the ORM, so bulk UPDATEs, plain SQL and autocommit connections count too.
"""

import fcntl
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# How long a thread waits for another thread of its worker that renders the same page.
RENDER_WAIT_SECONDS = 2.0

# A write whose table cannot be read off the statement (TRUNCATE, a CTE that writes, DDL):
# it counts as a write to every table.
EVERY_TABLE = "*"
_READ = re.compile(
    r"^\s*(?:SELECT|SHOW|EXPLAIN|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN)\b", re.IGNORECASE
)
_WITH = re.compile(r"^\s*WITH\b", re.IGNORECASE)
_WRITE_IN_WITH = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_TABLE = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE
)


def written_table(statement: str) -> str | None:
    """The table a statement writes to, EVERY_TABLE when that cannot be told, None for a read."""
    if _WITH.match(statement):
        return EVERY_TABLE if _WRITE_IN_WITH.search(statement) else None
    if _READ.match(statement):
        return None
    match = _TABLE.match(statement)
    return match.group(1).lower() if match else EVERY_TABLE


def is_write(statement: str) -> bool:
    return written_table(statement) is not None


class RedisVersion:
    """The version is read on every cached page, so each thread keeps a connection of its own
    and speaks to it directly: a third of the CPU of a pooled `GET` (bench/load.py)."""

    def __init__(self, url: str, key: str, timeout: float = 0.5):
        import redis

        self.key = key
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.connections = threading.local()

    # After a failure this process leaves Redis alone for a few seconds: when Redis hangs, each
    # try costs a whole socket timeout, and a page reads or bumps the version several times.
    REST_SECONDS = 5.0
    down_until = 0.0

    def _check_resting(self) -> None:
        if time.monotonic() < self.down_until:
            raise ConnectionError("Redis failed a moment ago; not asking again yet")

    def _failed(self) -> None:
        self.down_until = time.monotonic() + self.REST_SECONDS

    def current(self) -> int:
        self._check_resting()
        conn = getattr(self.connections, "conn", None)
        if conn is None:
            pool = self.client.connection_pool
            conn = self.connections.conn = pool.connection_class(**pool.connection_kwargs)
        try:
            conn.send_command("GET", self.key)
            value = conn.read_response()
        except Exception:
            conn.disconnect()
            self.connections.conn = None
            self._failed()
            raise
        return int(value) if value is not None else 0

    def bump(self) -> None:
        self._check_resting()
        try:
            self.client.incr(self.key)
        except Exception:
            self._failed()
            raise

    def forget_connections(self) -> None:
        self.connections = threading.local()  # the pool itself notices a fork


class FileVersion:
    """For a laptop without Redis: a counter in a file, locked while it is raised."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    def current(self) -> int:
        return int(self.path.read_text() or 0)

    def bump(self) -> None:
        with self.path.open("r+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            value = int(fh.read() or 0) + 1
            fh.seek(0)
            fh.write(str(value))
            fh.truncate()

    def forget_connections(self) -> None:
        pass


class VersionedPages:
    """Rendered pages of one worker, each kept under the version it was rendered with and for
    at most `seconds` (what changes with the clock alone); the least used go first."""

    def __init__(self, app: Flask, name: str, *, seconds: int, entries: int):
        self.name = name
        self.seconds = seconds
        self.entries = entries
        url = app.config.get("REDIS_URL")
        self.version = (
            RedisVersion(url, f"bbtraining:{name}-version", app.config["REDIS_SOCKET_TIMEOUT"])
            if url
            else FileVersion(Path(app.instance_path) / f"{name}-version")
        )
        self.pages: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self.lock = threading.Lock()
        # Pages being rendered in this worker: the other threads asking for the same page
        # wait for it rather than render it too (after a change, or when it expired).
        self.rendering: dict[tuple, threading.Event] = {}

    def current_version(self) -> int | None:
        try:
            return self.version.current()
        except Exception as exc:  # no version, no cache: better slow than stale
            log.warning("%s cache off for this request: %s", self.name, exc)
            return None

    def bump(self) -> None:
        try:
            self.version.bump()
        except Exception:
            # Pages stored before this change could be served until they expire: drop this
            # worker's at least, and say so.
            log.error("%s cache: could not raise the version", self.name, exc_info=True)
            self.clear()

    def forget_connections(self) -> None:
        self.version.forget_connections()

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()

    def get(self, key: tuple):
        with self.lock:
            entry = self.pages.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return entry[1]

    def put(self, key: tuple, page) -> None:
        with self.lock:
            self.pages[key] = (time.monotonic() + self.seconds, page)
            self.pages.move_to_end(key)
            while len(self.pages) > self.entries:
                self.pages.popitem(last=False)

    def claim(self, key: tuple) -> threading.Event | None:
        """None: this thread renders the page (and releases it); else the Event to wait on."""
        with self.lock:
            rendering = self.rendering.get(key)
            if rendering is None:
                self.rendering[key] = threading.Event()
            return rendering

    def release(self, key: tuple) -> None:
        with self.lock:
            rendering = self.rendering.pop(key, None)
        if rendering is not None:
            rendering.set()


# The engine's "commit" event comes just before the database commits. Listeners are called just
# after: at the session's "after_commit", or, for a connection used without the ORM session
# (engine.begin()), when the connection goes back to the pool; whichever comes first.
_pending = threading.local()


def on_committed_writes(
    engine,
    listener: Callable[[set[str]], None],
    classify: Callable[[str], str | None] = written_table,
) -> None:
    """Call `listener(tables)` in the committing thread after each transaction on `engine` that
    wrote to `tables` (EVERY_TABLE among them when a statement's table could not be told).
    `classify` tells the table a statement writes (None: it writes nothing that matters)."""
    written_key = ("written", id(listener))

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, statement, _params, _context, _executemany):
        table = classify(statement)
        if table is not None:
            conn.info.setdefault(written_key, set()).add(table)

    @event.listens_for(engine, "commit")
    def _committing(conn):
        _remember(listener, conn.info.pop(written_key, None))

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        tables = conn.info.pop(written_key, None)
        # In autocommit every statement was committed when it ran: nothing rolls back.
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            _remember(listener, tables)

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, _record):
        _call_pending()


def _remember(listener, tables: set[str] | None) -> None:
    if tables:
        pending = _pending.__dict__.setdefault("listeners", {})
        pending.setdefault(listener, set()).update(tables)


def _call_pending() -> None:
    pending = getattr(_pending, "listeners", None)
    if pending:
        _pending.listeners = {}
        for listener, tables in pending.items():
            listener(tables)


@event.listens_for(Session, "after_commit")
def _committed(_session) -> None:
    _call_pending()


__all__ = [
    "EVERY_TABLE",
    "VersionedPages",
    "is_write",
    "on_committed_writes",
    "written_table",
]
