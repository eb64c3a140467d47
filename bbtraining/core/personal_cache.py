"""Signed-in pages kept per person, dropped the moment any data changes.

The dashboard and the alumni search are asked for again and again by the same person while
nothing changed. A page marked with `personal_page` is stored under

    (data version, the login session's account id and session token, chosen language,
     Accept-Language, Accept, path with query)

and served only while the *data version* is still the one it was rendered under. The data
version is a counter in Redis (without Redis, a file in the instance folder) that goes up after
every commit that wrote to any table, from any process that runs this app: web workers, the
Celery worker, the CLI. The engine is watched, not the ORM, so bulk UPDATEs and plain SQL count
too. So:

- nobody is shown a page rendered before the last change was committed, whoever made it: the
  account, its roles and its session token included, so a page is only served again to a login
  session that the permission checks let in under the same version;
- a page is never shared between people, nor between two login sessions separated by a
  password change (the session token is in the key); the page's CSRF token is put back per
  request, as the public page cache does;
- what changes with the clock alone (a session starting, an offer or a profile's confirmation
  lapsing) is bounded by PERSONAL_CACHE_SECONDS; 0 switches the cache off.

Requests with a flash message waiting, or whose session Flask-Login's session protection would
mark (another address or browser), are rendered as usual; a page that showed a flash message is
not stored. Pages live in each worker's memory (PERSONAL_CACHE_ENTRIES per process). Writes made
outside the app (psql, another program) are not seen: change data through the app, or wait
PERSONAL_CACHE_SECONDS.
"""

import fcntl
import functools
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app, g, make_response, request, session
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db, login_manager

log = logging.getLogger(__name__)

REDIS_KEY = "bbtraining:data-version"
# How long a request waits for the same page another thread of its worker is rendering.
RENDER_WAIT_SECONDS = 2.0
# Stands in for the CSRF token in a stored page; NUL never reaches a template.
TOKEN_MARK = "\x00csrf\x00"  # noqa: S105 - a placeholder, not a secret
# Statements that cannot change data; anything else counts as a write.
_READ = re.compile(
    r"^\s*(?:SELECT|SHOW|EXPLAIN|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN)\b", re.IGNORECASE
)
_WITH = re.compile(r"^\s*WITH\b", re.IGNORECASE)
_WRITE_IN_WITH = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def is_write(statement: str) -> bool:
    if _WITH.match(statement):
        return bool(_WRITE_IN_WITH.search(statement))
    return not _READ.match(statement)


class RedisVersion:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def current(self) -> int:
        value = self.client.get(REDIS_KEY)
        return int(value) if value is not None else 0

    def bump(self) -> None:
        self.client.incr(REDIS_KEY)


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


class PersonalCache:
    def __init__(self, app: Flask):
        self.seconds = app.config.get("PERSONAL_CACHE_SECONDS", 10)
        self.entries = app.config.get("PERSONAL_CACHE_ENTRIES", 1024)
        url = app.config.get("REDIS_URL")
        self.version = (
            RedisVersion(url) if url else FileVersion(Path(app.instance_path) / "data-version")
        )
        self.pages: OrderedDict[tuple, tuple[float, str, str]] = OrderedDict()
        self.lock = threading.Lock()
        # Pages being rendered in this worker: the other threads asking for the same page
        # wait for it rather than render it too (after a change, or when it expired).
        self.rendering: dict[tuple, threading.Event] = {}

    def current_version(self) -> int | None:
        try:
            return self.version.current()
        except Exception as exc:  # no version, no cache: better slow than stale
            log.warning("personal page cache off for this request: %s", exc)
            return None

    def bump(self) -> None:
        try:
            self.version.bump()
        except Exception:
            # Pages stored before this change could now be served until they expire: drop
            # this worker's at least, and say so.
            log.error("personal page cache: could not raise the data version", exc_info=True)
            self.clear()

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()

    def get(self, key: tuple) -> tuple[str, str] | None:
        with self.lock:
            entry = self.pages.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return entry[1], entry[2]

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

    def put(self, key: tuple, body: str, content_type: str) -> None:
        with self.lock:
            self.pages[key] = (time.monotonic() + self.seconds, body, content_type)
            self.pages.move_to_end(key)
            while len(self.pages) > self.entries:
                self.pages.popitem(last=False)


def init_app(app: Flask) -> None:
    cache = PersonalCache(app)
    app.extensions["personal_cache"] = cache
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        _watch(engine, cache)


# The engine's "commit" event comes just before the database commits. The version goes up just
# after: at the session's "after_commit", or, for a connection used without the ORM session
# (engine.begin()), when the connection goes back to the pool. Whichever comes first raises it.
_pending = threading.local()


def _watch(engine, cache: PersonalCache) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, statement, _params, _context, _executemany):
        if is_write(statement):
            conn.info["data_changed"] = True

    @event.listens_for(engine, "commit")
    def _committing(conn):
        if conn.info.pop("data_changed", False):
            _pending.cache = cache

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        changed = conn.info.pop("data_changed", False)
        # In autocommit every statement was committed when it ran: nothing rolls back.
        if changed and conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            _pending.cache = cache

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, _record):
        _raise_pending()


def _raise_pending() -> None:
    cache = getattr(_pending, "cache", None)
    if cache is not None:
        _pending.cache = None
        cache.bump()


@event.listens_for(Session, "after_commit")
def _committed(_session) -> None:
    _raise_pending()


def _same_browser() -> bool:
    """Flask-Login's session protection would pass this session without a change: it comes
    from the browser (address and user agent) that signed in."""
    return session.get("_id") == login_manager._session_identifier_generator()


def _cache_for_request() -> "PersonalCache | None":
    cache: PersonalCache | None = current_app.extensions.get("personal_cache")
    if (
        cache is None
        or cache.seconds <= 0
        or request.method != "GET"
        or not session.get("_user_id")
        or session.get("_flashes")
        or not _same_browser()
    ):
        return None
    return cache


def personal_page(view: Callable) -> Callable:
    """Serve this signed-in view's page from the person's cache (see the module's doc).

    Put it right under the route, above the decorators that check who may see the page: a
    page is only stored after they let this person in, and only this person's login session
    (under the same data version, so with the same account, roles and session token) gets it
    back, without the database being asked again.
    """

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        cache = _cache_for_request()
        if cache is None:
            return view(*args, **kwargs)
        # The version is read before anything else, the signed-in user included: whatever a
        # request reads afterwards is at least as new as the version it is stored under.
        version = cache.current_version()
        if version is None:
            return view(*args, **kwargs)
        cookie_id = session["_user_id"]  # the account's id and session token
        key = (
            version,
            cookie_id,
            session.get("lang"),
            request.headers.get("Accept-Language", ""),
            request.headers.get("Accept", ""),
            request.full_path,
        )
        entry = cache.get(key)
        claimed = False
        if entry is None:
            rendering = cache.claim(key)
            claimed = rendering is None
            if rendering is not None:
                rendering.wait(RENDER_WAIT_SECONDS)
                entry = cache.get(key)
        if entry is not None:
            body, content_type = entry
            response = make_response(body.replace(TOKEN_MARK, generate_csrf()), 200)
            response.headers["Content-Type"] = content_type
            response.headers["X-Personal-Cache"] = "hit"
            return response
        try:
            response = make_response(view(*args, **kwargs))
            if (
                response.status_code == 200
                and response.mimetype == "text/html"
                and not response.direct_passthrough
                and not request_ctx.flashes  # a message shown once must not be shown again
                and set(response.headers.keys()) <= {"Content-Type", "Content-Length"}
                and current_user.is_authenticated
                and current_user.get_id() == cookie_id
            ):
                token = g.get("csrf_token") or generate_csrf()
                body = response.get_data(as_text=True).replace(token, TOKEN_MARK)
                cache.put(key, body, response.headers["Content-Type"])
        finally:
            if claimed:
                cache.release(key)
        return response

    return wrapped


__all__ = ["init_app", "is_write", "personal_page"]
