"""Attendance on top of real enrollments and inhouse bookings.

These run once `enrollment_models` and `inhouse_models` are merged into the branch (they skip
before): confirmed enrollments and the client's participant list are on the sheet through their
providers, an inhouse booking's sessions are one completion group, and guests added on the spot
never duplicate the client's list.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bbtraining.bookings.attendance import completion, guests, marking, sheet
from bbtraining.bookings.attendance.models import Completion
from bbtraining.bookings.attendance.qualifications import Qualification
from bbtraining.bookings.sessions.groups import session_group
from bbtraining.courses.models import TrainingSession
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.bookings.attendance import support

make_run, trainer = support.make_run, support.trainer


def test_confirmed_enrollments_are_on_the_sheet_and_complete(make_run, make_user, trainer):
    models = pytest.importorskip("bbtraining.bookings.enrollment.models")
    edition = make_run(trainer=trainer, starts=(-4 * 60,), minutes=180)
    people = {
        status: make_user("facilitator", name=f"Deelnemer {status}", email=f"{status}@example.nl")
        for status in ("confirmed", "cancelled")
    }
    for status, user in people.items():
        db.session.add(
            models.Enrollment(
                user_id=user.id,
                edition_id=edition.id,
                status=status,
                pay_by="invoice",
                payment_status="due",
                billing_name=user.name,
                billing_street="Straat 1",
                billing_postcode="3511 AA",
                billing_city="Utrecht",
                unit_price=Decimal("495.00"),
                vat_rate=Decimal("21.00"),
                confirmed_at=utcnow() - timedelta(days=20),
            )
        )
    db.session.commit()
    session = edition.sessions[0]
    rows = sheet.build_sheet(session).rows
    assert [r.participant.name for r in rows] == ["Deelnemer confirmed"]
    key = rows[0].key
    assert key.startswith("enrollment:") and rows[0].participant.user_id == people["confirmed"].id
    marking.mark(session, key, "present", by=trainer, now=session.starts_at)
    completion.run_due_completions()
    completion.settle_completions(now=utcnow() + completion.SETTLE_DELAY)
    db.session.commit()
    decided = db.session.scalar(select(Completion))
    assert decided.is_completed and decided.user_id == people["confirmed"].id
    qualification = db.session.scalar(select(Qualification))
    assert qualification.edition_id == edition.id and qualification.source == "attendance"


def test_inhouse_booking_sessions_form_one_group(make_user, make_organisation, trainer):
    models = pytest.importorskip("bbtraining.bookings.inhouse.models")
    course = support.make_course(delivery="inhouse", title="Masterclass burgerberaden")
    organisation = make_organisation("Gemeente Zeist")
    booking = models.InhouseBooking(
        course_id=course.id,
        organisation_id=organisation.id,
        contact_name="Gerda Griffier",
        contact_email="griffie@zeist.example.nl",
        expected_participants=12,
        delivery_mode="venue",
        status="scheduled",
    )
    db.session.add(booking)
    db.session.flush()
    starts = [utcnow() - timedelta(days=2), utcnow() - timedelta(hours=3)]
    for start in starts:
        session = TrainingSession(
            course=course,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            location="Raadhuis",
            trainer=trainer,
        )
        db.session.add(session)
        db.session.flush()
        db.session.add(models.InhouseSession(booking_id=booking.id, session_id=session.id))
    booking.participants.append(
        models.InhouseParticipant(
            name="Raadslid Rob", email="rob@zeist.example.nl", role="raadslid"
        )
    )
    db.session.commit()
    first, second = booking.sessions
    group = session_group(first)
    assert group.key == f"inhouse:{booking.id}"
    assert [s.id for s in group.sessions] == [first.id, second.id]
    names = [r.participant.name for r in sheet.build_sheet(first).rows]
    assert names == ["Gerda Griffier", "Raadslid Rob"]
    # The client's list is theirs: the trainer cannot add the same person as a guest.
    with pytest.raises(DomainError, match="staat al op de lijst"):
        guests.add_guest(first, name="Rob", email="rob@zeist.example.nl", role=None, by=trainer)
    rob = f"inhouse:{booking.id}:{booking.participants[0].id}"
    marking.mark(first, rob, "present", by=trainer, now=first.starts_at)
    marking.mark(second, rob, "present", by=trainer, now=second.starts_at)
    completion.run_due_completions()
    db.session.commit()
    outcomes = {
        c.name: c.is_completed
        for c in db.session.scalars(select(Completion).where(Completion.group_key == group.key))
    }
    assert outcomes == {"Gerda Griffier": False, "Raadslid Rob": True}
