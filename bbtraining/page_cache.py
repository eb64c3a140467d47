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
import functools
import re
import secrets
import time
from collections.abc import Callable

from flask import Flask, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Request, Response

from .data_versions import (
    EVERY_TABLE,
    RENDER_WAIT_SECONDS,
    VersionedPages,
    on_committed_writes,
    written_table,
)
from .extensions import db, limiter, locale_from

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
# Columns of "user" that no catalog page shows: a sign-in (last_login_at) must not drop them all.
USER_COLUMNS_NOT_SHOWN = frozenset(
    {
        "last_login_at",
        "password_hash",
        "session_token",
        "calendar_token",
        "email_verified_at",
        "locale",
        "phone",
    }
)
_USER_UPDATE = re.compile(
    r'^\s*UPDATE\s+"?user"?\s+SET\s+(.*?)\s+WHERE\s', re.IGNORECASE | re.DOTALL
)


def catalog_write(statement: str) -> str | None:
    """The table a statement writes, as `written_table` tells, but None for an UPDATE of
    accounts that only sets columns no catalog page shows."""
    update = _USER_UPDATE.match(statement)
    if update is not None:
        columns = {part.split("=", 1)[0].strip().strip('"') for part in update.group(1).split(",")}
        if columns <= USER_COLUMNS_NOT_SHOWN:
            return None
    return written_table(statement)


# Stands in for the visitor's CSRF token in a stored page; NUL never reaches a template.
TOKEN_MARK = "\x00csrf\x00"  # noqa: S105 - a placeholder, not a secret


class PageCache(VersionedPages):
    def __init__(self, app: Flask):
        super().__init__(
            app,
            "catalog",
            seconds=app.config.get("PAGE_CACHE_SECONDS", 60),
            entries=app.config.get("PAGE_CACHE_ENTRIES", 512),
        )

    def catalog_written(self, tables: set[str]) -> None:
        if EVERY_TABLE in tables or tables & CATALOG_TABLES:
            self.bump()


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
        # After the commit: a page rendered from the old rows is kept under the old version.
        on_committed_writes(engine, cache.catalog_written, classify=catalog_write)


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
        key = page_key(request.environ, version, get_locale().language)
        # After a change every thread of a worker would render the same page at once: one
        # renders, the others wait for its page (FrontDoor releases them once it is stored).
        rendering = cache.claim(key)
        if rendering is not None:
            rendering.wait(RENDER_WAIT_SECONDS)
            stored = cache.get(key)
            if stored is None:
                return view(*args, **kwargs)
            status, parts, headers = stored
            response = make_response(generate_csrf().encode().join(parts), status, headers)
            response.headers["X-Page-Cache"] = "hit"
            return response
        request.environ[CLAIMED_KEY] = key
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and response.mimetype == "text/html":
            token = g.get("csrf_token") or generate_csrf()
            body = response.get_data(as_text=True).replace(token, TOKEN_MARK)
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
CLAIMED_KEY = "bbtraining.page_cache.claimed"
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

        try:
            result = self.wsgi_app(environ, capture)
            stored = environ.get(STORE_KEY)
            if stored is not None and captured.get("status", "").startswith("200"):
                key, parts = stored
                headers = [(k, v) for k, v in captured["headers"] if k.lower() not in _NOT_STORED]
                self.cache.put(key, (200, parts, headers))
        finally:
            if CLAIMED_KEY in environ:
                self.cache.release(environ[CLAIMED_KEY])
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
        _status, parts, headers = entry
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
        status, parts, headers = entry
        if len(parts) == 1:
            # No token in the page (a public page, bbtraining/http_cache.py): nothing of this
            # visitor's to give, so no session either; as cheap as a returning visitor's hit.
            body = parts[0]
            start_response(
                "200 OK",
                [*headers, ("Content-Length", str(len(body))), ("X-Page-Cache", "hit")],
            )
            return [body]
        visitor = self.sessions.session_class()
        # 40 random hex digits, the form of Flask-WTF's own raw token.
        visitor[self.token_field] = secrets.token_hex(20)
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
