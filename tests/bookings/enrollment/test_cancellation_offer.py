"""Issue #15 item 6: free cancellation is offered only while its last day has not passed.

An edition starting in 5 days with 14 free days offered "tot en met 20 november" on 4 December.
The rule lives in one place (policy.free_cancellation_open); pages and mails follow it."""

from datetime import timedelta

from bbtraining.bookings.enrollment import policy
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.courses.models import AMSTERDAM
from bbtraining.extensions import db
from tests.conftest import outbox_to

OFFER = "Kosteloos annuleren kan tot en met"


def test_short_notice_edition_offers_no_free_cancellation_on_the_page(
    client, make_edition, make_user, login
):
    edition = make_edition(start_in_days=5, free_cancellation_days=14, late_refund_percent=0)
    login(make_user("facilitator"))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert OFFER not in page
    assert "Daarna is er geen terugbetaling" not in page


def test_edition_far_enough_ahead_offers_it_with_its_last_day(
    client, make_edition, make_user, login
):
    edition = make_edition(start_in_days=30, free_cancellation_days=14)
    login(make_user("facilitator"))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert OFFER in page


def test_confirmation_mail_of_a_short_notice_edition_promises_nothing(
    make_edition, make_enrollment, make_user
):
    short = make_edition(start_in_days=5, free_cancellation_days=14)
    make_enrollment(short, make_user("facilitator", email="kort@example.nl"))
    mails = outbox_to("kort@example.nl")
    assert mails and not any(OFFER in m.text_body for m in mails)
    ahead = make_edition(start_in_days=30, free_cancellation_days=14)
    make_enrollment(ahead, make_user("facilitator", email="ruim@example.nl"))
    assert any(OFFER in m.text_body for m in outbox_to("ruim@example.nl"))


def test_the_last_day_counts_whole_as_the_pages_say(make_edition, make_enrollment):
    """ "Tot en met 20 november" holds until that day ends in Dutch time, for the offer, the
    participant's own cancellation and the refund alike; the next day all three say no."""
    edition = make_edition(start_in_days=30, free_cancellation_days=14)
    enrollment = make_enrollment(edition)
    deadline = policy.free_cancellation_deadline(edition)
    local = deadline.astimezone(AMSTERDAM)
    last_moment = local.replace(hour=23, minute=59, second=0)
    next_morning = last_moment + timedelta(minutes=2)
    for now in (deadline, last_moment):
        assert policy.free_cancellation_open(edition, now)
        assert policy.offered_free_cancellation(edition, now) == deadline
        assert policy.participant_may_cancel(enrollment, now)
        assert policy.refund_fraction(enrollment, "policy", now) == 1
    assert not policy.free_cancellation_open(edition, next_morning)
    assert policy.offered_free_cancellation(edition, next_morning) is None
    assert not policy.participant_may_cancel(enrollment, next_morning)
    assert policy.refund_fraction(enrollment, "policy", next_morning) == 0


def test_participant_refused_late_sees_why_and_nothing_changes(
    client, make_edition, make_enrollment, make_user, login
):
    edition = make_edition(start_in_days=5, free_cancellation_days=14)
    user = make_user("facilitator")
    enrollment = make_enrollment(edition, user)
    login(user)
    response = client.post(f"/enrollments/{enrollment.id}/cancel", data={})
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kosteloos annuleren kon tot" in follow
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).status == "confirmed"


def test_course_page_states_each_editions_own_terms(client, make_edition):
    short = make_edition(start_in_days=5, free_cancellation_days=14)
    ahead = make_edition(course=short.course, start_in_days=30, free_cancellation_days=14)
    page = client.get(f"/courses/{short.course.slug}").get_data(as_text=True)
    assert page.count(OFFER) == 1  # only the edition far enough ahead offers it
    deadline = policy.offered_free_cancellation(ahead)
    assert deadline is not None and policy.offered_free_cancellation(short) is None
    assert "Kosteloos annuleren kan voor deze editie niet meer" in page
