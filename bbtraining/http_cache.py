"""HTTP validators and Cache-Control for the public pages, so that a cache in front (nginx's
proxy_cache, Varnish, a CDN) can serve them: the home page, the catalog, course pages and
/calendar/public.ics (README: "A cache in front").

A public page's content follows from three things: the catalog data, the clock (a session
starting, a deadline passing, the date) and the language. Its weak ETag names all three: the
data versions of `public_etag_parts()`, the next moment the page changes by the clock alone, and
the locale. A request whose `If-None-Match` names the current ETag is answered 304 before the
page is rendered (`public_page`), or, when the page cache in front of Flask answers, by
`Validators` on the way out.

What is public carries nothing of one visitor: a visitor who is not signed in and has no flash
message waiting gets the page without a CSRF token (the base template leaves it out when
`g.public_page` is set; the language switch is a link then) and without a cookie, and the
response says `Cache-Control: public, s-maxage=60, max-age=0, must-revalidate`: a shared cache
keeps it a minute and then asks again with the ETag; a browser asks again every time (and gets
a 304 when nothing changed). A visitor who sends a session cookie gets the same page marked
private; a signed-in visitor, or one with a flash message, gets `private, no-store` and no
validators. `Vary: Cookie, Accept-Language` on all of them.
"""

import functools
import threading
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate

from flask import Flask, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.http import parse_cookie, parse_etags

from .db_types import utcnow

PUBLIC = "public, s-maxage=60, max-age=0, must-revalidate"
# The same page for a visitor who sends a cookie: only their browser keeps it (and revalidates).
PRIVATE_REVALIDATE = "private, max-age=0, must-revalidate"
PERSONAL = "private, no-store"
VARY = "Cookie, Accept-Language"


def public_etag_parts() -> tuple[int, ...] | None:
    """The data versions the public pages are rendered from; None when one cannot be read
    (then nothing is validated: better a page rendered again than a stale one kept)."""
    version = current_app.extensions["page_cache"].current_version()
    return None if version is None else (version,)


class ClockedVersions:
    """Per worker: for each set of data versions, the next moment its pages change with the
    clock alone (one query per set, and again once that moment has passed), and since when this
    worker has served that content (its Last-Modified)."""

    ENTRIES = 64

    def __init__(self, next_change: Callable[[datetime], datetime]):
        self.next_change = next_change
        self.known: dict[tuple, tuple[datetime, float]] = {}
        self.lock = threading.Lock()

    def current(self, parts: tuple, now: datetime) -> tuple[int, float]:
        """(the clock's part of the ETag, Last-Modified as a Unix time) for `parts`."""
        known = self.known.get(parts)
        if known is None or known[0] <= now:
            known = (self.next_change(now), time.time())
            with self.lock:
                if len(self.known) >= self.ENTRIES:
                    self.known.clear()
                self.known[parts] = known
        return int(known[0].timestamp()), known[1]


def _anonymous_without_messages() -> bool:
    return not current_user.is_authenticated and not session.get("_flashes")


def _personal(response):
    response.headers["Cache-Control"] = PERSONAL
    response.headers["Vary"] = VARY
    return response


def public_page(view: Callable) -> Callable:
    """Validators and Cache-Control for a public page (see the module's doc). Put it above
    `cached_page`: a 304 costs neither a rendering nor the page cache."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if request.method not in ("GET", "HEAD") or not _anonymous_without_messages():
            return _personal(make_response(view(*args, **kwargs)))
        g.public_page = True  # the base template leaves the visitor's CSRF token out
        parts = public_etag_parts()  # read before the data, as the page cache does
        if parts is None:
            response = make_response(view(*args, **kwargs))
            response.headers["Cache-Control"] = "no-cache"
            response.headers["Vary"] = VARY
            return response
        clock, modified = current_app.extensions["http_cache"].current(parts, utcnow())
        etag = "p{}-t{}-{}".format(".".join(map(str, parts)), clock, get_locale())
        if parse_etags(request.headers.get("If-None-Match")).contains_weak(etag):
            response = current_app.response_class(status=304)
        else:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
            if public_etag_parts() != parts:
                # The data changed while the page was rendered: it may show some of the change.
                # It gets no validator (the next request gets one).
                response.headers["Cache-Control"] = "no-cache"
                response.headers["Vary"] = VARY
                return response
        response.set_etag(etag, weak=True)
        response.headers["Last-Modified"] = formatdate(modified, usegmt=True)
        response.headers["Cache-Control"] = PUBLIC
        response.headers["Vary"] = VARY
        return response

    return wrapped


class Validators:
    """WSGI middleware outside the page cache's front door, for what it answers before Flask
    runs: a 304 for a stored page whose ETag the request names; a public page marked private for
    a visitor who sends a session cookie; and a public page never sets a cookie (a shared cache
    would hand it to everyone)."""

    COOKIE_HEADERS = 4096

    def __init__(self, app: Flask, wsgi_app):
        self.wsgi_app = wsgi_app
        self.cookie_headers: dict[str, bool] = {}
        self.personal_cookies = {
            app.config["SESSION_COOKIE_NAME"],
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        }

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        answered = {}

        def start(status, headers, exc_info=None):
            # Werkzeug writes the names this way; a public page is one `public_page` marked.
            if any(v == PUBLIC and k == "Cache-Control" for k, v in headers):
                status, headers = self.public(environ, status, headers)
                answered["not_modified"] = status[:3] == "304"
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, start)
        if answered.get("not_modified"):
            if hasattr(body, "close"):
                body.close()
            return [b""]
        return body

    def sends_personal_cookie(self, cookie_header: str) -> bool:
        # Parsing a Cookie header costs more than the rest of a stored page: what a header says
        # is kept (a browser sends the same one again and again).
        known = self.cookie_headers.get(cookie_header)
        if known is None:
            if len(self.cookie_headers) >= self.COOKIE_HEADERS:
                self.cookie_headers.clear()
            known = self.cookie_headers[cookie_header] = any(
                name in cookie_header for name in self.personal_cookies
            ) and not self.personal_cookies.isdisjoint(parse_cookie(cookie_header))
        return known

    def public(self, environ, status: str, headers: list) -> tuple[str, list]:
        cookie_header = environ.get("HTTP_COOKIE")
        if cookie_header and self.sends_personal_cookie(cookie_header):
            headers = [(k, PRIVATE_REVALIDATE if k == "Cache-Control" else v) for k, v in headers]
        elif any(k == "Set-Cookie" for k, _v in headers):
            headers = [(k, v) for k, v in headers if k != "Set-Cookie"]
        asked = environ.get("HTTP_IF_NONE_MATCH")
        if asked and status[:3] == "200":
            etag = next((v for k, v in headers if k == "ETag"), None)
            if etag is not None and parse_etags(asked).contains_weak(_opaque(etag)):
                status = "304 Not Modified"
        if status[:3] == "304":
            dropped = {"Content-Length", "Content-Type", "Set-Cookie"}
            headers = [(k, v) for k, v in headers if k not in dropped]
        return status, headers


def _opaque(etag: str) -> str:
    """`W/"abc"` -> `abc`."""
    return etag.removeprefix("W/").strip('"')


def init_app(app: Flask) -> None:
    """Call after the page cache's `init_app`: `Validators` goes outside its front door."""
    app.extensions["http_cache"] = ClockedVersions(_no_clock)
    app.wsgi_app = Validators(app, app.wsgi_app)


def changes_by_clock(app: Flask, next_change: Callable[[datetime], datetime]) -> None:
    """Tell when the public pages next change with the clock alone (the catalog does)."""
    app.extensions["http_cache"].next_change = next_change


def _no_clock(now: datetime) -> datetime:
    raise RuntimeError("http_cache.changes_by_clock was not called")


__all__ = ["PUBLIC", "changes_by_clock", "init_app", "public_etag_parts", "public_page"]
