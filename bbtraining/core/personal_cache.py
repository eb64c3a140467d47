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

import functools
from collections.abc import Callable

from flask import Flask, current_app, g, make_response, request, session
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..data_versions import RENDER_WAIT_SECONDS, VersionedPages, on_committed_writes
from ..extensions import db, login_manager
from ..page_cache import TOKEN_MARK


class PersonalCache(VersionedPages):
    def __init__(self, app: Flask):
        super().__init__(
            app,
            "data",
            seconds=app.config.get("PERSONAL_CACHE_SECONDS", 10),
            entries=app.config.get("PERSONAL_CACHE_ENTRIES", 1024),
        )

    def data_written(self, _tables: set[str]) -> None:
        self.bump()


def init_app(app: Flask) -> None:
    cache = PersonalCache(app)
    app.extensions["personal_cache"] = cache
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        on_committed_writes(engine, cache.data_written)


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
                cache.put(key, (body, response.headers["Content-Type"]))
        finally:
            if claimed:
                cache.release(key)
        return response

    return wrapped


__all__ = ["init_app", "personal_page"]
