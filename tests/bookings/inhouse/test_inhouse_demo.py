from sqlalchemy import func, select

from bbtraining.auth import demo as auth_demo
from bbtraining.auth.models import Organisation
from bbtraining.bookings.inhouse import demo as inhouse_demo
from bbtraining.bookings.inhouse.models import InhouseBooking
from bbtraining.courses.models import Course
from bbtraining.extensions import db


def test_demo_bookings_are_seeded_once_even_without_a_catalog():
    auth_demo.seed()
    db.session.commit()
    inhouse_demo.seed()
    db.session.commit()
    inhouse_demo.seed()  # idempotent
    db.session.commit()
    utrecht = select(InhouseBooking).join(InhouseBooking.organisation)
    utrecht = utrecht.where(Organisation.name == "Gemeente Utrecht")
    statuses = sorted(booking.status for booking in db.session.scalars(utrecht))
    assert statuses == ["proposal_sent", "scheduled", "submitted"]
    # ...and Provincie Gelderland's session today (tests/core/test_demo_day.py), made once.
    assert db.session.scalar(select(func.count()).select_from(InhouseBooking)) == 4
    assert db.session.scalar(select(func.count()).select_from(Course)) == 1
    scheduled = db.session.scalar(utrecht.where(InhouseBooking.status == "scheduled"))
    assert scheduled.po_number and scheduled.sessions[0].trainer.email == "trainer@example.nl"
    assert scheduled.organisation.name == "Gemeente Utrecht"
    submitted = db.session.scalar(
        select(InhouseBooking).where(InhouseBooking.status == "submitted")
    )
    assert submitted.draft_proposal is not None and submitted.current_proposal is None


def test_demo_uses_the_catalog_inhouse_course_when_there_is_one(inhouse):
    course = inhouse.course(slug="inspiratiesessie-van-de-catalogus")
    auth_demo.seed()
    db.session.commit()
    inhouse_demo.seed()
    db.session.commit()
    assert set(db.session.scalars(select(InhouseBooking.course_id))) == {course.id}
