"""A creating form sent four times at once (a double click, an impatient reload) creates one
object and answers every copy as it answered the first: never a 500, never a second object.

The four copies share one browser: the same session cookie, CSRF token and form page (so the
same submission key). Every copy runs on its own thread, test client and database connection,
and commits on its own, as gunicorn workers would.
"""

import re
import threading
import traceback
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.auth.models import Organisation, User
from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
from bbtraining.bookings.inhouse.models import InhouseBooking, InhouseMessage, today_amsterdam
from bbtraining.extensions import db
from tests.bookings.conftest import BILLING_FORM
from tests.bookings.inhouse.conftest import InhouseKit
from tests.conftest import PASSWORD, CSRFClient

COPIES = 4
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture
def inhouse(make_course, make_user, make_organisation):
    return InhouseKit(make_course, make_user, make_organisation)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _browser(app, user=None) -> CSRFClient:
    app.test_client_class = CSRFClient
    client = app.test_client()
    if user is not None:
        # Straight into the session: the login form's rate limit would refuse a crowd.
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


def _page_fields(client, page: str, prefix: str) -> dict[str, str]:
    """What the browser sends besides the fields: the page's CSRF token and submission key."""
    body = client.get(page).get_data(as_text=True)
    token = _TOKEN.search(body).group(1)
    fields = {"csrf_token": token, f"{prefix}csrf_token": token}
    key = re.search(rf'name="{prefix}submission_key" type="hidden" value="([^"]*)"', body)
    if key:
        fields[f"{prefix}submission_key"] = key.group(1)
    return fields


def _send_at_once(
    app, browser, page: str, url: str, data: dict, prefix: str = ""
) -> list[tuple[int, str, str]]:
    """POST the form of `page` COPIES times at once from one browser (same cookies)."""
    data = {**data, **_page_fields(browser, page, prefix)}
    cookies = [(c.key, c.value) for c in browser._cookies.values()]
    clients = []
    for _ in range(COPIES):
        client = _browser(app)
        for key, value in cookies:
            client.set_cookie(key, value)
        clients.append(client)
    start = threading.Barrier(COPIES)
    results: list = [None] * COPIES

    def send(i: int) -> None:
        start.wait()
        try:
            response = clients[i].post(url, data=data, csrf=False)
            results[i] = (
                response.status_code,
                response.headers.get("Location", ""),
                response.get_data(as_text=True),
            )
        except Exception:  # reported in the assertion below
            results[i] = (-1, "", traceback.format_exc())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [r if r is not None else (-2, "", "thread did not finish") for r in results]


def _answered_as_the_first(results) -> None:
    """Every copy is the first's redirect: the same page, whichever copy did the work."""
    problems = [(s, loc, body[-2000:]) for s, loc, body in results if s not in (302, 303)]
    assert not problems, problems
    assert len({loc for _s, loc, _b in results}) == 1, [loc for _s, loc, _b in results]


def _inhouse_form(**overrides) -> dict:
    today = today_amsterdam()
    return {
        "organisation_name": "Gemeente Amersfoort",
        "organisation_kind": "gemeente",
        "contact_name": "Femke de Boer",
        "contact_email": "femke@amersfoort.example.nl",
        "contact_phone": "033 469 4911",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "expected_participants": "30",
        "delivery_mode": "venue",
        "venue": "Stadhuis Amersfoort",
        "date_1": (today + timedelta(days=40)).isoformat(),
        "part_1": "evening",
        "date_2": "",
        "part_2": "",
        "date_3": "",
        "part_3": "",
        "assembly_phase": "voorbereiding",
        "assembly_context": "Burgerberaad over wonen.",
        "questions": "",
        **overrides,
    }


def test_registration_sent_four_times_creates_one_account(app):
    browser = _browser(app)
    results = _send_at_once(
        app,
        browser,
        "/auth/register",
        "/auth/register",
        {
            "name": "Femke de Boer",
            "email": "femke@amersfoort.example.nl",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "account_type": "client",
            "organisation_name": "Gemeente Amersfoort",
            "organisation_kind": "gemeente",
        },
    )
    _answered_as_the_first(results)
    assert _count(User) == 1
    assert _count(Organisation) == 1


def test_anonymous_enrollment_sent_four_times_enrolls_once(app, make_edition):
    edition = make_edition(capacity=5)
    page = f"/editions/{edition.id}/enroll"
    results = _send_at_once(
        app,
        _browser(app),
        page,
        page,
        {
            **BILLING_FORM,
            "email": "eva@example.nl",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    _answered_as_the_first(results)
    assert _count(User) == 1
    assert _count(Enrollment) == 1


def test_anonymous_inhouse_request_sent_four_times_makes_one_request(app, inhouse):
    course = inhouse.course(slug="inspiratie")
    page = f"/courses/{course.slug}/request"
    results = _send_at_once(app, _browser(app), page, page, _inhouse_form())
    _answered_as_the_first(results)
    assert _count(InhouseBooking) == 1
    assert _count(User) == 1
    assert _count(Organisation) == 1


def test_signed_in_inhouse_request_sent_four_times_makes_one_request(app, inhouse):
    course = inhouse.course(slug="inspiratie")
    client = inhouse.client_user()
    db.session.commit()
    page = f"/courses/{course.slug}/request"
    results = _send_at_once(app, _browser(app, client), page, page, _inhouse_form())
    _answered_as_the_first(results)
    assert _count(InhouseBooking) == 1


def test_inhouse_message_sent_four_times_is_posted_once(app, inhouse):
    booking = inhouse.booking()
    db.session.commit()
    page = f"/account/inhouse/{booking.id}"
    results = _send_at_once(
        app,
        _browser(app, booking.requested_by),
        page,
        f"{page}/messages",
        {"message-body": "Kan de sessie ook online?"},
        prefix="message-",
    )
    _answered_as_the_first(results)
    assert _count(InhouseMessage) == 1


def test_waiting_list_join_sent_four_times_joins_once(app, make_edition):
    edition = make_edition(capacity=1)
    edition.seats_taken = 1
    db.session.commit()
    page = f"/editions/{edition.id}/enroll"
    results = _send_at_once(
        app,
        _browser(app),
        page,
        f"/editions/{edition.id}/waitlist",
        {
            "name": "Eva de Vries",
            "email": "eva@example.nl",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "seats": "1",
        },
    )
    _answered_as_the_first(results)
    assert _count(User) == 1
    assert _count(WaitlistEntry) == 1


def test_participant_added_four_times_is_listed_once(app, inhouse):
    from bbtraining.bookings.inhouse.models import InhouseParticipant

    booking = inhouse.booking()
    db.session.commit()
    page = f"/account/inhouse/{booking.id}"
    results = _send_at_once(
        app,
        _browser(app, booking.requested_by),
        page,
        f"{page}/participants",
        {"participant-name": "Joost Raadslid", "participant-email": "joost@example.nl"},
        prefix="participant-",
    )
    _answered_as_the_first(results)
    assert _count(InhouseParticipant) == 1


def test_edition_duplicated_four_times_is_copied_once(app, make_edition, make_user):
    from bbtraining.courses.models import Edition

    edition = make_edition(capacity=5)
    admin = make_user("admin")
    db.session.commit()
    page = f"/admin/courses/editions/{edition.id}"
    first_day = (today_amsterdam() + timedelta(days=120)).isoformat()
    results = _send_at_once(
        app, _browser(app, admin), page, f"{page}/duplicate", {"first_day": first_day}
    )
    _answered_as_the_first(results)
    assert _count(Edition) == 2


def test_organisation_added_four_times_by_staff_is_added_once(app, make_user):
    admin = make_user("admin")
    db.session.commit()
    page = "/admin/organisations/"
    results = _send_at_once(
        app,
        _browser(app, admin),
        page,
        page,
        {"name": "Gemeente Leusden", "kind": "gemeente", "cbs_code": ""},
    )
    _answered_as_the_first(results)
    assert _count(Organisation) == 1


# -- one browser, one key: what a copy may and may not do --------------------------------------
def _register(client, fields: dict, **overrides):
    data = {
        "name": "Femke de Boer",
        "email": "femke@amersfoort.example.nl",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "account_type": "facilitator",
        "organisation_name": "",
        "organisation_kind": "gemeente",
        **fields,
        **overrides,
    }
    return client.post("/auth/register", data=data, csrf=False)


def test_a_form_sent_again_later_answers_as_the_first_and_signs_in_the_same_browser(app):
    browser = _browser(app)
    fields = _page_fields(browser, "/auth/register", "")
    cookie = browser.get_cookie("session").value
    first = _register(browser, fields)
    assert first.status_code == 302
    # The back button, or a copy whose first answer the browser never saw: the same answer.
    again = _browser(app)
    again.set_cookie("session", cookie)
    response = _register(again, fields)
    assert response.status_code == 303
    assert response.headers["Location"] == first.headers["Location"]
    page = again.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Dit formulier was al verstuurd. We hebben het één keer verwerkt." in page
    assert again.get("/account/").status_code == 200  # signed in, as the first answer left it
    assert _count(User) == 1


def test_a_refused_form_can_be_corrected_and_sent_with_the_same_key(app, make_organisation):
    make_organisation("Gemeente Amersfoort")
    db.session.commit()
    browser = _browser(app)
    fields = _page_fields(browser, "/auth/register", "")
    client_account = {"account_type": "client", "organisation_name": "Gemeente Amersfoort"}
    refused = _register(browser, fields, **client_account)
    assert refused.status_code == 400
    assert "heeft al een account bij ons" in refused.get_data(as_text=True)
    assert _count(User) == 0
    corrected = _register(
        browser, fields, **{**client_account, "organisation_name": "Gemeente Leusden"}
    )
    assert corrected.status_code == 302
    assert _count(User) == 1


def test_a_key_from_another_browser_replays_nothing(app):
    """A page served from the page cache would carry one key for many visitors: each visitor's
    session still makes it theirs, so the second visitor is served as a new submission."""
    first = _browser(app)
    fields = _page_fields(first, "/auth/register", "")
    assert _register(first, fields).status_code == 302
    other = _browser(app)
    other_fields = {
        **_page_fields(other, "/auth/register", ""),
        "submission_key": fields["submission_key"],
    }
    response = _register(other, other_fields, email="eva@example.nl", name="Eva")
    assert response.status_code == 302
    assert _count(User) == 2
    with other.session_transaction() as session:
        eva = db.session.scalar(select(User).where(User.email == "eva@example.nl"))
        assert session["_user_id"] == eva.get_id()


def test_four_browsers_registering_one_address_at_once_get_one_account(app):
    """Not a double click but a race between people: the unique key on the address decides,
    and the others are told in Dutch (web.commit_or_flash), never a 500."""
    browsers = [_browser(app) for _ in range(COPIES)]
    fields = [_page_fields(b, "/auth/register", "") for b in browsers]
    start = threading.Barrier(COPIES)
    answers: list = [None] * COPIES

    def send(i: int) -> None:
        start.wait()
        response = _register(browsers[i], fields[i], name=f"Femke {i}")
        answers[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(status for status, _body in answers).count(302) == 1, answers
    for status, body in answers:
        if status != 302:
            assert status in (200, 400, 409), body[-1500:]
            assert (
                "tegelijk met uw verzoek al vastgelegd" in body
                or "Er bestaat al een account met dit e-mailadres" in body
            ), body[-3000:]
    assert _count(User) == 1


def test_a_late_copy_is_answered_but_not_signed_in(app):
    """The back button on a shared computer after the new account signed out: the copy changes
    nothing and signs nobody in."""
    from datetime import UTC, datetime

    from bbtraining.submissions import SIGN_IN_SECONDS, FormSubmission

    browser = _browser(app)
    fields = _page_fields(browser, "/auth/register", "")
    cookie = browser.get_cookie("session").value
    first = _register(browser, fields)
    assert first.status_code == 302
    row = db.session.scalars(select(FormSubmission)).one()
    row.created_at = datetime.now(UTC) - timedelta(seconds=SIGN_IN_SECONDS + 1)
    db.session.commit()
    late = _browser(app)
    late.set_cookie("session", cookie)
    response = _register(late, fields)
    assert response.status_code == 303
    assert response.headers["Location"] == first.headers["Location"]
    assert late.get("/account/").status_code == 302  # to the login page
    assert _count(User) == 1
