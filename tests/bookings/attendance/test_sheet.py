"""The trainer's sheet: one tap per participant, everyone present, arrival and notes, guests."""

from datetime import time

import pytest
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.attendance import check_in, guests, marking, sheet
from bbtraining.bookings.attendance.models import AttendanceGuest, AttendanceRecord, SessionNote
from bbtraining.bookings.sessions.participants import session_participants
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.bookings.attendance import support

# The attendance fixtures (support.py), bound here so pytest finds them.
roster, make_run, make_lone_session = support.roster, support.make_run, support.make_lone_session
trainer, staff = support.trainer, support.staff


def _records(session_id=None):
    query = select(AttendanceRecord).order_by(AttendanceRecord.id)
    if session_id is not None:
        query = query.where(AttendanceRecord.session_id == session_id)
    return list(db.session.scalars(query))


def _audit(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def group(make_run, make_user, roster, trainer):
    edition = make_run(trainer=trainer)
    people = [
        make_user("facilitator", name=name, email=f"{name.split()[0].lower()}@example.nl")
        for name in ("Eva de Boer", "Jan Jansen", "Fatima Amrani")
    ]
    keys = [roster.enroll(user).key for user in people]
    return edition, edition.sessions[0], people, keys


def test_sheet_lists_participants_without_the_trainer(group, trainer):
    _edition, session, people, _keys = group
    built = sheet.build_sheet(session)
    assert [row.participant.name for row in built.rows] == [
        "Eva de Boer",
        "Fatima Amrani",
        "Jan Jansen",
    ]
    assert trainer.email in [p.email for p in session_participants(session)]
    assert built.counts["unmarked"] == 3 and built.counts["total"] == 3


def test_mark_changes_and_audits_every_change(group, trainer):
    _edition, session, people, keys = group
    record = marking.mark(session, keys[0], "present", by=trainer)
    db.session.commit()
    assert (record.status, record.source, record.user_id) == ("present", "trainer", people[0].id)
    assert record.arrived_at is not None  # ticked during the session: the arrival is now
    assert record.confirmed_at is not None and record.marked_by_id == trainer.id
    marking.mark(session, keys[0], "absent", by=trainer)
    marking.mark(session, keys[0], "absent", by=trainer)  # the same tap again changes nothing
    db.session.commit()
    assert record.status == "absent" and record.arrived_at is None
    entries = _audit("attendance.marked")
    assert [(e.data["old"], e.data["new"]) for e in entries] == [
        (None, "present"),
        ("present", "absent"),
    ]
    assert {e.actor_id for e in entries} == {trainer.id}


def test_staff_marks_are_recorded_as_staff(group, staff):
    _edition, session, _people, keys = group
    assert marking.mark(session, keys[1], "excused", by=staff).source == "staff"


@pytest.mark.parametrize("status", ["", "maybe", "PRESENT"])
def test_unknown_status_is_refused(group, trainer, status):
    _edition, session, _people, keys = group
    with pytest.raises(DomainError, match="Kies aanwezig, afwezig of afgemeld"):
        marking.mark(session, keys[0], status, by=trainer)
    assert _records() == []


def test_someone_not_on_the_list_is_refused(group, trainer):
    _edition, session, _people, _keys = group
    with pytest.raises(DomainError, match="staat niet op de lijst"):
        marking.mark(session, "enrollment:999", "present", by=trainer)
    with pytest.raises(DomainError, match="staat niet op de lijst"):
        marking.mark(session, f"trainer:{trainer.id}", "present", by=trainer)
    assert _records() == []


def test_cancelled_session_takes_no_attendance(group, trainer):
    _edition, session, _people, keys = group
    session.cancel("Ziek")
    db.session.commit()
    with pytest.raises(DomainError, match="geannuleerd"):
        marking.mark(session, keys[0], "present", by=trainer)
    with pytest.raises(DomainError, match="geannuleerd"):
        marking.mark_everyone_present(session, by=trainer)
    assert _records() == []


def test_before_the_session_only_excused(make_run, make_user, roster, trainer):
    edition = make_run(trainer=trainer, starts=(24 * 60,))
    session = edition.sessions[0]
    key = roster.enroll(make_user("facilitator")).key
    with pytest.raises(DomainError, match="vanaf 30 minuten voor de start"):
        marking.mark(session, key, "present", by=trainer)
    assert _records() == []
    record = marking.mark(session, key, "excused", by=trainer)
    assert record.status == "excused" and record.arrived_at is None


def test_everyone_present_keeps_absences_and_confirms_check_ins(group, trainer):
    _edition, session, people, keys = group
    marking.mark(session, keys[1], "absent", by=trainer)
    check_in.check_in(session, people[2])
    db.session.commit()
    changed = marking.mark_everyone_present(session, by=trainer)
    db.session.commit()
    assert changed == 2
    by_key = {r.participant_key: r for r in _records()}
    assert by_key[keys[0]].status == "present"
    assert by_key[keys[1]].status == "absent"
    assert by_key[keys[2]].status == "present" and not by_key[keys[2]].awaiting_confirmation
    assert by_key[keys[2]].source == "self-check-in"  # confirmed, still known as self check-in
    assert marking.mark_everyone_present(session, by=trainer) == 0
    assert len(_audit("attendance.everyone_present")) == 1


def test_arrival_time_and_note(group, trainer):
    _edition, session, _people, keys = group
    local_start = session.local_start
    arrival = time(local_start.hour, local_start.minute) if local_start.minute < 50 else None
    arrival = arrival or time(local_start.hour, 50)
    record = marking.set_details(session, keys[0], arrival=arrival, note="Kwam later", by=trainer)
    db.session.commit()
    assert record.status == "present"  # an arrival time says they came
    assert record.arrived_at.astimezone(local_start.tzinfo).time() == arrival
    assert record.note == "Kwam later"
    marking.set_details(session, keys[0], arrival=None, note="", by=trainer)
    db.session.commit()
    assert record.arrived_at is None and record.note is None
    assert len(_audit("attendance.details")) == 2


def test_arrival_outside_the_session_is_refused(group, trainer):
    _edition, session, _people, keys = group
    late = (session.local_end.hour + 1) % 24
    with pytest.raises(DomainError, match="aankomsttijd tussen"):
        marking.set_details(session, keys[0], arrival=time(late, 0), note=None, by=trainer)
    assert _records() == []


def test_note_needs_a_mark_first(group, trainer):
    _edition, session, _people, keys = group
    with pytest.raises(DomainError, match="Noteer eerst"):
        marking.set_details(session, keys[0], arrival=None, note="Belde af", by=trainer)
    assert _records() == []


def test_session_note(group, trainer):
    _edition, session, _people, _keys = group
    marking.set_session_note(session, "  Veel vragen over loting.  ", by=trainer)
    db.session.commit()
    note = db.session.get(SessionNote, session.id)
    assert note.text == "Veel vragen over loting." and note.updated_by_id == trainer.id
    marking.set_session_note(session, "Veel vragen over loting.", by=trainer)  # unchanged
    db.session.commit()
    assert len(_audit("attendance.session_note")) == 1


def test_guests_only_for_inhouse_sessions(group, make_lone_session, trainer, roster):
    _edition, session, _people, _keys = group
    with pytest.raises(DomainError, match="alleen bij inhouse sessies"):
        guests.add_guest(session, name="Gast", email="gast@example.nl", role=None, by=trainer)
    inhouse = make_lone_session(trainer=trainer)
    roster.add("inhouse:1:7", "Raadslid Klaas", "klaas@example.nl", session=inhouse)
    guest = guests.add_guest(
        inhouse, name=" Griffier Gerda ", email="Gerda@Example.nl", role="griffier", by=trainer
    )
    db.session.commit()
    keys = [p.key for p in sheet.sheet_participants(inhouse)]
    assert f"guest:{guest.id}" in keys and "inhouse:1:7" in keys
    row = next(r for r in sheet.build_sheet(inhouse).rows if r.guest is not None)
    assert (row.participant.name, row.participant.email, row.detail) == (
        "Griffier Gerda",
        "gerda@example.nl",
        "griffier",
    )
    # Somebody already on the list (by any provider) is not added twice.
    for email in ("gerda@example.nl", "KLAAS@example.nl"):
        with pytest.raises(DomainError, match="staat al op de lijst"):
            guests.add_guest(inhouse, name="Dubbel", email=email, role=None, by=trainer)
    db.session.rollback()
    assert db.session.scalar(select(func.count(AttendanceGuest.id))) == 1
    # Removing a guest removes their attendance too.
    marking.mark(inhouse, f"guest:{guest.id}", "present", by=trainer)
    guests.remove_guest(inhouse, guest.id, by=trainer)
    db.session.commit()
    assert _records() == []
    assert f"guest:{guest.id}" not in [p.key for p in sheet.sheet_participants(inhouse)]


# -- through the web -----------------------------------------------------------------------------
def _json(response):
    assert response.is_json, response.data[:300]
    return response.get_json()


def test_tap_without_javascript_redirects_back_to_the_row(group, trainer, client, login):
    _edition, session, _people, keys = group
    login(trainer)
    response = client.post(
        f"/attendance/sessions/{session.id}/mark", data={"key": keys[0], "status": "present"}
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/attendance/sessions/{session.id}#p-{keys[0]}")
    page = client.get(f"/attendance/sessions/{session.id}").get_data(as_text=True)
    assert 'aria-pressed="true">Aanwezig' in page
    assert "1 aanwezig" in page and "2 nog niet genoteerd" in page


def test_tap_with_fetch_returns_the_sheet_state(group, trainer, client, login):
    _edition, session, _people, keys = group
    login(trainer)
    response = client.post(
        f"/attendance/sessions/{session.id}/mark",
        data={"key": keys[1], "status": "excused"},
        headers={"Accept": "application/json"},
    )
    state = _json(response)
    assert response.status_code == 200
    row = next(r for r in state["rows"] if r["key"] == keys[1])
    assert row["status"] == "excused" and row["pending"] is False
    assert state["counts"]["excused"] == 1
    assert state["counts_text"].startswith("0 aanwezig · 0 afwezig · 1 afgemeld")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "present"}, "Kies een deelnemer"),
        ({"key": "enrollment:1", "status": "perhaps"}, "Kies aanwezig, afwezig of afgemeld"),
        ({"key": "enrollment:42", "status": "present"}, "staat niet op de lijst"),
    ],
)
def test_bad_taps_give_a_dutch_400_and_change_nothing(group, trainer, client, login, data, message):
    _edition, session, _people, _keys = group
    login(trainer)
    page = client.post(f"/attendance/sessions/{session.id}/mark", data=data)
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    api = client.post(
        f"/attendance/sessions/{session.id}/mark",
        data=data,
        headers={"Accept": "application/json"},
    )
    assert api.status_code == 400 and message in _json(api)["error"]
    assert _records() == []


def test_tap_without_csrf_token_is_refused(group, trainer, client, login):
    _edition, session, _people, keys = group
    login(trainer)
    response = client.post(
        f"/attendance/sessions/{session.id}/mark",
        data={"key": keys[0], "status": "present"},
        csrf=False,
    )
    assert response.status_code == 400
    assert _records() == []


def test_csrf_header_is_accepted_like_the_form_field(group, trainer, client, login):
    _edition, session, _people, keys = group
    login(trainer)
    token = client._token()
    response = client.post(
        f"/attendance/sessions/{session.id}/mark",
        data={"key": keys[0], "status": "present"},
        headers={"Accept": "application/json", "X-CSRFToken": token},
        csrf=False,
    )
    assert response.status_code == 200
    assert _records()[0].status == "present"


def test_everyone_present_and_details_through_the_web(group, trainer, client, login):
    _edition, session, _people, keys = group
    login(trainer)
    client.post(
        f"/attendance/sessions/{session.id}/mark", data={"key": keys[2], "status": "absent"}
    )
    response = client.post(
        f"/attendance/sessions/{session.id}/everyone-present",
        headers={"Accept": "application/json"},
    )
    state = _json(response)
    assert state["counts"]["present"] == 2 and state["counts"]["absent"] == 1
    assert state["message"] == "2 deelnemers als aanwezig genoteerd."
    bad = client.post(
        f"/attendance/sessions/{session.id}/details",
        data={"key": keys[0], "arrival": "25:99", "note": ""},
    )
    assert bad.status_code == 400 and "uu:mm" in bad.get_data(as_text=True)
    assert _records(session.id)[1].arrived_at is not None  # unchanged by the bad request
    ok = client.post(
        f"/attendance/sessions/{session.id}/details",
        data={"key": keys[0], "arrival": "", "note": "Wil certificaat op andere naam"},
    )
    assert ok.status_code == 302
    record = next(r for r in _records() if r.participant_key == keys[0])
    assert record.note == "Wil certificaat op andere naam" and record.arrived_at is None


def test_session_note_and_guest_through_the_web(make_lone_session, trainer, client, login):
    session = make_lone_session(trainer=trainer)
    login(trainer)
    response = client.post(
        f"/attendance/sessions/{session.id}/note", data={"text": "Goede sfeer, 2 raadsleden."}
    )
    assert response.status_code == 302
    assert db.session.get(SessionNote, session.id).text == "Goede sfeer, 2 raadsleden."
    missing = client.post(
        f"/attendance/sessions/{session.id}/guests", data={"name": "", "email": "x"}
    )
    assert missing.status_code == 400 and "Vul een naam in." in missing.get_data(as_text=True)
    wrong = client.post(
        f"/attendance/sessions/{session.id}/guests", data={"name": "Piet", "email": "geen-adres"}
    )
    assert wrong.status_code == 400
    assert "Vul een geldig e-mailadres in." in wrong.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AttendanceGuest.id))) == 0
    added = client.post(
        f"/attendance/sessions/{session.id}/guests",
        data={"name": "Piet Raadslid", "email": "piet@example.nl", "role": "raadslid"},
    )
    assert added.status_code == 302
    page = client.get(added.location).get_data(as_text=True)
    assert "Piet Raadslid" in page and "raadslid" in page


def test_sheet_page_is_built_for_a_phone(group, trainer, client, login):
    _edition, session, _people, _keys = group
    login(trainer)
    page = client.get(f"/attendance/sessions/{session.id}").get_data(as_text=True)
    assert 'name="viewport"' in page
    assert "js/attendance.js" in page and "css/attendance.css" in page
    assert "Iedereen aanwezig" in page and "QR-code tonen" in page
    assert 'data-poll="5000"' in page  # the session runs: the sheet polls for check-ins
    assert "style=" not in page  # CSP forbids inline styles
    assert page.count('role="group"') == 3


def test_state_endpoint_for_polling(group, trainer, client, login):
    _edition, session, people, keys = group
    check_in.check_in(session, people[0], now=utcnow())
    db.session.commit()
    login(trainer)
    response = client.get(f"/attendance/sessions/{session.id}/state")
    state = _json(response)
    assert response.headers["Cache-Control"] == "no-store"
    row = next(r for r in state["rows"] if r["key"] == keys[0])
    assert row["status"] == "present" and row["pending"] is True
    assert state["counts"]["awaiting"] == 1
    assert "1 wacht op bevestiging" in state["counts_text"]


def test_two_trainers_tapping_the_same_people_at_once(app, group, make_user, trainer):
    """A co-trainer and the trainer tick the same participants at the same moment: both get an
    answer (no 500), and each participant has one record."""
    import re
    import threading

    import requests

    from tests.browser.conftest import LiveServer
    from tests.conftest import PASSWORD

    edition, session, _people, keys = group
    co = make_user("trainer", email="co@example.nl")
    edition.trainers.append(co)
    db.session.commit()
    mark_url = f"/attendance/sessions/{session.id}/mark"
    server = LiveServer(app).start()
    try:
        browsers = []
        for user in (trainer, co):
            http = requests.Session()
            page = http.get(server.url + "/auth/login", timeout=10).text
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            http.post(
                server.url + "/auth/login",
                data={"email": user.email, "password": PASSWORD, "csrf_token": token},
                timeout=10,
            )
            page = http.get(server.url + "/account/", timeout=10).text  # a new session, a new token
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            browsers.append((http, token))
        results = []
        for key in keys:
            barrier = threading.Barrier(2)

            def tap(http, token, status, key=key, barrier=barrier):
                barrier.wait()
                response = http.post(
                    server.url + mark_url,
                    data={"key": key, "status": status},
                    headers={"Accept": "application/json", "X-CSRFToken": token},
                    timeout=30,
                )
                results.append(response.status_code)

            threads = [
                threading.Thread(target=tap, args=(*browsers[0], "present")),
                threading.Thread(target=tap, args=(*browsers[1], "absent")),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
    finally:
        server.stop()
    assert results == [200] * 6
    db.session.expire_all()
    per_key = {r.participant_key for r in _records(session.id)}
    assert per_key == set(keys) and len(_records(session.id)) == 3


def test_a_refused_tap_keeps_the_session_notes_on_the_page(group, trainer, client, login):
    _edition, session, _people, _keys = group
    marking.set_session_note(session, "Bewaarde notitie", by=trainer)
    db.session.commit()
    login(trainer)
    page = client.post(
        f"/attendance/sessions/{session.id}/mark", data={"key": "enrollment:999", "status": "x"}
    )
    assert page.status_code == 400
    assert "Bewaarde notitie</textarea>" in page.get_data(as_text=True)


def test_tally_counts_each_participant_once(group, trainer, client, login):
    """Issue #15: "3 aanwezig ... 1 wacht op bevestiging" with 3 participants."""
    _edition, session, people, keys = group
    check_in.check_in(session, people[0], now=utcnow())
    for key in keys[1:]:
        marking.mark(session, key, "present", by=trainer)
    db.session.commit()
    login(trainer)
    state = _json(client.get(f"/attendance/sessions/{session.id}/state"))
    total = len(keys)
    assert state["counts"]["present"] == total - 1 and state["counts"]["awaiting"] == 1
    assert (
        state["counts_text"]
        == f"{total - 1} aanwezig · 0 afwezig · 0 afgemeld · 1 wacht op bevestiging"
    )
    parts = ("present", "absent", "excused", "unmarked", "awaiting")
    assert sum(state["counts"][part] for part in parts) == state["counts"]["total"] == total
    page = client.get(f"/attendance/sessions/{session.id}").get_data(as_text=True)
    assert f"{total - 1} aanwezig · 0 afwezig · 0 afgemeld · 1 wacht op bevestiging" in page
    # Once confirmed, they count as present.
    client.post(f"/attendance/sessions/{session.id}/confirm", data={"key": keys[0]})
    state = _json(client.get(f"/attendance/sessions/{session.id}/state"))
    assert state["counts_text"] == f"{total} aanwezig · 0 afwezig · 0 afgemeld"
