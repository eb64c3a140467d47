"""The slots an advisor offers: weekly hours, overrides, buffers, notice, horizon, the daily
maximum, the sessions they teach, and weeks in which the clocks change.

Every test fixes `now`, so dates are written out: 2027-03-22 is a Monday; the clocks go forward
on Sunday 2027-03-28 and back on Sunday 2027-10-31.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event

from bbtraining.advice.advisors import active_advisors
from bbtraining.advice.availability import Plan, Refusal, free_slots, free_slots_any
from bbtraining.advice.models import AdvisorDateOverride, AdvisorHours
from bbtraining.courses.models import AMSTERDAM
from bbtraining.extensions import db
from tests import factories

MONDAY = date(2027, 3, 22)
NOW = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)  # a week before: notice and horizon allow it


def local(day: date, hhmm: str) -> datetime:
    return factories.local(day, hhmm).astimezone(UTC)


def wall_clock(slots) -> list[str]:
    return [slot.starts_at.astimezone(AMSTERDAM).strftime("%a %d %H:%M") for slot in slots]


def times_on(slots, day: date) -> list[str]:
    return [
        slot.starts_at.astimezone(AMSTERDAM).strftime("%H:%M")
        for slot in slots
        if slot.starts_at.astimezone(AMSTERDAM).date() == day
    ]


def morning(weekdays=range(5), start="09:00", end="12:00"):
    return tuple((weekday, start, end) for weekday in weekdays)


# -- weekly hours --------------------------------------------------------------------------------
def test_weekly_hours_give_a_slot_every_half_hour_that_fits_the_call(make_advisor):
    advisor = make_advisor(hours=morning())

    slots = free_slots(advisor, MONDAY, MONDAY, now=NOW)

    assert times_on(slots, MONDAY) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in slots)
    assert all(slot.starts_at.tzinfo is not None for slot in slots)


def test_a_longer_call_must_end_within_the_hours_and_days_without_hours_offer_nothing(
    make_advisor,
):
    advisor = make_advisor(hours=((0, "09:00", "11:00"),), call_minutes=60)

    slots = free_slots(advisor, MONDAY, MONDAY + timedelta(days=6), now=NOW)

    assert wall_clock(slots) == ["Mon 22 09:00", "Mon 22 09:30", "Mon 22 10:00"]


def test_overlapping_hours_on_one_day_offer_each_start_once(make_advisor):
    advisor = make_advisor(hours=((0, "09:00", "11:00"), (0, "10:00", "12:00")))

    assert times_on(free_slots(advisor, MONDAY, MONDAY, now=NOW), MONDAY) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


# -- date overrides ------------------------------------------------------------------------------
def test_a_whole_day_off_removes_the_day(make_advisor):
    advisor = make_advisor(hours=morning())
    advisor.overrides.append(AdvisorDateOverride(day=MONDAY, kind="off", note="Vakantie"))
    db.session.commit()

    slots = free_slots(advisor, MONDAY, MONDAY + timedelta(days=1), now=NOW)

    assert times_on(slots, MONDAY) == []
    assert len(times_on(slots, MONDAY + timedelta(days=1))) == 6


def test_part_of_a_day_off_and_extra_hours_on_a_free_day(make_advisor):
    advisor = make_advisor(hours=morning())
    saturday = MONDAY + timedelta(days=5)
    advisor.overrides += [
        AdvisorDateOverride(day=MONDAY, kind="off", starts=time(10), ends=time(11)),
        AdvisorDateOverride(day=saturday, kind="extra", starts=time(14), ends=time(15)),
    ]
    db.session.commit()

    slots = free_slots(advisor, MONDAY, saturday, now=NOW)

    assert times_on(slots, MONDAY) == ["09:00", "09:30", "11:00", "11:30"]
    assert times_on(slots, saturday) == ["14:00", "14:30"]


def test_extra_hours_next_to_the_weekly_hours_make_one_stretch(make_advisor):
    advisor = make_advisor(hours=morning())
    advisor.overrides.append(
        AdvisorDateOverride(day=MONDAY, kind="extra", starts=time(12), ends=time(13))
    )
    db.session.commit()

    assert times_on(free_slots(advisor, MONDAY, MONDAY, now=NOW), MONDAY)[-3:] == [
        "11:30",
        "12:00",
        "12:30",
    ]


# -- calls and buffers ---------------------------------------------------------------------------
def test_a_call_blocks_its_buffers_and_the_new_calls_buffers(make_advisor, make_call):
    advisor = make_advisor(hours=morning())  # 30 minutes, 10 before, 10 after
    make_call(advisor, local(MONDAY, "10:00"))  # blocks 09:50-10:40

    slots = free_slots(advisor, MONDAY, MONDAY, now=NOW)

    # 09:30 would block 09:20-10:10, 10:30 would block 10:20-11:10: both overlap.
    assert times_on(slots, MONDAY) == ["09:00", "11:00", "11:30"]


def test_cancelled_and_missed_calls_free_their_time(make_advisor, make_call):
    advisor = make_advisor(hours=morning())
    make_call(advisor, local(MONDAY, "09:00"), status="cancelled")
    make_call(advisor, local(MONDAY, "10:00"), status="no_show")

    assert len(times_on(free_slots(advisor, MONDAY, MONDAY, now=NOW), MONDAY)) == 6


def test_another_advisors_call_does_not_block(make_advisor, make_call):
    advisor = make_advisor(hours=morning())
    colleague = make_advisor(hours=morning())
    make_call(colleague, local(MONDAY, "10:00"))

    assert len(times_on(free_slots(advisor, MONDAY, MONDAY, now=NOW), MONDAY)) == 6


def test_zero_buffers_let_calls_follow_each_other(make_advisor, make_call):
    advisor = make_advisor(hours=morning(), buffer_before_minutes=0, buffer_after_minutes=0)
    make_call(advisor, local(MONDAY, "10:00"))

    assert times_on(free_slots(advisor, MONDAY, MONDAY, now=NOW), MONDAY) == [
        "09:00",
        "09:30",
        "10:30",
        "11:00",
        "11:30",
    ]


# -- notice, horizon, daily maximum --------------------------------------------------------------
def test_minimum_notice_counts_from_now(make_advisor):
    advisor = make_advisor(hours=morning(), min_notice_hours=26)
    now = local(MONDAY, "08:00")  # + 26 hours = Tuesday 10:00

    slots = free_slots(advisor, MONDAY, MONDAY + timedelta(days=1), now=now)

    assert times_on(slots, MONDAY) == []
    assert times_on(slots, MONDAY + timedelta(days=1)) == ["10:00", "10:30", "11:00", "11:30"]


def test_nothing_beyond_the_horizon(make_advisor):
    advisor = make_advisor(hours=morning(), min_notice_hours=0, horizon_days=3)
    now = local(MONDAY, "10:15")  # horizon: Thursday 10:15

    slots = free_slots(advisor, MONDAY, MONDAY + timedelta(days=30), now=now)

    assert slots[0].starts_at == local(MONDAY, "10:30")
    assert slots[-1].starts_at == local(MONDAY + timedelta(days=3), "10:00")


def test_a_day_with_the_maximum_number_of_calls_offers_nothing_more(make_advisor, make_call):
    advisor = make_advisor(hours=morning(), max_calls_per_day=2)
    make_call(advisor, local(MONDAY, "09:00"))
    make_call(advisor, local(MONDAY, "11:30"))
    make_call(advisor, local(MONDAY + timedelta(days=1), "09:00"))

    slots = free_slots(advisor, MONDAY, MONDAY + timedelta(days=1), now=NOW)

    assert times_on(slots, MONDAY) == []
    assert times_on(slots, MONDAY + timedelta(days=1)) == ["10:00", "10:30", "11:00", "11:30"]


def test_an_inactive_advisor_offers_nothing(make_advisor):
    advisor = make_advisor(hours=morning(), active=False)

    assert free_slots(advisor, MONDAY, MONDAY, now=NOW) == []
    assert Plan(advisor, MONDAY, MONDAY, now=NOW).refusal(local(MONDAY, "09:00")) == (
        Refusal.INACTIVE
    )


# -- the sessions an advisor teaches -------------------------------------------------------------
def test_an_on_site_session_blocks_its_travel_time_either_side(make_advisor, make_course):
    advisor = make_advisor(hours=((1, "09:00", "17:00"),))  # Tuesdays, travel 60 minutes
    tuesday = MONDAY + timedelta(days=1)
    factories.edition(
        make_course(),
        [(local(tuesday, "13:00"), local(tuesday, "15:00"))],
        location="Utrecht",
        trainers=[advisor.user],
    )

    slots = times_on(free_slots(advisor, tuesday, tuesday, now=NOW), tuesday)

    # Busy 12:00-16:00; a call blocks 10 minutes either side of itself.
    assert "11:00" in slots and "11:30" not in slots
    assert not [s for s in slots if "12:00" <= s < "16:30"]
    assert "16:30" in slots


def test_an_online_session_blocks_only_its_own_time(make_advisor, make_course):
    advisor = make_advisor(hours=((1, "09:00", "17:00"),))
    tuesday = MONDAY + timedelta(days=1)
    session = factories.lone_session(
        make_course(),
        local(tuesday, "13:00"),
        local(tuesday, "15:00"),
        trainer=advisor.user,
        location=None,
    )
    session.online_url = "https://meet.example.nl/sessie"
    db.session.commit()

    slots = times_on(free_slots(advisor, tuesday, tuesday, now=NOW), tuesday)

    assert "12:00" in slots and "12:30" not in slots  # 12:30 ends 13:00, its buffer overlaps
    assert "15:00" not in slots and "15:30" in slots
    assert not [s for s in slots if "12:30" <= s < "15:00"]


def test_a_cancelled_session_and_a_colleagues_session_do_not_block(
    make_advisor, make_course, make_user
):
    advisor = make_advisor(hours=((1, "09:00", "12:00"),))
    tuesday = MONDAY + timedelta(days=1)
    course = make_course()
    cancelled = factories.lone_session(
        course, local(tuesday, "09:00"), local(tuesday, "12:00"), trainer=advisor.user
    )
    cancelled.status = "cancelled"
    factories.lone_session(
        course, local(tuesday, "09:00"), local(tuesday, "12:00"), trainer=make_user("trainer")
    )
    db.session.commit()

    assert len(times_on(free_slots(advisor, tuesday, tuesday, now=NOW), tuesday)) == 6


def test_a_session_late_the_evening_before_reaches_into_the_morning_by_travel(
    make_advisor, make_course
):
    advisor = make_advisor(hours=((1, "00:00", "12:00"),), travel_buffer_minutes=120)
    tuesday = MONDAY + timedelta(days=1)
    factories.lone_session(
        make_course(), local(MONDAY, "21:00"), local(MONDAY, "23:30"), trainer=advisor.user
    )

    slots = times_on(free_slots(advisor, tuesday, tuesday, now=NOW), tuesday)

    # Busy until 01:30; a call blocks 10 minutes before itself, so 01:30 is refused too.
    assert slots[0] == "02:00"


# -- daylight saving -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("friday", "monday", "before", "after"),
    [
        (date(2027, 3, 26), date(2027, 3, 29), 8, 7),  # CET (UTC+1) -> CEST (UTC+2)
        (date(2027, 10, 29), date(2027, 11, 1), 7, 8),  # CEST -> CET
    ],
)
def test_hours_stay_on_the_wall_clock_across_a_clock_change(
    make_advisor, friday, monday, before, after
):
    advisor = make_advisor(hours=morning(start="09:00", end="10:00"), horizon_days=400)
    now = datetime(2027, 3, 1, tzinfo=UTC)

    slots = free_slots(advisor, friday, monday, now=now)

    assert wall_clock(slots) == [
        friday.strftime("Fri %d 09:00"),
        friday.strftime("Fri %d 09:30"),
        monday.strftime("Mon %d 09:00"),
        monday.strftime("Mon %d 09:30"),
    ]
    assert slots[0].starts_at.hour == before and slots[2].starts_at.hour == after


def test_hours_on_the_night_of_the_change_count_real_time(make_advisor):
    sunday = date(2027, 3, 28)  # 02:00 becomes 03:00
    advisor = make_advisor(
        hours=((6, "01:00", "04:00"),),
        horizon_days=400,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        call_minutes=60,
    )

    slots = free_slots(advisor, sunday, sunday, now=datetime(2027, 3, 1, tzinfo=UTC))

    # 01:00 CET to 04:00 CEST is two real hours (00:00-02:00 UTC): hour-long calls at 01:00,
    # 01:30 and 03:00 local, thirty real minutes apart.
    assert [s.starts_at for s in slots] == [
        datetime(2027, 3, 28, 0, 0, tzinfo=UTC),
        datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
    ]


# -- several advisors, and few queries -----------------------------------------------------------
def test_free_slots_any_offers_a_start_once_when_any_advisor_is_free(make_advisor, make_call):
    first = make_advisor(hours=((0, "09:00", "10:00"),))
    second = make_advisor(hours=((0, "09:30", "11:00"),))
    make_call(first, local(MONDAY, "09:00"))

    starts = free_slots_any(MONDAY, MONDAY, now=NOW)
    only_first = free_slots_any(MONDAY, MONDAY, now=NOW, advisor=first)

    assert [s.astimezone(AMSTERDAM).strftime("%H:%M") for s in starts] == [
        "09:30",
        "10:00",
        "10:30",
    ]
    assert only_first == []
    assert second in active_advisors()


def test_a_month_of_slots_takes_at_most_three_queries(make_advisor, make_call, make_course):
    advisor = make_advisor()
    advisor.overrides.append(AdvisorDateOverride(day=MONDAY, kind="off"))
    advisor.hours.append(AdvisorHours(weekday=5, starts=time(10), ends=time(12)))
    db.session.commit()
    for week in range(4):
        make_call(advisor, local(MONDAY + timedelta(days=7 * week + 1), "10:00"))
    factories.lone_session(
        make_course(), local(MONDAY, "13:00"), local(MONDAY, "16:00"), trainer=advisor.user
    )
    db.session.expire_all()

    statements = []
    engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        # As the booking page asks: the advisors (with hours and overrides), then their diary.
        starts = free_slots_any(MONDAY, MONDAY + timedelta(days=30), now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    assert len(statements) <= 3, statements
    assert len(starts) > 200
