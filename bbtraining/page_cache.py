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
back per visitor. The pages live in each worker's memory (PAGE_CACHE_ENTRIES per process) and
are answered by `FrontDoor` in front of Flask, so a hit costs about what a hello-world request
costs; the view decorator `cached_page` only decides what is kept.
"""

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
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
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Request, Response

from .extensions import db, limiter, locale_from

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
    """The version is read on every cached page, so each thread keeps a connection of its own
    and speaks to it directly: a third of the cost of a pooled `GET` (bench/load.py)."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.connections = threading.local()

    def current(self) -> int | None:
        conn = getattr(self.connections, "conn", None)
        if conn is None:
            pool = self.client.connection_pool
            conn = self.connections.conn = pool.connection_class(**pool.connection_kwargs)
        try:
            conn.send_command("GET", REDIS_KEY)
            value = conn.read_response()
        except Exception:
            conn.disconnect()
            self.connections.conn = None
            raise
        return int(value) if value is not None else 0

    def bump(self) -> None:
        self.client.incr(REDIS_KEY)

    def forget_connections(self) -> None:
        self.connections = threading.local()  # the pool itself notices a fork


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
        self.pages: OrderedDict[tuple, tuple[float, int, list[bytes], list]] = OrderedDict()
        self.lock = threading.Lock()

    def forget_connections(self) -> None:
        if isinstance(self.version, RedisVersion):
            self.version.forget_connections()

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

    def put(self, key: tuple, status: int, parts: list[bytes], headers: list) -> None:
        with self.lock:
            self.pages[key] = (time.monotonic() + self.seconds, status, parts, headers)
            self.pages.move_to_end(key)
            while len(self.pages) > self.entries:
                self.pages.popitem(last=False)


def init_app(app: Flask) -> None:
    cache = PageCache(app)
    app.extensions["page_cache"] = cache
    app.wsgi_app = FrontDoor(app, app.wsgi_app, cache)
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
    """Keep this page for anonymous visitors; `FrontDoor` serves it (see the module's doc)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not _cacheable():
            return view(*args, **kwargs)
        cache: PageCache = current_app.extensions["page_cache"]
        version = cache.current_version()  # read before the data: see the module's doc
        if version is None:
            return view(*args, **kwargs)
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and response.mimetype == "text/html":
            token = g.get("csrf_token") or generate_csrf()
            body = response.get_data(as_text=True).replace(token, TOKEN_MARK)
            key = page_key(request.environ, version, get_locale().language)
            # Stored by FrontDoor once the response's final headers are known.
            request.environ[STORE_KEY] = (key, body.encode().split(TOKEN_MARK.encode()))
        return response

    wrapped.page_cached = True
    return wrapped


def page_key(environ: dict, version: int, locale: str) -> tuple:
    return (
        version,
        locale,
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HOST"),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )


STORE_KEY = "bbtraining.page_cache.store"
# What a stored page must not repeat: it belongs to the visitor it was rendered for, or is
# recomputed for the body sent.
_NOT_STORED = frozenset({"set-cookie", "content-length"})


class FrontDoor:
    """WSGI middleware that answers a stored page before Flask runs.

    A hit costs about what a hello-world request costs: no routing, no request context, no
    database. It still does per visitor what Flask would: read the signed session cookie with
    Flask's own session interface, pass on anyone signed in (or with a remember-me cookie, or a
    flash message waiting), pick the language as `select_locale` does, and sign this visitor's
    CSRF token into the page (giving a new visitor a session and token, as Flask-WTF would).

    What a Cookie header says is the same every time it comes (the session in it is signed), so
    that is worked out once per worker and kept for VISITOR_SECONDS; a returning visitor's hit
    is then a few dictionary lookups and the catalog version.
    """

    VISITOR_SECONDS = 60
    VISITORS = 4096

    def __init__(self, app: Flask, wsgi_app, cache: PageCache):
        self.app = app
        self.wsgi_app = wsgi_app
        self.cache = cache
        self.sessions = app.session_interface
        self.remember_cookie = app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        self.languages = app.config["LANGUAGES"]
        self.default_locale = app.config["BABEL_DEFAULT_LOCALE"]
        self.token_field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.token_signer = URLSafeTimedSerializer(
            app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key, salt="wtf-csrf-token"
        )
        # Cookie header -> (kept until, the session's language, signed CSRF token), or None for
        # a visitor Flask must see.
        self.visitors: dict[str, tuple[float, str | None, bytes] | None] = {}
        self.browser_languages: dict[str, str] = {}

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "GET" and self.cache.pages:
            cookie_header = environ.get("HTTP_COOKIE")
            if cookie_header:
                answered = self.answer_returning_visitor(environ, start_response, cookie_header)
            else:
                answered = self.answer_new_visitor(environ, start_response)
            if answered is not None:
                return answered
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        stored = environ.get(STORE_KEY)
        if stored is not None and captured.get("status", "").startswith("200"):
            key, parts = stored
            headers = [(k, v) for k, v in captured["headers"] if k.lower() not in _NOT_STORED]
            self.cache.put(key, 200, parts, headers)
        return result

    def answer_returning_visitor(self, environ, start_response, cookie_header: str):
        now = time.monotonic()
        known = self.visitors.get(cookie_header, False)
        if known is False or (known is not None and known[0] < now):
            known = self.visitor(Request(environ), now)
            if len(self.visitors) >= self.VISITORS:
                # The oldest goes; another thread may be changing the dict meanwhile.
                with contextlib.suppress(RuntimeError, StopIteration):
                    self.visitors.pop(next(iter(self.visitors)), None)
            self.visitors[cookie_header] = known
        if known is None:
            return None
        _until, session_language, token = known
        entry = self.stored_page(environ, session_language)
        if entry is None:
            return None
        _expires, status, parts, headers = entry
        body = token.join(parts)
        start_response(
            "200 OK",
            [*headers, ("Content-Length", str(len(body))), ("X-Page-Cache", "hit")],
        )
        return [body]

    def visitor(self, request: Request, now: float):
        """The session behind a Cookie header, if its pages may come from the cache."""
        if self.remember_cookie in request.cookies:
            return None
        visitor = self.sessions.open_session(self.app, request)
        if not visitor or "_user_id" in visitor or visitor.get("_flashes"):
            return None  # no session (or a forged one) gets one from Flask
        if not isinstance(visitor.get(self.token_field), str):
            return None
        token = self.token_signer.dumps(visitor[self.token_field]).encode()
        return (now + self.VISITOR_SECONDS, visitor.get("lang"), token)

    def answer_new_visitor(self, environ, start_response):
        """A first page: a session with a CSRF token comes with it, as Flask-WTF would give."""
        entry = self.stored_page(environ, None)
        if entry is None:
            return None
        _expires, status, parts, headers = entry
        visitor = self.sessions.session_class()
        visitor[self.token_field] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as Flask-WTF
        token = self.token_signer.dumps(visitor[self.token_field]).encode()
        response = Response(token.join(parts), status, headers)
        response.headers["X-Page-Cache"] = "hit"
        self.sessions.save_session(self.app, visitor, response)
        return response(environ, start_response)

    def stored_page(self, environ, session_language: str | None):
        version = self.cache.current_version()
        if version is None:
            return None
        return self.cache.get(page_key(environ, version, self.locale(session_language, environ)))

    def locale(self, session_language: str | None, environ) -> str:
        if session_language in self.languages:
            return session_language
        header = environ.get("HTTP_ACCEPT_LANGUAGE", "")
        chosen = self.browser_languages.get(header)
        if chosen is None:
            if len(self.browser_languages) > 256:
                self.browser_languages.clear()
            chosen = self.browser_languages[header] = locale_from(
                None,
                parse_accept_header(header, LanguageAccept),
                self.languages,
                self.default_locale,
            )
        return chosen


__all__ = ["CATALOG_TABLES", "cached_page", "init_app"]
