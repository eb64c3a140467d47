"""Rendered public catalog pages for anonymous visitors, dropped the moment catalog data changes.

A cached page is served only while the *catalog version* is the one it was rendered under. The
version is a counter in Redis (or, without Redis, in a file in the instance folder) that goes up
after every commit that wrote to a catalog table, from any process: the web workers, the Celery
worker, the CLI. The engine is watched, not the ORM, so bulk UPDATEs (seats taken) and raw SQL
count too. Seats left, prices and publication state are therefore never served stale after the
change is committed. What changes with the clock alone (an edition starting, an enrollment
deadline passing) is bounded by PAGE_CACHE_SECONDS.

Only GET requests from visitors who are not signed in and have no flash message waiting are
served from the cache; the page's CSRF token (in the meta tag and the language switch) is put
back per visitor. The pages live in each worker's memory (PAGE_CACHE_ENTRIES per process).
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
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db, limiter

log = logging.getLogger(__name__)

# What the public catalog pages show: courses and their phases, editions, sessions, trainers.
CATALOG_TABLES = frozenset(
    {
        "course",
        "course_phase",
        "edition",
        "edition_trainer",
        "training_session",
        "user",
        "user_role",
    }
)
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_TRUNCATE = re.compile(r"^\s*TRUNCATE\b", re.IGNORECASE)
# Stands in for the visitor's CSRF token in a stored page; NUL never reaches a template.
TOKEN_MARK = "\x00csrf\x00"  # noqa: S105 - a placeholder, not a secret
REDIS_KEY = "bbtraining:catalog-version"


class RedisVersion:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def current(self) -> int | None:
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

    def current(self) -> int | None:
        return int(self.path.read_text() or 0)

    def bump(self) -> None:
        with self.path.open("r+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            value = int(fh.read() or 0) + 1
            fh.seek(0)
            fh.write(str(value))
            fh.truncate()


class PageCache:
    def __init__(self, app: Flask):
        self.seconds = app.config.get("PAGE_CACHE_SECONDS", 60)
        self.entries = app.config.get("PAGE_CACHE_ENTRIES", 512)
        url = app.config.get("REDIS_URL")
        self.version = (
            RedisVersion(url) if url else FileVersion(Path(app.instance_path) / "catalog-version")
        )
        self.pages: OrderedDict[tuple, tuple[float, int, str, dict]] = OrderedDict()
        self.lock = threading.Lock()

    def current_version(self) -> int | None:
        try:
            return self.version.current()
        except Exception as exc:  # no version, no cache: better slow than stale
            log.warning("page cache off for this request: %s", exc)
            return None

    def bump(self) -> None:
        try:
            self.version.bump()
        except Exception:  # the page TTL bounds what stays stale
            log.error("page cache: could not raise the catalog version", exc_info=True)

    def get(self, key: tuple):
        with self.lock:
            entry = self.pages.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return entry

    def put(self, key: tuple, status: int, body: str, headers: dict) -> None:
        with self.lock:
            self.pages[key] = (time.monotonic() + self.seconds, status, body, headers)
            self.pages.move_to_end(key)
            while len(self.pages) > self.entries:
                self.pages.popitem(last=False)


def init_app(app: Flask) -> None:
    cache = PageCache(app)
    app.extensions["page_cache"] = cache
    # Cached pages are public GET pages without rate limits; spare them the limiter's lookups.
    if _is_cached_view not in getattr(limiter, "_request_filters", []):
        limiter.request_filter(_is_cached_view)
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        _watch(engine, cache)


# The engine's "commit" event comes just before the database commits; the session's
# "after_commit" just after. The first notes that a catalog table was written, the second
# raises the version, in the same thread.
_pending = threading.local()


def _watch(engine, cache: PageCache) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, statement, _params, _context, _executemany):
        match = _WRITE.match(statement)
        if (match and match.group(1).lower() in CATALOG_TABLES) or _TRUNCATE.match(statement):
            conn.info["catalog_changed"] = True

    @event.listens_for(engine, "commit")
    def _committing(conn):
        if conn.info.pop("catalog_changed", False):
            _pending.cache = cache

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        conn.info.pop("catalog_changed", None)


@event.listens_for(Session, "after_commit")
def _committed(_session) -> None:
    # After the commit: a page rendered from the old rows is kept under the old version.
    cache = getattr(_pending, "cache", None)
    if cache is not None:
        _pending.cache = None
        cache.bump()


@event.listens_for(Session, "after_rollback")
def _rolled_back_session(_session) -> None:
    _pending.cache = None


def _cacheable() -> bool:
    return (
        request.method == "GET"
        and not current_user.is_authenticated
        and not session.get("_flashes")
        and current_app.extensions["page_cache"].seconds > 0
    )


def _is_cached_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "page_cached", False)


def cached_page(view: Callable) -> Callable:
    """Serve this view's page from the cache to anonymous visitors (see the module's doc)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not _cacheable():
            return view(*args, **kwargs)
        cache: PageCache = current_app.extensions["page_cache"]
        version = cache.current_version()  # read before the data: see the module's doc
        if version is None:
            return view(*args, **kwargs)
        key = (version, str(get_locale()), request.full_path)
        entry = cache.get(key)
        if entry is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.mimetype != "text/html":
                return response
            token = g.get("csrf_token") or generate_csrf()
            body = response.get_data(as_text=True).replace(token, TOKEN_MARK)
            keep = {"Content-Type": response.headers["Content-Type"]}
            cache.put(key, response.status_code, body, keep)
            return response
        _expires, status, body, headers = entry
        response = make_response(body.replace(TOKEN_MARK, generate_csrf()), status, headers)
        response.headers["X-Page-Cache"] = "hit"
        return response

    wrapped.page_cached = True
    return wrapped


__all__ = ["CATALOG_TABLES", "cached_page", "init_app"]
