"""Verified trainings: the service attendance will call, and the staff page."""

import pytest
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.attendance.qualifications import Qualification, record_qualification
from bbtraining.courses.models import Edition
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.conftest import outbox_to


def test_recording_is_idempotent_and_invites_once(make_user, training):
    user = make_user("facilitator", email="lotte@example.nl")
    first = record_qualification(user, training, source="attendance")
    again = record_qualification(user, training, source="admin")
    db.session.commit()
    assert first.id == again.id and again.source == "attendance"
    assert db.session.scalar(select(func.count(Qualification.id))) == 1
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "qualification.recorded")
        )
        == 1
    )
    invites = outbox_to("lotte@example.nl")
    assert len(invites) == 1
    assert "alumnipool" in invites[0].subject
    assert "http://bbtraining.test/alumni/profile" in invites[0].text_body


def test_no_invite_for_other_courses_or_existing_profiles(make_user, make_course, make_alumnus):
    user = make_user("facilitator", email="plain@example.nl")
    record_qualification(user, make_course("Masterclass", qualifies=False), source="admin")
    db.session.commit()
    assert outbox_to("plain@example.nl") == []
    profile = make_alumnus("Heeft profiel", email="alumnus@example.nl")
    before = len(outbox_to("alumnus@example.nl"))
    record_qualification(profile.user, make_course("Verdieping"), source="admin")
    db.session.commit()
    assert len(outbox_to("alumnus@example.nl")) == before


def test_edition_must_belong_to_the_course_and_source_must_be_known(
    make_user, training, make_course
):
    other = make_course("Andere training")
    edition = Edition(course_id=other.id, capacity=10)
    db.session.add(edition)
    db.session.commit()
    user = make_user("facilitator")
    with pytest.raises(DomainError, match="hoort niet bij"):
        record_qualification(user, training, edition=edition, source="admin")
    with pytest.raises(DomainError, match="Onbekende bron"):
        record_qualification(user, training, source="magic")
    per_edition = record_qualification(user, other, edition=edition, source="attendance")
    without = record_qualification(user, other, source="admin")
    db.session.commit()
    assert per_edition.id != without.id  # one per edition, one without


def test_admin_records_a_training_by_hand(client, login, make_user, training):
    participant = make_user("facilitator", email="deelnemer@example.nl")
    login(make_user("admin"))
    page = client.get("/admin/alumni/qualifications").get_data(as_text=True)
    assert "deelnemer@example.nl" in page and training.title in page
    bad = client.post(
        "/admin/alumni/qualifications",
        data={"email": "niemand@example.nl", "course_id": training.id, "edition_id": 0},
    )
    assert bad.status_code == 400 and "geen account" in bad.get_data(as_text=True)
    no_course = client.post(
        "/admin/alumni/qualifications",
        data={"email": "deelnemer@example.nl", "course_id": 0, "edition_id": 0},
    )
    assert no_course.status_code == 400
    assert db.session.scalar(select(func.count(Qualification.id))) == 0
    done = client.post(
        "/admin/alumni/qualifications",
        data={
            "email": "deelnemer@example.nl",
            "course_id": training.id,
            "edition_id": 0,
            "completed_on": "2025-06-01",
            "note": "Training van 2024 op locatie",
        },
    )
    assert done.status_code == 302
    qualification = db.session.scalar(select(Qualification))
    assert qualification.user_id == participant.id and qualification.source == "admin"
    assert qualification.completed_at.date().isoformat() == "2025-06-01"
    assert len(outbox_to("deelnemer@example.nl")) == 1


def test_only_staff_record_trainings(client, login, make_user):
    login(make_user("facilitator"))
    assert client.get("/admin/alumni/qualifications").status_code == 403
    assert client.post("/admin/alumni/qualifications", data={}).status_code == 403
