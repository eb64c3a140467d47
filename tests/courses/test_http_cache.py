"""A cache in front (nginx, Varnish, a CDN) may serve the public pages: they carry validators
(a weak ETag, Last-Modified) and Cache-Control it honours, a matching If-None-Match is answered
304 without rendering, and nothing of one visitor (CSRF token, cookie, flash, signed-in state)
is in what is public."""

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from bbtraining.courses import catalog
from bbtraining.courses.models import AMSTERDAM
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from bbtraining.http_cache import PUBLIC
from tests.conftest import PASSWORD
from tests.courses.conftest import in_days, local

PERSONAL = "private, no-store"


@pytest.fixture
def course(make_course, make_edition, make_user):
    found = make_course(slug="masterclass-raad", title="Masterclass voor de raad")
    make_edition(found, days=(20,), trainers=(make_user("trainer", name="Amira Trainer"),))
    return found


@pytest.fixture
def pages(course):
    return ("/", "/courses/", "/courses/?phase=voorbereiding", f"/courses/{course.slug}")


@pytest.fixture
def no_page_cache(app):
    """The page cache off, so every page is rendered by its view."""
    cache = app.extensions["page_cache"]
    old = cache.seconds
    cache.seconds = 0
    cache.clear()
    yield
    cache.seconds = old


def _visitor(app):
    """A new browser: no cookies."""
    return app.test_client()


def _assert_public(response) -> None:
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PUBLIC
    assert response.headers["ETag"].startswith('W/"')
    assert response.headers["Last-Modified"].endswith(" GMT")
    assert {"Cookie", "Accept-Language"} <= {v.strip() for v in response.headers["Vary"].split(",")}
    assert "Set-Cookie" not in response.headers


@contextmanager
def _counting():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# -- what is public carries nothing of one visitor ----------------------------------------------
def test_an_anonymous_visitor_gets_a_public_page_without_token_or_cookie(app, pages):
    for url in pages:
        for attempt in ("rendered", "from the page cache"):
            response = _visitor(app).get(url)
            _assert_public(response)
            if attempt == "from the page cache":
                assert response.headers.get("X-Page-Cache") == "hit", url
            body = response.get_data(as_text=True)
            assert "csrf" not in body.lower(), url
            assert "Uitloggen" not in body and "Inloggen" in body
            # The language switch is a link on a public page, not a form with a token.
            assert "/language/en?next=" in body


def test_the_public_calendar_has_validators_too(app, course):
    first = _visitor(app).get("/calendar/public.ics")
    _assert_public(first)
    assert b"Masterclass voor de raad" in first.data
    again = _visitor(app).get(
        "/calendar/public.ics", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_a_signed_in_visitor_gets_a_private_page_without_validators(app, client, pages, make_user):
    anonymous = _visitor(app).get("/")
    user = make_user("facilitator", name="Eva Begeleider")
    assert (
        client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code
        == 302
    )
    for url in pages:
        response = client.get(url, headers={"If-None-Match": anonymous.headers["ETag"]})
        assert response.status_code == 200, url  # the anonymous page's ETag is not theirs
        assert response.headers["Cache-Control"] == PERSONAL
        assert "ETag" not in response.headers and "Last-Modified" not in response.headers
        assert "Cookie" in response.headers["Vary"]
        body = response.get_data(as_text=True)
        assert "Uitloggen" in body and 'name="csrf-token"' in body


def test_a_flash_message_makes_the_page_private(app, client, course, make_user):
    user = make_user("facilitator")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    client.post("/auth/logout")
    response = client.get("/")
    assert "U bent uitgelogd." in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == PERSONAL
    assert "ETag" not in response.headers
    # The next page, the message shown, is the public one again, kept to this browser.
    again = client.get("/")
    assert again.headers["Cache-Control"] == "private, max-age=0, must-revalidate"
    assert again.headers["ETag"] and "U bent uitgelogd." not in again.get_data(as_text=True)


def test_a_visitor_with_a_session_cookie_gets_the_page_kept_private(app, course):
    browser = _visitor(app)
    browser.get("/auth/login")  # the login form gave this browser a session with a token
    assert browser.get_cookie(app.config["SESSION_COOKIE_NAME"]) is not None
    for _attempt in range(2):  # rendered, then from the page cache
        response = browser.get(f"/courses/{course.slug}")
        # Private: their session cookie may be refreshed, no shared cache keeps this answer.
        assert response.headers["Cache-Control"] == "private, max-age=0, must-revalidate"
        assert "csrf" not in response.get_data(as_text=True).lower()
    again = browser.get(
        f"/courses/{course.slug}", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


# -- 304 ----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("no_page_cache")
def test_a_matching_etag_is_answered_304_before_the_page_is_rendered(app, pages):
    for url in pages:
        first = _visitor(app).get(url)
        _assert_public(first)
        with _counting() as statements:
            again = _visitor(app).get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, url
        assert again.data == b""
        assert statements == [], url  # nothing was rendered: not a single query
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Cache-Control"] == PUBLIC
        assert "Cookie" in again.headers["Vary"]
        assert "Set-Cookie" not in again.headers
        # A list of ETags, or "*", match as well; another ETag does not.
        listed = _visitor(app).get(
            url, headers={"If-None-Match": f'W/"p0-t0-nl", {first.headers["ETag"]}'}
        )
        assert listed.status_code == 304
        assert _visitor(app).get(url, headers={"If-None-Match": "*"}).status_code == 304
        other = _visitor(app).get(url, headers={"If-None-Match": 'W/"p0-t0-nl"'})
        assert other.status_code == 200 and other.headers["ETag"] == first.headers["ETag"]


def test_a_stored_page_is_answered_304_too(app, course):
    url = f"/courses/{course.slug}"
    first = _visitor(app).get(url)
    hit = _visitor(app).get(url)
    assert hit.headers.get("X-Page-Cache") == "hit"
    assert hit.headers["ETag"] == first.headers["ETag"]
    again = _visitor(app).get(url, headers={"If-None-Match": hit.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert "Content-Length" not in again.headers or again.headers["Content-Length"] == "0"


def test_bad_validators_get_the_whole_page(app, course):
    for sent in ("", "geen-etag", 'W/"', '"' * 5, "\x00", "W/" * 300):
        response = _visitor(app).get("/", headers={"If-None-Match": sent})
        _assert_public(response)
        assert b"Masterclass voor de raad" in response.data


# -- the ETag follows what the page shows -------------------------------------------------------
def test_a_change_in_the_catalog_changes_the_etag(app, course):
    url = f"/courses/{course.slug}"
    before = _visitor(app).get(url)
    course.price_seat = Decimal("525.00")
    db.session.commit()
    after = _visitor(app).get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "525,00" in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]
    # The home page and the calendar were made from the same catalog: theirs changed too.
    for other in ("/", "/calendar/public.ics"):
        assert (
            _visitor(app).get(other, headers={"If-None-Match": before.headers["ETag"]}).status_code
            == 200
        )


def test_each_language_has_its_own_etag(app, course):
    dutch = _visitor(app).get("/courses/", headers={"Accept-Language": "nl"})
    english = _visitor(app).get("/courses/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert english.headers["ETag"] != dutch.headers["ETag"]
    crossed = _visitor(app).get(
        "/courses/", headers={"Accept-Language": "en", "If-None-Match": dutch.headers["ETag"]}
    )
    assert crossed.status_code == 200


def test_the_language_link_switches_this_browser_only(app, client, course, make_user):
    browser = _visitor(app)
    page = browser.get("/courses/").get_data(as_text=True)
    assert 'href="/language/en?next=/courses/"' in page
    switched = browser.get("/language/en?next=/courses/")
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/courses/")
    assert '<html lang="en">' in browser.get("/courses/").get_data(as_text=True)
    # Somewhere else: the switch goes home, not to another site.
    away = _visitor(app).get("/language/en?next=https://example.com/")
    assert away.status_code == 302 and "example.com" not in away.headers["Location"]
    assert _visitor(app).get("/language/xx").status_code == 404
    # Signed in, a link followed changes this browser's language, not the account's.
    user = make_user("facilitator")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    client.get("/language/en")
    db.session.refresh(user)
    assert user.locale == "nl"


def test_the_clock_changes_the_etag_when_a_session_starts_or_a_deadline_passes(
    make_course, make_edition
):
    edition = make_edition(make_course(), days=(3, 4), start="10:00", end="12:00")
    first_start = local(in_days(3), "10:00")
    now = local(in_days(1), "09:00").astimezone(AMSTERDAM)
    midnight = local(in_days(2), "00:00")
    assert catalog.next_change_by_clock(now) == midnight
    the_day_before = local(in_days(2), "12:00")
    assert catalog.next_change_by_clock(the_day_before) == local(in_days(3), "00:00")
    assert catalog.next_change_by_clock(local(in_days(3), "08:00")) == first_start
    # Under way: its end is the next change.
    assert catalog.next_change_by_clock(local(in_days(3), "10:30")) == local(in_days(3), "12:00")
    edition.enrollment_deadline = local(in_days(3), "08:30")
    db.session.commit()
    deadline_passed = local(in_days(3), "08:30") + timedelta(seconds=1)
    assert catalog.next_change_by_clock(local(in_days(3), "08:00")) == deadline_passed
    assert catalog.next_change_by_clock(utcnow()) > utcnow()
