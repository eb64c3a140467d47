"""The signed-in pages that are asked for most (the dashboard, the alumni search) stay cheap:
their queries per request are pinned on the demo data, where several panels have rows, so a
query per row (N+1) fails here. And the per-person page cache never shows a page that is older
than the last change, nor one person's page to another."""

import importlib
import re
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text, update

from bbtraining.alumni.models import AlumniProfile
from bbtraining.auth.demo import DEMO_PASSWORD
from bbtraining.auth.models import User
from bbtraining.bookings.inhouse.models import InhouseBooking
from bbtraining.cli import DEMO_SEEDERS
from bbtraining.data_versions import is_write
from bbtraining.extensions import db

pytestmark = pytest.mark.usefixtures("app")

CLIENT = "griffie@example.nl"
TRAINER = "trainer@example.nl"
ALUMNUS = "begeleider@example.nl"
SEARCH = "/alumni/?province=utrecht"


@pytest.fixture
def demo():
    for module_name in DEMO_SEEDERS:
        importlib.import_module(module_name).seed()
        db.session.commit()


@pytest.fixture
def no_personal_cache(app):
    app.config["PERSONAL_CACHE_SECONDS"] = 0
    app.extensions["personal_cache"].seconds = 0
    yield
    app.config["PERSONAL_CACHE_SECONDS"] = 10
    app.extensions["personal_cache"].seconds = 10


def _sign_in(client, email: str):
    response = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.data[:300]
    # The page that shows "you are signed in" is rendered, and not kept: that message is once.
    welcome = client.get("/account/")
    assert welcome.headers.get("X-Personal-Cache") is None
    return client


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


def _queries(client, url: str) -> tuple[int, str]:
    client.get(url)  # the first request may create the CSRF token and fill caches
    db.session.expunge_all()  # a browser's next request starts with an empty session too
    with _counting() as statements:
        response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers.get("X-Personal-Cache") is None  # rendered, not served from memory
    return len(statements), response.get_data(as_text=True)


# -- queries per request (the cache off: what a change costs) ------------------------------------
@pytest.mark.usefixtures("demo", "no_personal_cache")
def test_the_clients_dashboard_costs_a_fixed_number_of_queries(client):
    _sign_in(client, CLIENT)
    count, body = _queries(client, "/account/")
    # The panels have rows: the organisation's inhouse bookings (with proposals and addenda),
    # match requests.
    user = db.session.scalar(select(User).where(User.email == CLIENT))
    bookings = db.session.scalars(
        select(InhouseBooking).where(InhouseBooking.organisation_id == user.organisation_id)
    ).all()
    assert len(bookings) >= 2
    for booking in bookings:
        assert booking.reference in body
    assert "Uw verzoeken" in body
    # 22: the demo clerk also booked three colleagues into an edition, so the enrollment panel
    # (enrollment, edition, sessions, trainers, invoice) and the attendance panel load too; each
    # a fixed number of queries, whatever the number of rows (the test below checks bookings).
    # 28: the advice panels add six: the strippenkaart (bundles, entries, the advisors' roles)
    # and the kennismakingsgesprekken (calls, the requesters' roles, suggested courses).
    assert count <= 28, count


@pytest.mark.usefixtures("demo", "no_personal_cache")
def test_the_dashboard_does_not_query_per_inhouse_booking(client):
    _sign_in(client, CLIENT)
    before, _body = _queries(client, "/account/")
    user = db.session.scalar(select(User).where(User.email == CLIENT))
    template = db.session.scalars(
        select(InhouseBooking).where(InhouseBooking.organisation_id == user.organisation_id)
    ).first()
    for number in range(3):  # three more bookings, each with a proposal's worth of rows
        copy = InhouseBooking(
            **{
                column.key: getattr(template, column.key)
                for column in InhouseBooking.__table__.columns
                if column.key not in ("id", "lock_version", "invoice_id")
            }
        )
        copy.contact_name = f"Extra {number}"
        db.session.add(copy)
    db.session.commit()
    after, body = _queries(client, "/account/")
    assert body.count("IH-") >= 5
    assert after == before


@pytest.mark.usefixtures("demo", "no_personal_cache")
def test_the_trainers_and_the_alumnus_dashboards_cost_a_fixed_number_of_queries(client):
    _sign_in(client, TRAINER)
    trainer_count, trainer_body = _queries(client, "/account/")
    assert "Welkom, " in trainer_body
    client.post("/auth/logout")
    _sign_in(client, ALUMNUS)
    alumnus_count, alumnus_body = _queries(client, "/account/")
    assert "Welkom" in alumnus_body
    assert trainer_count <= 13, trainer_count
    # 24: the first-steps panel asks whether a facilitator has started at all (one), and the
    # demo's match request waits for this alumnus (the inbox panel's two loads).
    assert alumnus_count <= 24, alumnus_count


@pytest.mark.usefixtures("demo", "no_personal_cache")
def test_the_alumnus_dashboard_does_not_query_per_match_request(client):
    from datetime import timedelta

    from bbtraining.alumni import matches
    from bbtraining.db_types import utcnow

    _sign_in(client, ALUMNUS)
    before, _body = _queries(client, "/account/")
    alumnus = db.session.scalar(select(User).where(User.email == ALUMNUS))
    profile = db.session.scalar(select(AlumniProfile).where(AlumniProfile.user_id == alumnus.id))
    asker = db.session.scalar(select(User).where(User.email == CLIENT))
    day = utcnow().date() + timedelta(days=60)
    matches.create_request(
        asker,
        [profile],
        assembly="Tweede beraad",
        organisation_name="",
        dates=[day],
        place="Utrecht",
        role="table",
    )
    db.session.commit()
    after, body = _queries(client, "/account/")
    assert "Tweede beraad" in body
    assert after == before


@pytest.mark.usefixtures("demo", "no_personal_cache")
def test_the_alumni_search_costs_a_fixed_number_of_queries(client):
    _sign_in(client, CLIENT)
    count, body = _queries(client, SEARCH)
    shown = re.findall(r'href="/alumni/(\d+)"', body)
    assert len(set(shown)) >= 2  # residents and those who travel to Utrecht, languages, tags
    assert count <= 11, count


# -- the per-person cache -----------------------------------------------------------------------
@pytest.mark.usefixtures("demo")
def test_a_repeated_page_comes_from_the_cache_with_this_requests_token(client):
    _sign_in(client, CLIENT)
    first = client.get("/account/")
    again = client.get("/account/")
    assert first.headers.get("X-Personal-Cache") is None
    assert again.headers.get("X-Personal-Cache") == "hit"
    token = re.search(r'name="csrf-token" content="([^"]+)"', again.get_data(as_text=True))
    assert token is not None and "\x00" not in again.get_data(as_text=True)
    # The token in the cached page works: the calendar link can be renewed with it.
    response = client.post(
        "/account/calendar-token", data={"csrf_token": token.group(1)}, csrf=False
    )
    assert response.status_code == 302


@pytest.mark.usefixtures("demo")
def test_a_change_shows_at_once_whoever_makes_it_and_however(client):
    _sign_in(client, CLIENT)
    user = db.session.scalar(select(User).where(User.email == CLIENT))
    client.get("/account/")
    assert client.get("/account/").headers.get("X-Personal-Cache") == "hit"
    # Through the ORM:
    user.name = "Grietje Griffier"
    db.session.commit()
    assert "Welkom, Grietje" in client.get("/account/").get_data(as_text=True)
    # With plain SQL on a connection of its own:
    with db.engine.begin() as connection:
        connection.execute(
            text('UPDATE "user" SET name = :name WHERE id = :id'),
            {"name": "Henk Griffier", "id": user.id},
        )
    db.session.expire_all()  # the test's session is the requests' session: forget what it read
    response = client.get("/account/")
    assert response.headers.get("X-Personal-Cache") is None
    assert "Welkom, Henk" in response.get_data(as_text=True)


@pytest.mark.usefixtures("demo")
def test_search_results_follow_a_profile_leaving_the_pool(client):
    _sign_in(client, CLIENT)
    body = client.get(SEARCH).get_data(as_text=True)
    assert client.get(SEARCH).headers.get("X-Personal-Cache") == "hit"
    profile_id = int(re.findall(r'href="/alumni/(\d+)"', body)[0])
    db.session.execute(
        update(AlumniProfile).where(AlumniProfile.id == profile_id).values(hidden_by_staff=True)
    )
    db.session.commit()
    after = client.get(SEARCH)
    assert after.headers.get("X-Personal-Cache") is None
    assert f'href="/alumni/{profile_id}"' not in after.get_data(as_text=True)


@pytest.mark.usefixtures("demo")
def test_a_page_is_never_shared_between_people(app, client):
    _sign_in(client, CLIENT)
    client.get("/account/")
    colleague = app.test_client()
    _sign_in(colleague, "projectleider@example.nl")
    body = colleague.get("/account/").get_data(as_text=True)
    mine = client.get("/account/").get_data(as_text=True)
    assert re.search(r"<h1>([^<]*)</h1>", body).group(1) != re.search(
        r"<h1>([^<]*)</h1>", mine
    ).group(1)


@pytest.mark.usefixtures("demo")
def test_a_flash_message_is_shown_once(client):
    _sign_in(client, CLIENT)
    client.get("/account/")
    client.post("/account/calendar-token")
    shown = client.get("/account/").get_data(as_text=True)
    assert "Uw agenda-link is vernieuwd" in shown
    again = client.get("/account/").get_data(as_text=True)
    assert "Uw agenda-link is vernieuwd" not in again


@pytest.mark.usefixtures("demo")
def test_signing_out_keeps_the_page_from_the_next_visitor(client):
    _sign_in(client, CLIENT)
    assert client.get("/account/").headers.get("X-Personal-Cache") is None
    assert client.get("/account/").headers.get("X-Personal-Cache") == "hit"
    client.post("/auth/logout")
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.usefixtures("demo")
def test_a_closed_account_or_a_lost_role_gets_no_page_from_the_cache(client):
    _sign_in(client, CLIENT)
    for url in ("/account/", SEARCH):
        client.get(url)
        assert client.get(url).headers.get("X-Personal-Cache") == "hit"
    user = db.session.scalar(select(User).where(User.email == CLIENT))
    user.remove_role("client")
    db.session.commit()
    assert client.get(SEARCH).status_code == 403
    user.is_active_account = False
    db.session.commit()
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.usefixtures("demo")
def test_a_password_change_elsewhere_signs_this_browser_out_at_once(app, client):
    _sign_in(client, CLIENT)
    client.get("/account/")
    assert client.get("/account/").headers.get("X-Personal-Cache") == "hit"
    other = app.test_client()
    _sign_in(other, CLIENT)
    response = other.post(
        "/auth/password",
        data={
            "current_password": DEMO_PASSWORD,
            "password": "een-ander-goed-wachtwoord-7",
            "password_confirm": "een-ander-goed-wachtwoord-7",
        },
    )
    assert response.status_code == 302, response.data[:300]
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.usefixtures("demo")
def test_another_browser_with_a_copied_cookie_is_checked_as_usual(app, client):
    _sign_in(client, CLIENT)
    client.get("/account/")
    assert client.get("/account/").headers.get("X-Personal-Cache") == "hit"
    other_agent = client.get("/account/", headers={"User-Agent": "Other/1.0"})
    assert other_agent.headers.get("X-Personal-Cache") is None


@pytest.mark.usefixtures("demo")
def test_threads_asking_for_the_same_page_render_it_once(app, client, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from bbtraining.core import views

    browser = _sign_in(client, CLIENT)
    renders = []
    original = views.account_panels.render

    def slow_render(user):
        renders.append(user.id)
        time.sleep(0.3)
        return original(user)

    monkeypatch.setattr(views.account_panels, "render", slow_render)

    def ask(_n):
        # Each thread its own app context, as in a web worker; the session cookie is shared.
        with app.app_context():
            response = browser.get("/account/")
            return response.status_code, response.headers.get("X-Personal-Cache")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sorted(str(hit) for _, hit in answers) == ["None", "hit", "hit", "hit"]
    assert len(renders) == 1


def test_what_counts_as_a_write():
    assert is_write('UPDATE "user" SET name = 1')
    assert is_write("insert into course values (1)")
    assert is_write("TRUNCATE course")
    assert is_write("WITH x AS (SELECT 1) DELETE FROM course")
    assert not is_write("SELECT 1")
    assert not is_write("WITH matching AS MATERIALIZED (SELECT id FROM t) SELECT * FROM matching")
    assert not is_write("SAVEPOINT sa_1")
