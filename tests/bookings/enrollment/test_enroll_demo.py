from sqlalchemy import func, select

from bbtraining.auth import demo as auth_demo
from bbtraining.bookings.enrollment import demo as enrollment_demo
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.extensions import db


def test_demo_seed_waits_for_editions_and_is_idempotent(make_edition):
    auth_demo.seed()
    enrollment_demo.seed()  # no editions yet: nothing to do, no error
    db.session.commit()
    assert db.session.scalar(select(func.count(Enrollment.id))) == 0

    make_edition(capacity=10)
    make_edition(capacity=10, start_in_days=60)
    for _ in range(2):
        enrollment_demo.seed()
        db.session.commit()
    enrollments = db.session.scalars(select(Enrollment).order_by(Enrollment.id)).all()
    assert [e.user.email for e in enrollments] == [
        "begeleider@example.nl",
        "trainer2@example.nl",
        "griffie@example.nl",
    ]
    assert [e.payment_status for e in enrollments] == ["due", "paid", "due"]
    assert all(e.status == "confirmed" and e.invoice is not None for e in enrollments)
    # The clerk's group: two colleagues named, one seat to fill in from her account.
    group = enrollments[2]
    assert group.seats == 3
    assert [s.name for s in group.active_seats] == ["Sanne de Wit", "Yusuf Kaya", None]
