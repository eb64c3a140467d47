"""Only the session's trainers and staff see or change its sheet; everyone else gets a 404 for
every sheet URL. Participants see only their own record."""

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.attendance import guests, marking
from bbtraining.bookings.attendance.models import AttendanceGuest, AttendanceRecord, SessionNote
from bbtraining.extensions import db
from tests.bookings.attendance import support

# The attendance fixtures (support.py), bound here so pytest finds them.
roster, make_run, make_lone_session = support.roster, support.make_run, support.make_lone_session
trainer, staff = support.trainer, support.staff


@pytest.fixture
def scene(make_run, make_lone_session, make_user, make_organisation, roster, trainer):
    co_trainer = make_user("trainer", email="co@example.nl", name="Co Trainer")
    edition = make_run(trainer=trainer, edition_trainers=(trainer, co_trainer), starts=(-30,))
    session = edition.sessions[0]
    eva = make_user("facilitator", email="eva@example.nl", name="Eva")
    key = roster.enroll(eva).key
    inhouse = make_lone_session(trainer=trainer)
    guest = guests.add_guest(inhouse, name="Gast", email="gast@example.nl", role=None, by=trainer)
    db.session.commit()
    return {
        "session": session,
        "edition": edition,
        "inhouse": inhouse,
        "guest": guest,
        "key": key,
        "eva": eva,
        "co_trainer": co_trainer,
        "other_trainer": make_user("trainer", email="other@example.nl"),
        "client_user": make_user(
            "client", email="griffie@example.nl", organisation=make_organisation()
        ),
    }


def _urls(scene):
    s, e, ih, g, key = (
        scene["session"].id,
        scene["edition"].id,
        scene["inhouse"].id,
        scene["guest"].id,
        scene["key"],
    )
    gets = [
        f"/attendance/sessions/{s}",
        f"/attendance/sessions/{s}/state",
        f"/attendance/sessions/{s}/check-in-code",
        f"/attendance/sessions/{s}/check-in-code.svg",
        f"/attendance/sessions/{s}/attendance.csv",
        f"/attendance/sessions/{s}/attendance.xlsx",
        f"/attendance/sessions/{s}/sign-in-sheet.pdf",
        f"/attendance/sessions/{s}/completion",
        f"/attendance/editions/{e}/attendance.csv",
        f"/attendance/editions/{e}/attendance.xlsx",
        f"/attendance/sessions/{ih}",
    ]
    posts = [
        (f"/attendance/sessions/{s}/mark", {"key": key, "status": "present"}),
        (f"/attendance/sessions/{s}/everyone-present", {}),
        (f"/attendance/sessions/{s}/confirm", {"key": key}),
        (f"/attendance/sessions/{s}/details", {"key": key, "note": "x"}),
        (f"/attendance/sessions/{s}/note", {"text": "Notitie"}),
        (f"/attendance/sessions/{ih}/guests", {"name": "Indringer", "email": "i@example.nl"}),
        (f"/attendance/sessions/{ih}/guests/{g}/remove", {}),
    ]
    return gets, posts


def _nothing_changed():
    assert db.session.scalar(select(func.count(AttendanceRecord.id))) == 0
    assert db.session.scalar(select(func.count(SessionNote.session_id))) == 0
    assert db.session.scalar(select(func.count(AttendanceGuest.id))) == 1


@pytest.mark.parametrize("who", ["other_trainer", "eva", "client_user"])
def test_everyone_else_gets_404_on_every_sheet_url(scene, client, login, who):
    login(scene[who])
    gets, posts = _urls(scene)
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url, data in posts:
        assert client.post(url, data=data).status_code == 404, url
    _nothing_changed()


def test_anonymous_visitors_are_sent_to_log_in(scene, client):
    gets, posts = _urls(scene)
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.location, url
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 302 and "/auth/login" in response.location, url
    _nothing_changed()


def test_unknown_ids_are_404_for_staff_too(scene, client, login, staff):
    login(staff)
    for url in (
        "/attendance/sessions/9999",
        "/attendance/sessions/9999/attendance.csv",
        "/attendance/editions/9999/attendance.xlsx",
    ):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["session_trainer", "co_trainer", "staff"])
def test_trainers_of_the_session_and_staff_may(scene, client, login, who, trainer, staff):
    user = {"session_trainer": trainer, "co_trainer": scene["co_trainer"], "staff": staff}[who]
    login(user)
    gets, posts = _urls(scene)
    for url in gets:
        if who == "co_trainer" and url.endswith(f"/sessions/{scene['inhouse'].id}"):
            assert client.get(url).status_code == 404  # not their inhouse session
            continue
        assert client.get(url).status_code == 200, url
    mark_url, data = posts[0]
    assert client.post(mark_url, data=data).status_code == 302
    assert db.session.scalar(select(func.count(AttendanceRecord.id))) == 1


def test_participants_see_only_their_own_record(scene, client, login, make_user, roster, trainer):
    session = scene["session"]
    jan = make_user("facilitator", email="jan@example.nl", name="Jan Jansen")
    jan_key = roster.enroll(jan).key
    marking.mark(session, scene["key"], "present", by=trainer)
    marking.mark(session, jan_key, "absent", by=trainer)
    marking.set_details(session, jan_key, arrival=None, note="Geheime notitie", by=trainer)
    db.session.commit()
    login(scene["eva"])
    page = client.get("/account/").get_data(as_text=True)
    assert "Aanwezigheid en certificaten" in page
    assert session.course.title in page and "<td>Aanwezig" in page
    assert "Jan Jansen" not in page and "Geheime notitie" not in page
    client.post("/auth/logout")
    login(jan)
    page = client.get("/account/").get_data(as_text=True)
    assert "<td>Afwezig" in page and "<td>Aanwezig" not in page
