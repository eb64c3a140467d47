"""Issue #15 item 17: before a session its trainers read who is coming on a read-only page; the
sheet still takes marks only from 30 minutes before the start."""

import pytest
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.attendance import marking
from bbtraining.bookings.attendance.models import AttendanceRecord
from bbtraining.extensions import db
from tests.bookings.attendance import support

roster, make_run, trainer, staff = support.roster, support.make_run, support.trainer, support.staff


@pytest.fixture
def upcoming(make_run, make_user, make_organisation, roster, trainer):
    co_trainer = make_user("trainer", email="co@example.nl", name="Co Trainer")
    # Three days ahead: long before the sheet opens.
    edition = make_run(trainer=trainer, edition_trainers=(trainer, co_trainer), starts=(3 * 1440,))
    session = edition.sessions[0]
    utrecht = make_organisation("Gemeente Utrecht")
    eva = make_user("facilitator", email="eva@example.nl", name="Eva Visser", organisation=utrecht)
    bob = make_user("facilitator", email="bob@example.nl", name="Bob Bakker")
    eva_key = roster.enroll(eva).key
    bob_key = roster.enroll(bob).key
    marking.mark(session, bob_key, "excused", by=trainer)
    db.session.commit()
    return {"session": session, "co_trainer": co_trainer, "eva": eva, "eva_key": eva_key}


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(AttendanceRecord)),
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.like("attendance.%"))
        ),
    )


def test_trainers_read_who_is_coming_days_before(upcoming, trainer, staff, client, login):
    session = upcoming["session"]
    before = _counts()
    for user in (trainer, upcoming["co_trainer"], staff):
        login(user)
        response = client.get(f"/attendance/sessions/{session.id}/preview")
        assert response.status_code == 200, user.email
        page = response.get_data(as_text=True)
        assert "1 deelnemer verwacht" in page
        assert "Eva Visser" in page and "Gemeente Utrecht" in page
        assert "Afgemeld" in page and "Bob Bakker" in page
        assert "eva@example.nl" not in page  # names, not addresses
        assert "vragen we niet naar toegankelijkheid of dieetwensen" in page
        assert "u kunt hier niets noteren" in page
        assert f"/attendance/sessions/{session.id}/mark" not in page
        client.post("/auth/logout")
    db.session.expire_all()
    assert _counts() == before


def test_trainer_panel_and_sheet_link_to_the_preview(upcoming, trainer, client, login):
    session = upcoming["session"]
    login(trainer)
    url = f"/attendance/sessions/{session.id}/preview"
    assert url in client.get("/account/").get_data(as_text=True)
    assert url in client.get(f"/attendance/sessions/{session.id}").get_data(as_text=True)


def test_the_sheet_stays_locked_until_30_minutes_before(upcoming, trainer, client, login):
    session = upcoming["session"]
    before = _counts()
    login(trainer)
    response = client.post(
        f"/attendance/sessions/{session.id}/mark",
        data={"key": upcoming["eva_key"], "status": "present"},
    )
    assert response.status_code == 400
    assert "Aanwezigheid noteert u vanaf 30 minuten voor de start" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert _counts() == before


def test_others_get_404(upcoming, make_user, make_organisation, client, login):
    session = upcoming["session"]
    url = f"/attendance/sessions/{session.id}/preview"
    other_trainer = make_user("trainer", email="other@example.nl")
    client_user = make_user("client", email="griffie@example.nl", organisation=make_organisation())
    for user in (other_trainer, upcoming["eva"], client_user):
        login(user)
        assert client.get(url).status_code == 404, user.email
        client.post("/auth/logout")
    assert client.get(url).status_code == 302  # anonymous: to the login page
    login(other_trainer)
    assert client.get("/attendance/sessions/999999/preview").status_code == 404


def test_once_started_the_preview_leads_to_the_sheet(make_run, roster, trainer, client, login):
    session = make_run(trainer=trainer, starts=(-10,)).sessions[0]
    login(trainer)
    response = client.get(f"/attendance/sessions/{session.id}/preview")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/attendance/sessions/{session.id}")


def test_within_30_minutes_the_preview_points_to_the_open_sheet(
    make_run, roster, trainer, client, login
):
    session = make_run(trainer=trainer, starts=(20,)).sessions[0]
    login(trainer)
    page = client.get(f"/attendance/sessions/{session.id}/preview").get_data(as_text=True)
    assert "De aanwezigheidslijst is open." in page
