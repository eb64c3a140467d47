"""Staff change the online link of a scheduled edition (issue #18, item 4).

Every invite to a session still to come is updated (same UID, SEQUENCE + 1) once, however many
details changed, and the invited get one short mail; a bad link changes nothing.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bbtraining.audit import AuditEntry
from bbtraining.courses.models import Edition
from bbtraining.extensions import db
from tests.bookings.enrollment.test_edition_details import form, snapshot, url
from tests.conftest import outbox_to

OLD = "https://meet.example.nl/burgerberaad-oud"
NEW = "https://meet.example.nl/burgerberaad-nieuw"


@pytest.fixture
def admin(make_user, login):
    user = make_user("admin", name="Sanne de Vries")
    login(user)
    return user


@pytest.fixture
def edition(make_edition, make_user):
    trainer = make_user("trainer", email="trainer@example.nl", name="Tineke Trainer")
    made = make_edition(days=2, start_in_days=30, trainer=trainer, online_url=OLD)
    for session in made.sessions:
        session.online_url = OLD
    db.session.commit()
    return made


def ics(row):
    return Calendar.from_ical(row.calendar_ics).events[0]


def requests_to(email):
    return [m for m in outbox_to(email) if m.calendar_method == "REQUEST"]


def test_a_new_link_updates_every_invite_once_and_mails_it(
    client, admin, edition, make_enrollment, make_user
):
    eva = make_user("facilitator", email="eva@example.nl", name="Eva Jansen")
    eva.locale = "en"
    make_enrollment(edition, eva)
    invited = ("eva@example.nl", "trainer@example.nl")
    uids = {e: sorted(str(ics(m)["UID"]) for m in requests_to(e)) for e in invited}
    assert all(len(u) == 2 for u in uids.values())

    response = client.post(url(edition), data=form(edition, online_url=NEW))
    assert response.status_code == 302

    db.session.expire_all()
    changed = db.session.get(Edition, edition.id)
    assert changed.online_url == NEW and changed.location == "Utrecht"
    assert [(s.online_url, s.revision) for s in changed.sessions] == [(NEW, 1), (NEW, 1)]
    for email in invited:
        updates = [m for m in requests_to(email) if ics(m)["SEQUENCE"] == 1]
        assert len(updates) == 2, email
        events = [ics(m) for m in updates]
        assert sorted(str(e["UID"]) for e in events) == uids[email]
        assert all(NEW in str(e["DESCRIPTION"]) for e in events)
        [note] = [m for m in outbox_to(email) if "online link" in m.subject.lower()]
        assert NEW in note.text_body and OLD not in note.text_body
        # Times as in the other mails ("09:00–16:00"), not a zone name and seconds.
        assert re.search(r", \d{2}:\d{2}–\d{2}:\d{2}\n", note.text_body), note.text_body
        assert ":00 " not in note.text_body and "standaardtijd" not in note.text_body
    [english] = [m for m in outbox_to("eva@example.nl") if "online link" in m.subject.lower()]
    assert "new online link" in english.text_body.lower()
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "edition.online_url_changed")
    )
    assert (entry.data["before"], entry.data["after"]) == (OLD, NEW)
    assert entry.actor_id == admin.id


def test_place_and_link_changed_together_update_each_invite_once(
    client, admin, edition, make_enrollment
):
    make_enrollment(edition)
    response = client.post(
        url(edition), data=form(edition, location="Stadhuis Amersfoort", online_url=NEW)
    )
    assert response.status_code == 302
    db.session.expire_all()
    sessions = db.session.get(Edition, edition.id).sessions
    assert [(s.location, s.online_url, s.revision) for s in sessions] == [
        ("Stadhuis Amersfoort", NEW, 1),
        ("Stadhuis Amersfoort", NEW, 1),
    ]
    events = [ics(m) for m in requests_to("trainer@example.nl")]
    assert sorted(e["SEQUENCE"] for e in events) == [0, 0, 1, 1]  # no SEQUENCE 2
    subjects = [m.subject for m in outbox_to("trainer@example.nl")]
    assert sum(s.startswith("Nieuwe locatie:") for s in subjects) == 1
    assert sum(s.startswith("Nieuwe online link:") for s in subjects) == 1


def test_removing_the_link_keeps_the_place_and_says_so(client, admin, edition, make_enrollment):
    make_enrollment(edition)
    response = client.post(url(edition), data=form(edition, online_url=""))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).online_url is None
    [note] = [
        m for m in outbox_to("trainer@example.nl") if m.subject.startswith("Nieuwe online link:")
    ]
    assert "geen online link meer" in note.text_body and "Utrecht" in note.text_body


def test_an_online_only_edition_may_lose_its_place(client, admin, edition):
    response = client.post(url(edition), data=form(edition, location=""))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).location is None


def test_past_sessions_and_sessions_with_their_own_link_keep_it(client, admin, edition):
    first, second = edition.sessions
    first.starts_at = datetime.now(UTC) - timedelta(days=2)
    first.ends_at = first.starts_at + timedelta(hours=3)
    second.online_url = "https://elders.example.nl/zaal"
    db.session.commit()
    response = client.post(url(edition), data=form(edition, online_url=NEW))
    assert response.status_code == 302
    db.session.expire_all()
    kept = db.session.get(Edition, edition.id).sessions
    assert [(s.online_url, s.revision) for s in kept] == [
        (OLD, 0),
        ("https://elders.example.nl/zaal", 0),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "http://meet.example.nl/burgerberaad",
        "meet.example.nl/burgerberaad",
        "https://",
        "https://localhost/kamer",
        "javascript:alert(1)",
        "https://meet.example.nl/een kamer",
        "https://meet.example.nl/" + "x" * 500,
    ],
)
def test_a_bad_link_gets_a_dutch_message_and_changes_nothing(
    client, admin, edition, make_enrollment, bad
):
    make_enrollment(edition)
    before = snapshot(edition.id)
    response = client.post(url(edition), data=form(edition, online_url=bad, location="Ede"))
    assert response.status_code == 400
    assert (
        "Vul een volledige link in, beginnend met https://." in response.text
        or "Een online link is hooguit 500 tekens lang." in response.text
    )
    assert snapshot(edition.id) == before


def test_no_place_and_no_link_is_refused(client, admin, edition):
    before = snapshot(edition.id)
    response = client.post(url(edition), data=form(edition, location="", online_url=""))
    assert response.status_code == 400
    assert "Vul een locatie of een online link in." in response.text
    assert snapshot(edition.id) == before


def test_the_edition_page_shows_the_link(client, admin, edition):
    page = client.get(f"/admin/courses/editions/{edition.id}").text
    assert f'value="{OLD}"' in page
