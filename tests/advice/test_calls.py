"""Booking, moving and cancelling kennismakingsgesprekken: the rules, the round robin, the
signed link, and that no slot is ever booked twice, also when many book at once.

`now` is fixed: the calls are on Monday 2027-03-22 and later, booked a week before.
"""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bbtraining.advice import calls
from bbtraining.advice.calls import CallRefused, SlotTaken
from bbtraining.advice.models import AdviceCall
from bbtraining.audit import AuditEntry
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests import factories

MONDAY = date(2027, 3, 22)
NOW = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)


def local(day: date, hhmm: str) -> datetime:
    return factories.local(day, hhmm).astimezone(UTC)


def count_calls() -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(AdviceCall).where(AdviceCall.status == "booked")
    )


@pytest.fixture
def client_of(make_user, make_organisation):
    organisation = make_organisation("Gemeente Zwolle")
    return make_user("client", organisation=organisation, name="Clara Klant")


def book(requester, starts_at, *, advisor=None, now=NOW, **fields):
    details = {
        "mode": "online",
        "phone": None,
        "phase": "verkenning",
        "question": "Hoe beginnen we aan een burgerberaad?",
        "organisation_name_given": "Gemeente Zwolle",
        "time_zone": "Europe/Amsterdam",
        **fields,
    }
    return calls.book_call(
        requester=requester,
        organisation=requester.organisation,
        starts_at=starts_at,
        advisor=advisor,
        now=now,
        **details,
    )


# -- booking -------------------------------------------------------------------------------------
def test_booking_with_a_chosen_advisor_fills_in_the_call(make_advisor, client_of):
    advisor = make_advisor(meeting_url="https://meet.example.nl/marieke")

    call = book(client_of, local(MONDAY, "10:00"), advisor=advisor)
    db.session.commit()

    assert call.advisor == advisor and call.status == "booked" and call.sequence == 0
    assert call.starts_at == local(MONDAY, "10:00")
    assert call.ends_at == local(MONDAY, "10:30")
    assert call.blocked_from == local(MONDAY, "09:50")
    assert call.blocked_until == local(MONDAY, "10:40")
    assert call.video_url == "https://meet.example.nl/marieke"
    assert call.uid.endswith("@bbtraining") and call.organisation == client_of.organisation
    assert db.session.scalar(
        select(AuditEntry.action).where(AuditEntry.object_type == "advice_calls")
    ) == ("advice_call.booked")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # mail.py's


def test_a_phone_call_keeps_the_number_and_has_no_video_link(make_advisor, client_of):
    advisor = make_advisor(meeting_url="https://meet.example.nl/marieke")

    call = book(
        client_of, local(MONDAY, "10:00"), advisor=advisor, mode="phone", phone=" 06 1234 5678 "
    )

    assert call.phone == "06 1234 5678" and call.video_url is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"mode": "fax"}, "mode", "Kies een online gesprek of een telefoongesprek."),
        (
            {"mode": "phone", "phone": "  "},
            "phone",
            "Vul het telefoonnummer in waarop de adviseur u kan bellen.",
        ),
        ({"phase": "nazorg"}, "phase", "Kies de fase waarin uw burgerberaad is."),
        ({"time_zone": "Europe/Nergens"}, "time_zone", "Deze tijdzone kennen we niet."),
    ],
)
def test_bad_requests_are_refused_with_a_clear_message(
    make_advisor, client_of, fields, field, message
):
    advisor = make_advisor()

    with pytest.raises(CallRefused) as refused:
        book(client_of, local(MONDAY, "10:00"), advisor=advisor, **fields)

    assert str(refused.value) == message and refused.value.field == field
    db.session.rollback()
    assert count_calls() == 0


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        (
            local(MONDAY, "10:00"),
            "Een gesprek plant u minstens 24 uur van tevoren; kies een later tijdstip.",
        ),
        (
            local(MONDAY + timedelta(days=70), "10:00"),
            "U kunt een gesprek tot 60 dagen vooruit plannen; kies een eerder tijdstip.",
        ),
        (
            local(MONDAY + timedelta(days=2), "12:15"),
            "Op dit tijdstip zijn er geen gesprekken; kies een tijdstip uit de lijst.",
        ),
        (
            local(MONDAY + timedelta(days=5), "10:00"),  # a Saturday
            "Op dit tijdstip zijn er geen gesprekken; kies een tijdstip uit de lijst.",
        ),
    ],
)
def test_notice_horizon_and_hours_refuse_a_start(make_advisor, client_of, starts_at, message):
    advisor = make_advisor()
    now = local(MONDAY, "09:00") - timedelta(hours=1)

    with pytest.raises(CallRefused) as refused:
        book(client_of, starts_at, advisor=advisor, now=now)

    assert str(refused.value) == message
    db.session.rollback()
    assert count_calls() == 0


def test_a_naive_start_is_refused(make_advisor, client_of):
    with pytest.raises(CallRefused, match="Kies een tijdstip uit de lijst."):
        book(client_of, datetime(2027, 3, 22, 10, 0), advisor=make_advisor())


def test_an_inactive_advisor_takes_no_calls(make_advisor, client_of):
    advisor = make_advisor(active=False)

    with pytest.raises(CallRefused, match="plant op dit moment geen gesprekken"):
        book(client_of, local(MONDAY, "10:00"), advisor=advisor)


def test_no_advisors_at_all_is_said_plainly(client_of):
    with pytest.raises(CallRefused, match="geen adviseur beschikbaar"):
        book(client_of, local(MONDAY, "10:00"))


def test_a_taken_slot_is_refused_and_the_session_stays_usable(make_advisor, client_of):
    advisor = make_advisor()
    book(client_of, local(MONDAY, "10:00"), advisor=advisor)

    with pytest.raises(SlotTaken) as taken:
        book(client_of, local(MONDAY, "10:30"), advisor=advisor)  # overlaps by its buffers

    assert str(taken.value) == "Dit tijdstip is net geboekt; kies een ander."
    book(client_of, local(MONDAY, "11:00"), advisor=advisor)  # the same transaction goes on
    db.session.commit()
    assert count_calls() == 2


def test_the_daily_maximum_refuses_one_more_call(make_advisor, client_of):
    advisor = make_advisor(max_calls_per_day=1)
    book(client_of, local(MONDAY, "09:00"), advisor=advisor)

    with pytest.raises(SlotTaken):
        book(client_of, local(MONDAY, "15:00"), advisor=advisor)


def test_the_database_refuses_an_overlapping_call_written_past_the_service(make_advisor, make_call):
    advisor = make_advisor()
    make_call(advisor, local(MONDAY, "10:00"))
    make_call(advisor, local(MONDAY, "10:00"), status="cancelled")  # not held: no conflict

    with pytest.raises(IntegrityError, match="ex_advice_call_no_overlap"):
        make_call(advisor, local(MONDAY, "10:30"))
    db.session.rollback()
    assert count_calls() == 1


def test_the_database_refuses_moving_a_call_onto_another(make_advisor, make_call):
    advisor = make_advisor()
    make_call(advisor, local(MONDAY, "10:00"))
    other = make_call(advisor, local(MONDAY, "14:00"))

    other.blocked_from, other.blocked_until = local(MONDAY, "10:20"), local(MONDAY, "14:40")
    with pytest.raises(IntegrityError, match="ex_advice_call_no_overlap"):
        db.session.flush()
    db.session.rollback()


# -- round robin ---------------------------------------------------------------------------------
def test_round_robin_picks_the_free_advisor_with_the_fewest_calls_that_week(
    make_advisor, make_call, client_of
):
    busy = make_advisor(name="Anna Adviseur")
    quiet = make_advisor(name="Bram Adviseur")
    make_call(busy, local(MONDAY, "09:00"))
    make_call(busy, local(MONDAY + timedelta(days=1), "09:00"))
    make_call(quiet, local(MONDAY + timedelta(days=2), "09:00"))
    make_call(quiet, local(MONDAY + timedelta(days=8), "09:00"))  # next week: does not count
    make_call(quiet, local(MONDAY + timedelta(days=9), "09:00"))

    first = book(client_of, local(MONDAY + timedelta(days=3), "10:00"))
    assert first.advisor == quiet
    second = book(client_of, local(MONDAY + timedelta(days=3), "10:00"))
    assert second.advisor == busy  # quiet is taken now, busy is still free at that time
    with pytest.raises(SlotTaken):
        book(client_of, local(MONDAY + timedelta(days=3), "10:00"))


def test_round_robin_skips_an_advisor_who_teaches_then(make_advisor, make_course, client_of):
    teaching = make_advisor(name="Anna Adviseur")
    free = make_advisor(name="Bram Adviseur")
    factories.lone_session(
        make_course(), local(MONDAY, "09:00"), local(MONDAY, "12:00"), trainer=teaching.user
    )

    assert book(client_of, local(MONDAY, "10:00")).advisor == free


def test_calls_next_week_are_offered_by_who_is_free(make_advisor, client_of):
    make_advisor(name="Anna Adviseur", hours=((0, "09:00", "10:00"),))

    with pytest.raises(CallRefused, match="geen gesprekken"):
        book(client_of, local(MONDAY, "14:00"))


# -- moving and cancelling -----------------------------------------------------------------------
def test_moving_a_call_changes_its_times_and_sequence(make_advisor, client_of):
    advisor = make_advisor()
    call = book(client_of, local(MONDAY, "10:00"), advisor=advisor)
    db.session.commit()
    uid = call.uid

    calls.reschedule_call(call, local(MONDAY, "10:30"), now=NOW)  # overlaps its old time only
    db.session.commit()

    assert (call.starts_at, call.ends_at) == (local(MONDAY, "10:30"), local(MONDAY, "11:00"))
    assert (call.blocked_from, call.blocked_until) == (
        local(MONDAY, "10:20"),
        local(MONDAY, "11:10"),
    )
    assert call.sequence == 1 and call.uid == uid


def test_moving_onto_a_taken_time_changes_nothing(make_advisor, client_of):
    advisor = make_advisor()
    book(client_of, local(MONDAY, "10:00"), advisor=advisor)
    call = book(client_of, local(MONDAY, "14:00"), advisor=advisor)
    db.session.commit()

    with pytest.raises(SlotTaken):
        calls.reschedule_call(call, local(MONDAY, "10:30"), now=NOW)

    db.session.commit()
    db.session.refresh(call)
    assert call.starts_at == local(MONDAY, "14:00") and call.sequence == 0


def test_moving_or_cancelling_within_the_notice_is_refused(make_advisor, client_of):
    advisor = make_advisor()
    call = book(client_of, local(MONDAY, "10:00"), advisor=advisor)
    db.session.commit()
    late = local(MONDAY, "09:00") - timedelta(hours=3)

    with pytest.raises(CallRefused, match="Verplaatsen kan tot 24 uur voor het gesprek"):
        calls.reschedule_call(call, local(MONDAY, "11:00"), now=late)
    with pytest.raises(CallRefused, match="Annuleren kan tot 24 uur voor het gesprek"):
        calls.cancel_call(call, now=late)

    assert call.status == "booked" and call.sequence == 0
    calls.cancel_call(call, now=late, enforce_notice=False)  # staff may
    assert call.status == "cancelled"


def test_cancelling_frees_the_time_and_bumps_the_sequence(make_advisor, client_of):
    advisor = make_advisor()
    call = book(client_of, local(MONDAY, "10:00"), advisor=advisor)

    calls.cancel_call(call, now=NOW)

    assert call.status == "cancelled" and call.cancelled_at == NOW and call.sequence == 1
    assert book(client_of, local(MONDAY, "10:00"), advisor=advisor).status == "booked"
    with pytest.raises(CallRefused, match="al geannuleerd"):
        calls.cancel_call(call, now=NOW)
    with pytest.raises(CallRefused, match="Alleen een gepland gesprek"):
        calls.reschedule_call(call, local(MONDAY, "15:00"), now=NOW)


def test_state_transitions_refuse_what_cannot_be(make_advisor, make_call):
    advisor = make_advisor()
    call = make_call(advisor, local(MONDAY, "10:00"))

    call.mark_no_show()
    assert call.status == "no_show"
    call.mark_held()  # the advisor corrects it
    assert call.status == "held"
    with pytest.raises(DomainError):
        call.cancel(NOW)
    cancelled = make_call(advisor, local(MONDAY, "14:00"), status="cancelled")
    with pytest.raises(DomainError):
        cancelled.mark_held()
    with pytest.raises(DomainError):
        cancelled.mark_no_show()


# -- the signed link -----------------------------------------------------------------------------
def test_the_manage_token_finds_the_call_and_nothing_else(make_advisor, make_call):
    advisor = make_advisor()
    call = make_call(advisor, local(MONDAY, "10:00"))
    token = calls.manage_token(call)

    assert calls.call_for_token(token) == call
    assert calls.call_for_token(token[:-2] + "xx") is None
    assert calls.call_for_token("not-a-token") is None
    call.uid = "replaced@bbtraining"
    db.session.commit()
    assert calls.call_for_token(token) is None


# -- many at once --------------------------------------------------------------------------------
def _book_at_once(app, requester_id: int, starts_at: datetime, count: int) -> list[str]:
    """`count` threads, each with its own session, book `starts_at` at the same moment."""
    from bbtraining.auth.models import User

    barrier = threading.Barrier(count)
    results: list[str] = []

    def attempt():
        with app.app_context():
            requester = db.session.get(User, requester_id)
            barrier.wait(timeout=20)
            try:
                book(requester, starts_at)
                db.session.commit()
                results.append("booked")
            except SlotTaken:
                db.session.rollback()
                results.append("taken")
            except Exception as error:  # noqa: BLE001 - reported by the test
                db.session.rollback()
                results.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_many_booking_one_slot_at_once_get_it_exactly_once(app, make_advisor, client_of):
    make_advisor()

    results = _book_at_once(app, client_of.id, local(MONDAY, "10:00"), 12)

    assert sorted(results) == ["booked"] + ["taken"] * 11, results
    assert count_calls() == 1


def test_many_at_once_with_two_advisors_get_one_call_each(app, make_advisor, client_of):
    make_advisor(name="Anna Adviseur")
    make_advisor(name="Bram Adviseur")

    results = _book_at_once(app, client_of.id, local(MONDAY, "10:00"), 10)

    assert sorted(results) == ["booked"] * 2 + ["taken"] * 8, results
    advisors = db.session.scalars(select(AdviceCall.advisor_id)).all()
    assert sorted(advisors) == [1, 2]
