"""Self check-in: a rotating QR code, valid only while the session runs."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bbtraining.bookings.attendance import check_in, marking
from bbtraining.bookings.attendance.models import AttendanceRecord
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.bookings.attendance import support

ROTATION = timedelta(seconds=check_in.CHECK_IN_ROTATION_SECONDS)

# The attendance fixtures (support.py), bound here so pytest finds them.
roster, make_run, make_lone_session = support.roster, support.make_run, support.make_lone_session
trainer, staff = support.trainer, support.staff


@pytest.fixture
def running(make_run, make_user, roster, trainer):
    edition = make_run(trainer=trainer, starts=(-20,), minutes=120)
    eva = make_user("facilitator", name="Eva de Boer", email="eva@example.nl")
    key = roster.enroll(eva).key
    return edition.sessions[0], eva, key


def _records():
    return list(db.session.scalars(select(AttendanceRecord)))


def test_window_opens_half_an_hour_before_and_closes_at_the_end(running):
    session, _eva, _key = running
    opens = session.starts_at - timedelta(minutes=30)
    assert not marking.session_running(session, opens - timedelta(seconds=1))
    assert marking.session_running(session, opens)
    assert marking.session_running(session, session.ends_at)
    assert not marking.session_running(session, session.ends_at + timedelta(seconds=1))


def test_token_before_during_and_after(running):
    session, _eva, _key = running
    before = session.starts_at - timedelta(minutes=31)
    with pytest.raises(DomainError, match="alleen tijdens de sessie"):
        check_in.check_in_token(session, before)
    during = session.starts_at + timedelta(minutes=10)
    token = check_in.check_in_token(session, during)
    assert check_in.check_in_token_valid(session, token, during)
    after = session.ends_at + timedelta(seconds=1)
    with pytest.raises(DomainError, match="alleen tijdens de sessie"):
        check_in.check_in_token(session, after)
    # A token of the last minute stops working the moment the session ends.
    last = session.ends_at - timedelta(seconds=1)
    assert not check_in.check_in_token_valid(session, check_in.check_in_token(session, last), after)
    # ...and a token made up for before the window opened is never valid.
    assert not check_in.check_in_token_valid(
        session, check_in._check_in_digest(session.id, check_in._window(before)), before
    )


def test_token_rotates_and_only_the_previous_one_still_works(running):
    session, _eva, _key = running
    now = session.starts_at + timedelta(minutes=10)
    token = check_in.check_in_token(session, now)
    next_window = now + ROTATION
    assert check_in.check_in_token(session, next_window) != token  # rotated
    assert check_in.check_in_token_valid(session, token, next_window)  # the previous: accepted
    assert not check_in.check_in_token_valid(session, token, now + 2 * ROTATION)  # old


def test_forged_and_foreign_tokens_are_refused(running, make_run, trainer):
    session, _eva, _key = running
    now = session.starts_at + timedelta(minutes=10)
    other = make_run(trainer=trainer, starts=(-20,)).sessions[0]
    assert not check_in.check_in_token_valid(session, check_in.check_in_token(other, now), now)
    real = check_in.check_in_token(session, now)
    last_changed = real[:-1] + ("B" if real.endswith("A") else "A")  # never the real token
    for forged in ("", "AAAAAAAAAAAAAAAA", last_changed):
        assert not check_in.check_in_token_valid(session, forged, now)


def test_check_in_service(running, make_user, trainer):
    session, eva, key = running
    record, changed = check_in.check_in(session, eva)
    db.session.commit()
    assert changed and record.status == "present" and record.source == "self-check-in"
    assert record.awaiting_confirmation and record.arrived_at is not None
    assert record.marked_by_id == eva.id
    assert check_in.check_in(session, eva) == (record, False)  # twice changes nothing
    marking.confirm_check_in(session, key, by=trainer)
    db.session.commit()
    assert not record.awaiting_confirmation and record.confirmed_by_id == trainer.id
    with pytest.raises(DomainError, match="niets te bevestigen"):
        marking.confirm_check_in(session, key, by=trainer)
    stranger = make_user("facilitator", email="stranger@example.nl")
    with pytest.raises(DomainError, match="niet op de deelnemerslijst"):
        check_in.check_in(session, stranger)


@pytest.mark.parametrize("status", ["absent", "excused"])
def test_check_in_does_not_override_the_trainers_absence_mark(running, trainer, status):
    """Issue #15: a scan silently turned the trainer's "Afwezig" into present."""
    session, eva, key = running
    marking.mark(session, key, status, by=trainer)
    db.session.commit()
    with pytest.raises(DomainError, match="De trainer heeft u voor deze sessie als afwezig"):
        check_in.check_in(session, eva)
    db.session.rollback()
    [record] = _records()
    assert record.status == status and record.source == "trainer"
    assert not record.awaiting_confirmation
    # The trainer can still change it: the rule binds only the participant's own scan.
    marking.mark(session, key, "present", by=trainer)
    assert record.status == "present"


def test_inhouse_participant_matches_by_verified_email(make_lone_session, make_user, roster):
    session = make_lone_session(start=-10)
    roster.add("inhouse:3:9", "Wethouder Wim", "wim@example.nl", session=session)
    unverified = make_user("client", email="wim@example.nl", verified=False)
    with pytest.raises(DomainError, match="niet op de deelnemerslijst"):
        check_in.check_in(session, unverified)
    unverified.mark_email_verified()
    record, changed = check_in.check_in(session, unverified)
    assert changed and record.participant_key == "inhouse:3:9"


# -- through the web -----------------------------------------------------------------------------
def _scan_url(session):
    return f"/check-in/{session.id}/{check_in.check_in_token(session, utcnow())}"


def test_scan_log_in_and_confirm(running, client, login):
    session, eva, key = running
    response = client.get(_scan_url(session))
    assert response.status_code == 302
    confirm_url = response.location
    assert urlsplit(confirm_url).path == f"/check-in/{session.id}"
    # Not logged in yet: the login page, which returns here afterwards (grant and all).
    to_login = client.get(confirm_url)
    assert to_login.status_code == 302 and "/auth/login" in to_login.location
    login_response = client.post(
        to_login.location, data={"email": eva.email, "password": "een-goed-wachtwoord-42"}
    )
    assert login_response.status_code == 302
    assert login_response.location.startswith(f"/check-in/{session.id}?grant=")
    page = client.get(login_response.location)
    assert page.status_code == 200 and "Ik ben aanwezig" in page.get_data(as_text=True)
    grant = parse_qs(urlsplit(login_response.location).query)["grant"][0]
    done = client.post(f"/check-in/{session.id}", data={"grant": grant})
    assert done.status_code == 200
    assert "U bent aangemeld als aanwezig" in done.get_data(as_text=True)
    [record] = _records()
    assert record.participant_key == key and record.awaiting_confirmation


def test_trainer_sees_the_check_in_appear_and_confirms(running, trainer, client, login):
    session, eva, key = running
    check_in.check_in(session, eva)
    db.session.commit()
    login(trainer)
    page = client.get(f"/attendance/sessions/{session.id}").get_data(as_text=True)
    assert "Zelf aangemeld" in page and "Aanmelding bevestigen" in page
    state = client.post(
        f"/attendance/sessions/{session.id}/confirm",
        data={"key": key},
        headers={"Accept": "application/json"},
    ).get_json()
    assert state["rows"][0]["pending"] is False and state["counts"]["awaiting"] == 0


def test_old_token_gives_a_dutch_400_and_changes_nothing(running, client, login):
    session, eva, _key = running
    login(eva)
    old = check_in._check_in_digest(session.id, check_in._window(utcnow()) - 2)
    response = client.get(f"/check-in/{session.id}/{old}")
    assert response.status_code == 400
    assert "Deze QR-code is verlopen of ongeldig" in response.get_data(as_text=True)
    forged = client.get(f"/check-in/{session.id}/niet-echt")
    assert forged.status_code == 400
    assert _records() == []


def test_scan_outside_the_session_is_refused(make_run, make_user, roster, client, trainer):
    tomorrow = make_run(trainer=trainer, starts=(24 * 60,)).sessions[0]
    token = check_in._check_in_digest(tomorrow.id, check_in._window(utcnow()))
    response = client.get(f"/check-in/{tomorrow.id}/{token}")
    assert response.status_code == 400
    assert "alleen tijdens de sessie" in response.get_data(as_text=True)
    assert client.get(f"/check-in/99999/{token}").status_code == 404


def test_forged_or_expired_grant_is_refused(running, client, login):
    session, eva, _key = running
    login(eva)
    for grant in ("", "bogus", "eyJzZXNzaW9uIjoxfQ.AAAA.BBBB"):
        response = client.post(f"/check-in/{session.id}", data={"grant": grant})
        assert response.status_code == 400
        assert "Deze aanmeldlink is verlopen" in response.get_data(as_text=True)
    # A grant for another session does not transfer.
    scan = client.get(_scan_url(session))
    grant = parse_qs(urlsplit(scan.location).query)["grant"][0]
    assert client.post(f"/check-in/{session.id + 1}", data={"grant": grant}).status_code in (
        400,
        404,
    )
    assert _records() == []


def test_not_on_the_list_gets_a_clear_message(running, make_user, client, login):
    session, _eva, _key = running
    stranger = make_user("facilitator", email="stranger@example.nl")
    login(stranger)
    scan = client.get(_scan_url(session))
    grant = parse_qs(urlsplit(scan.location).query)["grant"][0]
    response = client.post(f"/check-in/{session.id}", data={"grant": grant})
    assert response.status_code == 400
    assert "U staat niet op de deelnemerslijst" in response.get_data(as_text=True)
    assert _records() == []


def test_qr_page_shows_an_inline_svg_with_nothing_external(running, trainer, client, login):
    session, _eva, _key = running
    login(trainer)
    page = client.get(f"/attendance/sessions/{session.id}/check-in-code")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert 'viewBox="' in svg and "style=" not in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    fresh = client.get(f"/attendance/sessions/{session.id}/check-in-code.svg")
    assert fresh.mimetype == "image/svg+xml" and fresh.data.startswith(b"<svg")
    assert fresh.headers["Cache-Control"] == "no-store"


def test_qr_code_encodes_the_current_check_in_url(running, trainer, client, login):
    """The drawn code is exactly segno's code for this session's check-in address (the same
    data gives the same matrix), and that address checks people in."""
    import segno

    session, _eva, _key = running
    login(trainer)
    svg = client.get(f"/attendance/sessions/{session.id}/check-in-code.svg").get_data(as_text=True)
    drawn = re.findall(r' d="([^"]+)"', svg)[-1]  # the dark modules, after the background
    window = check_in._window(utcnow())
    candidates = {}
    for w in (window, window - 1):  # the page may have been drawn just before a rotation
        url = f"http://localhost/check-in/{session.id}/{check_in._check_in_digest(session.id, w)}"
        expected = segno.make(url, error="m").svg_inline(scale=1, border=4, omitsize=True)
        candidates[re.search(r' d="([^"]+)"', expected).group(1)] = url
    assert drawn in candidates
    client.post("/auth/logout")
    assert client.get(urlsplit(candidates[drawn]).path).status_code == 302


def test_qr_page_outside_the_session(make_run, trainer, client, login):
    session = make_run(trainer=trainer, starts=(3 * 60,)).sessions[0]
    login(trainer)
    page = client.get(f"/attendance/sessions/{session.id}/check-in-code")
    assert page.status_code == 409 and "<svg" not in page.get_data(as_text=True)
    assert "alleen tijdens de sessie" in page.get_data(as_text=True)
    assert client.get(f"/attendance/sessions/{session.id}/check-in-code.svg").status_code == 409


def _landing(client, session):
    """Scan the code and open the page it leads to (logged in already)."""
    scan = client.get(_scan_url(session))
    assert scan.status_code == 302
    return client.get(scan.location), parse_qs(urlsplit(scan.location).query)["grant"][0]


def test_non_participant_is_told_on_the_landing_page(running, make_user, client, login):
    """Issue #15: they heard it only after tapping "Ik ben aanwezig"."""
    session, _eva, _key = running
    login(make_user("facilitator", email="stranger@example.nl"))
    page, _grant = _landing(client, session)
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "U staat niet op de deelnemerslijst van deze sessie. Meld u bij de trainer." in text
    assert "Ik ben aanwezig" not in text  # no button that can only be refused
    assert _records() == []


def test_participant_marked_absent_is_told_on_the_landing_page_and_on_tapping(
    running, trainer, client, login
):
    session, eva, key = running
    marking.mark(session, key, "absent", by=trainer)
    db.session.commit()
    login(eva)
    page, grant = _landing(client, session)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "Ik ben aanwezig" not in text
    assert "De trainer heeft u voor deze sessie als afwezig of afgemeld genoteerd." in text
    # A button tapped from an older page is refused just the same, and changes nothing.
    tapped = client.post(f"/check-in/{session.id}", data={"grant": grant})
    assert tapped.status_code == 400
    assert "De trainer heeft u voor deze sessie als afwezig" in tapped.get_data(as_text=True)
    db.session.expire_all()
    [record] = _records()
    assert record.status == "absent" and record.source == "trainer"


def test_participant_sees_the_button_on_the_landing_page(running, client, login):
    session, eva, _key = running
    login(eva)
    page, _grant = _landing(client, session)
    assert page.status_code == 200 and "Ik ben aanwezig" in page.get_data(as_text=True)
