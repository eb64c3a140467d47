"""The public catalog pages are served from the page cache to anonymous visitors, and are never
stale after a change: seats, prices and publication state show at once, whichever process made
the change and however it wrote it (ORM, bulk UPDATE, plain SQL)."""

import re
import subprocess
import sys
from decimal import Decimal

import pytest
from sqlalchemy import text

from bbtraining.bookings.enrollment import enrolling, policy
from bbtraining.courses import catalog, editions
from bbtraining.courses.models import Course, Edition
from bbtraining.extensions import db
from tests.conftest import PASSWORD, ROOT, service_env
from tests.security.world import _edition, _user

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def course():
    trainer = _user("trainer@example.nl", "Joost Trainer", "trainer")
    found = Course(
        slug="training-gespreksbegeleiding",
        title="Training gespreksbegeleiding",
        kind="facilitator-training",
        audience="facilitators",
        delivery="open",
        price_seat=Decimal("495.00"),
        published=True,
    )
    found.phases = ["uitvoering"]
    db.session.add(found)
    db.session.flush()
    _edition(found, capacity=1, trainer=trainer)
    db.session.commit()
    return found


def _get(client, url):
    response = client.get(url)
    return response, response.get_data(as_text=True)


def _hit(client, url) -> str:
    """The page, asked twice: the second answer must come from the cache."""
    client.get(url)
    response, body = _get(client, url)
    assert response.headers.get("X-Page-Cache") == "hit", url
    return body


def _enroll_someone(edition_id: int) -> None:
    user = _user("noor@example.nl", "Noor Begeleider", "facilitator")
    billing = policy.Billing(name="Noor", street="Straat 1", postcode="3511 AB", city="Utrecht")
    enrolling.enroll(db.session.get(Edition, edition_id), user, billing, "invoice")
    db.session.commit()


def test_anonymous_pages_come_from_the_cache_without_anyones_token(client, course):
    """A public page is the same for every visitor (tests/courses/test_http_cache.py): it holds
    no CSRF token, and its language switch is a link."""
    for url in ("/", "/courses/", f"/courses/{course.slug}", "/courses/?phase=uitvoering"):
        body = _hit(client, url)
        assert course.title in body
        assert "csrf" not in body.lower()
    response = client.get("/language/en?next=/courses/")
    assert response.status_code == 302
    assert '<html lang="en">' in _hit(client, "/courses/")


def test_a_taken_seat_shows_at_once(client, course):
    edition_id = course.editions[0].id
    body = _hit(client, f"/courses/{course.slug}")
    assert "Inschrijven" in body and "Zet mij op de wachtlijst" not in body
    assert "Nog 1 plaats" in _hit(client, "/")
    _enroll_someone(edition_id)
    response, body = _get(client, f"/courses/{course.slug}")
    assert response.headers.get("X-Page-Cache") is None
    assert "Zet mij op de wachtlijst" in body
    assert "vol — wachtlijst" in _get(client, "/")[1]


def test_a_capacity_change_by_bulk_update_shows_at_once(client, course):
    edition = course.editions[0]
    _hit(client, f"/courses/{course.slug}")
    editions.change_capacity(edition, 3)  # one conditional UPDATE statement, not the ORM
    db.session.commit()
    assert "3 plaatsen in totaal" in _get(client, f"/courses/{course.slug}")[1]


def test_a_price_change_and_unpublishing_by_staff_show_at_once(client, course, make_user, login):
    assert "495,00" in _hit(client, f"/courses/{course.slug}")
    assert course.title in _hit(client, "/courses/")
    course.price_seat = Decimal("525.00")
    db.session.commit()
    assert "525,00" in _get(client, f"/courses/{course.slug}")[1]
    login(make_user("admin"))
    assert client.post(f"/admin/courses/{course.id}/unpublish").status_code == 302
    client.post("/auth/logout")
    assert client.get(f"/courses/{course.slug}").status_code == 404
    assert course.title not in _get(client, "/courses/")[1]


def test_plain_sql_from_another_process_shows_at_once(client, course):
    """As the Celery worker would: its own process, its own connection."""
    edition_id = course.editions[0].id
    _hit(client, f"/courses/{course.slug}")
    statement = "UPDATE edition SET seats_taken = 1 WHERE id = :id"
    script = (
        "import sys\n"
        "from sqlalchemy import text\n"
        "from bbtraining import create_app\n"
        "from bbtraining.extensions import db\n"
        "app = create_app('testing')\n"
        "with app.app_context():\n"
        f"    db.session.execute(text({statement!r}), {{'id': int(sys.argv[1])}})\n"
        "    db.session.commit()\n"
    )
    command = [sys.executable, "-c", script, str(edition_id)]
    subprocess.run(command, cwd=ROOT, env=service_env(), check=True)  # noqa: S603
    db.session.rollback()  # a new request starts a new transaction (SQLite reads a snapshot)
    assert "Zet mij op de wachtlijst" in _get(client, f"/courses/{course.slug}")[1]


def test_a_rolled_back_write_keeps_the_cache(client, course):
    _hit(client, f"/courses/{course.slug}")
    db.session.execute(text("UPDATE course SET title = 'Iets anders'"))
    db.session.rollback()
    assert course.title in _hit(client, f"/courses/{course.slug}")


def test_signed_in_visitors_and_flash_messages_never_get_a_stored_page(client, course, make_user):
    _hit(client, "/")
    user = make_user("facilitator", name="Eva Begeleider")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    response, body = _get(client, "/")
    assert response.headers.get("X-Page-Cache") is None and "Uitloggen" in body
    assert "Welkom, Eva." in body  # the flash, on a page rendered for this visitor
    client.post("/auth/logout")
    response, body = _get(client, "/")
    assert "U bent uitgelogd." in body and response.headers.get("X-Page-Cache") is None
    assert "U bent uitgelogd." not in _hit(client, "/")


def test_pages_expire_with_the_clock(client, course, app):
    cache = app.extensions["page_cache"]
    old = cache.seconds
    cache.seconds = -1  # every stored page is already too old
    try:
        client.get("/courses/")
        response, _body = _get(client, "/courses/")
        assert response.headers.get("X-Page-Cache") is None
    finally:
        cache.seconds = old


def test_without_a_version_store_pages_are_rendered_fresh(client, course, app):
    """Redis down: better slow than stale."""

    class Unreachable:
        def current(self):
            raise ConnectionError("redis is down")

        def bump(self):
            raise ConnectionError("redis is down")

    cache = app.extensions["page_cache"]
    working, cache.version = cache.version, Unreachable()
    try:
        for _ in range(2):
            response, body = _get(client, f"/courses/{course.slug}")
            assert response.status_code == 200 and course.title in body
            assert response.headers.get("X-Page-Cache") is None
    finally:
        cache.version = working


def _token(body: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', body).group(1)


def test_a_new_visitors_first_page_is_a_hit_without_a_cookie(app, course):
    first = app.test_client()
    first.get("/courses/")
    stored = first.get("/courses/")
    assert stored.headers.get("X-Page-Cache") == "hit"

    newcomer = app.test_client()
    response = newcomer.get("/courses/")
    assert response.headers.get("X-Page-Cache") == "hit"
    # A public page sets no cookie (a cache in front would hand it to everyone): the first
    # form the visitor opens gives them a session with a token of their own.
    assert "Set-Cookie" not in response.headers
    assert newcomer.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None
    token = _token(newcomer.get("/auth/login").get_data(as_text=True))
    switched = newcomer.post("/language/en", data={"csrf_token": token, "next": "/courses/"})
    assert switched.status_code == 302
    # ...and someone else's token is refused.
    foreign = app.test_client()
    foreign.get("/auth/login")
    refused = foreign.post("/language/en", data={"csrf_token": token, "next": "/courses/"})
    assert refused.status_code == 400


def test_a_hit_carries_the_security_headers_and_none_of_the_first_visitors_cookie(app, course):
    first = app.test_client()
    rendered = first.get(f"/courses/{course.slug}")
    assert "Set-Cookie" not in rendered.headers  # a public page sets no cookie
    second = app.test_client()
    second.get("/auth/login")  # a session of their own first
    hit = second.get(f"/courses/{course.slug}")
    assert hit.headers.get("X-Page-Cache") == "hit"
    assert "Set-Cookie" not in hit.headers
    for header in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Frame-Options",
    ):
        assert hit.headers[header] == rendered.headers[header]
    assert "Cookie" in hit.headers["Vary"]
    assert hit.headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(hit.headers["Content-Length"]) == len(hit.get_data())


def test_each_language_is_kept_apart(app, course):
    english_browser = app.test_client()
    english_browser.get("/courses/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    english = english_browser.get("/courses/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.headers.get("X-Page-Cache") == "hit"
    assert '<html lang="en">' in english.get_data(as_text=True)

    dutch_browser = app.test_client()
    dutch = dutch_browser.get("/courses/", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert '<html lang="nl">' in dutch.get_data(as_text=True)

    # The language switch beats the browser's language, on a hit as well.
    assert "/language/en?next=/courses/" in dutch.get_data(as_text=True)
    dutch_browser.get("/language/en?next=/courses/")
    switched = dutch_browser.get("/courses/", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert switched.headers.get("X-Page-Cache") == "hit"
    assert '<html lang="en">' in switched.get_data(as_text=True)


def test_a_remember_me_cookie_goes_past_the_front_door(app, client, course, make_user):
    user = make_user("facilitator", name="Eva Begeleider")
    _hit(client, "/")
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    remember = client.get_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    assert remember is not None
    # A browser restarted: the session cookie is gone, the remember-me cookie signs them in.
    client.delete_cookie(app.config["SESSION_COOKIE_NAME"])
    response, body = _get(client, "/")
    assert response.headers.get("X-Page-Cache") is None
    assert "Uitloggen" in body


def test_a_write_outside_the_orm_session_shows_at_once(client, course):
    """engine.begin(): no session commits, the connection going back to the pool counts."""
    edition_id = course.editions[0].id
    _hit(client, f"/courses/{course.slug}")
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE edition SET seats_taken = 1 WHERE id = :id"), {"id": edition_id}
        )
    db.session.rollback()
    assert "Zet mij op de wachtlijst" in _get(client, f"/courses/{course.slug}")[1]


def test_a_write_hidden_in_a_common_table_expression_counts_for_every_table():
    from bbtraining.data_versions import EVERY_TABLE, written_table

    assert written_table('UPDATE "edition" SET seats_taken = 1') == "edition"
    assert written_table("INSERT INTO course_phase (course_id) VALUES (1)") == "course_phase"
    assert written_table("DELETE FROM training_session WHERE id = 1") == "training_session"
    assert written_table("WITH x AS (SELECT 1) UPDATE edition SET capacity = 2") == EVERY_TABLE
    assert written_table("TRUNCATE course, edition") == EVERY_TABLE
    assert written_table("SELECT * FROM edition FOR UPDATE") is None
    assert written_table("WITH x AS (SELECT 1) SELECT * FROM x") is None


def test_threads_asking_for_the_same_page_after_a_change_render_it_once(app, course, monkeypatch):
    import time
    from concurrent.futures import ThreadPoolExecutor

    renders = []
    original = catalog.search_courses

    def slow_search(filters):
        renders.append(filters)
        time.sleep(0.3)
        return original(filters)

    monkeypatch.setattr(catalog, "search_courses", slow_search)

    def ask(_n):
        with app.app_context():  # each thread its own, as in a web worker
            response = app.test_client().get("/courses/")
            return response.status_code, response.headers.get("X-Page-Cache")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sorted(str(hit) for _, hit in answers) == ["None", "hit", "hit", "hit"]
    assert len(renders) == 1


def test_a_sign_in_keeps_the_pages_but_a_trainers_new_name_shows_at_once(
    app, client, course, make_user
):
    someone = make_user("facilitator", name="Eva Begeleider")
    visitor = app.test_client()
    _hit(visitor, f"/courses/{course.slug}")
    response = client.post("/auth/login", data={"email": someone.email, "password": PASSWORD})
    assert response.status_code == 302  # last_login_at written: no catalog page shows it
    response, _body = _get(visitor, f"/courses/{course.slug}")
    assert response.headers.get("X-Page-Cache") == "hit"

    trainer = course.editions[0].trainers[0]
    trainer.name = "Joost van der Trainer"
    db.session.commit()
    response, body = _get(visitor, f"/courses/{course.slug}")
    assert response.headers.get("X-Page-Cache") is None
    assert "Joost van der Trainer" in body


def test_which_account_updates_count_for_the_catalog():
    from bbtraining.page_cache import catalog_write

    assert catalog_write('UPDATE "user" SET last_login_at=%(last_login_at)s WHERE id = 1') is None
    assert (
        catalog_write("UPDATE user SET password_hash=?, session_token=? WHERE user.id = ?") is None
    )
    assert catalog_write('UPDATE "user" SET name=%(name)s WHERE "user".id = 1') == "user"
    assert catalog_write("UPDATE user SET last_login_at=?, bio=? WHERE user.id = ?") == "user"
    assert catalog_write("UPDATE edition SET seats_taken=seats_taken + 1 WHERE id = 1") == "edition"
