"""When an advisor can be booked: their weekly hours and date overrides, minus their calls (with
buffers) and every session they teach (with travel time around on-site sessions), within the
minimum notice, the booking horizon and the daily maximum.

Times are kept in UTC; the advisor's hours are Europe/Amsterdam wall clock, converted per date,
so a week with a daylight-saving change still offers 09:00 local on both sides of it.

One `Plan` loads what a range of days needs in few queries (the profile's hours and overrides,
the calls in range, the sessions in range) and answers both "which slots are free" and "why is
this start refused": the booking service and the slot list use the same rule.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import accumulate

from sqlalchemy import select

from ..courses.models import AMSTERDAM, TrainingSession
from ..courses.trainers import Slot, trainer_sessions_query
from ..extensions import db
from .advisors import active_advisors
from .models import BLOCKING_STATUSES, AdviceCall, AdvisorProfile, OverrideKind

# Offered starts lie this far apart, counted from the start of each stretch of hours.
SLOT_STEP = timedelta(minutes=30)

Interval = tuple[datetime, datetime]


class Refusal(StrEnum):
    """Why a start cannot be booked with this advisor."""

    INACTIVE = "inactive"
    NOTICE = "notice"
    HORIZON = "horizon"
    OUTSIDE_HOURS = "outside_hours"
    DAY_FULL = "day_full"
    TAKEN = "taken"


def local_day(moment: datetime) -> date:
    return moment.astimezone(AMSTERDAM).date()


def at(day: date, wall_clock: time) -> datetime:
    """`wall_clock` on `day` in Amsterdam, as UTC (24:00 is written as time.max)."""
    if wall_clock == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM).astimezone(UTC)
    return datetime.combine(day, wall_clock, tzinfo=AMSTERDAM).astimezone(UTC)


def _union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(windows: list[Interval], holes: list[Interval]) -> list[Interval]:
    result = []
    for start, end in windows:
        pieces = [(start, end)]
        for hole_start, hole_end in holes:
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, hole_start)), (max(a, hole_end), b))
                if part[0] < part[1]
            ]
        result.extend(pieces)
    return result


class Plan:
    """An advisor's time from `first_day` to `last_day` (Amsterdam dates, inclusive)."""

    def __init__(
        self,
        advisor: AdvisorProfile,
        first_day: date,
        last_day: date,
        *,
        now: datetime,
        ignore_call_id: int | None = None,
    ):
        self.advisor = advisor
        self.now = now
        self.first_day, self.last_day = first_day, last_day
        self.call_length = timedelta(minutes=advisor.call_minutes)
        self.before = timedelta(minutes=advisor.buffer_before_minutes)
        self.after = timedelta(minutes=advisor.buffer_after_minutes)
        self.earliest = now + timedelta(hours=advisor.min_notice_hours)
        self.latest = now + timedelta(days=advisor.horizon_days)
        self.range_start = at(first_day, time(0))
        self.range_end = at(last_day, time.max)
        self._busy: list[Interval] = []
        self._calls_per_day: dict[date, int] = defaultdict(int)
        if first_day <= last_day:
            self._load_calls(ignore_call_id)
            self._load_sessions()
        self._busy.sort()
        # For the overlap test in O(log n): the starts in order, and the latest end so far.
        self._starts = [start for start, _end in self._busy]
        self._latest_end = list(accumulate((end for _start, end in self._busy), max))

    # -- loading (one query each) ----------------------------------------------------------------
    def _load_calls(self, ignore_call_id: int | None) -> None:
        query = select(
            AdviceCall.starts_at, AdviceCall.blocked_from, AdviceCall.blocked_until
        ).where(
            AdviceCall.advisor_id == self.advisor.id,
            AdviceCall.status.in_(BLOCKING_STATUSES),
            AdviceCall.blocked_until > self.range_start,
            AdviceCall.blocked_from < self.range_end,
        )
        if ignore_call_id is not None:
            query = query.where(AdviceCall.id != ignore_call_id)
        for starts_at, blocked_from, blocked_until in db.session.execute(query):
            self._busy.append((blocked_from, blocked_until))
            self._calls_per_day[local_day(starts_at)] += 1

    def _load_sessions(self) -> None:
        travel = timedelta(minutes=self.advisor.travel_buffer_minutes)
        query = (
            trainer_sessions_query(self.advisor.user)
            .with_only_columns(
                TrainingSession.starts_at, TrainingSession.ends_at, TrainingSession.location
            )
            .where(
                TrainingSession.starts_at < self.range_end + travel,
                TrainingSession.ends_at > self.range_start - travel,
            )
            .order_by(None)
        )
        for starts_at, ends_at, location in db.session.execute(query):
            margin = travel if (location or "").strip() else timedelta(0)
            self._busy.append((starts_at - margin, ends_at + margin))

    # -- the rules -------------------------------------------------------------------------------
    def windows(self, day: date) -> list[Interval]:
        """The stretches of bookable time on `day`: weekly hours, plus extra hours, minus time
        off (a whole day off removes everything, extra hours included)."""
        overrides = [o for o in self.advisor.overrides if o.day == day]
        if any(o.kind == OverrideKind.OFF and o.whole_day for o in overrides):
            return []
        weekday = day.weekday()
        windows = [
            (at(day, h.starts), at(day, h.ends)) for h in self.advisor.hours if h.weekday == weekday
        ]
        windows += [
            (at(day, o.starts), at(day, o.ends)) for o in overrides if o.kind == OverrideKind.EXTRA
        ]
        holes = [
            (at(day, o.starts), at(day, o.ends)) for o in overrides if o.kind == OverrideKind.OFF
        ]
        return _subtract(_union(windows), holes)

    def _is_free(self, starts_at: datetime) -> bool:
        blocked_from = starts_at - self.before
        blocked_until = starts_at + self.call_length + self.after
        # The busy stretches that start before the call's blocked time ends overlap it when one
        # of them ends after that blocked time begins.
        before = bisect_left(self._starts, blocked_until)
        return before == 0 or self._latest_end[before - 1] <= blocked_from

    def refusal(self, starts_at: datetime) -> Refusal | None:
        """Why `starts_at` cannot be booked, or None when it can."""
        if not self.advisor.active:
            return Refusal.INACTIVE
        if starts_at < self.earliest:
            return Refusal.NOTICE
        if starts_at > self.latest:
            return Refusal.HORIZON
        ends_at = starts_at + self.call_length
        day = local_day(starts_at)
        if not any(a <= starts_at and ends_at <= b for a, b in self.windows(day)):
            return Refusal.OUTSIDE_HOURS
        if self._calls_per_day[day] >= self.advisor.max_calls_per_day:
            return Refusal.DAY_FULL
        if not self._is_free(starts_at):
            return Refusal.TAKEN
        return None

    def slots(self) -> list[Slot]:
        if not self.advisor.active:
            return []
        found = []
        day = max(self.first_day, local_day(self.earliest))
        last = min(self.last_day, local_day(self.latest))
        while day <= last:
            if self._calls_per_day[day] < self.advisor.max_calls_per_day:
                for window_start, window_end in self.windows(day):
                    starts_at = window_start
                    while starts_at + self.call_length <= window_end:
                        if self.earliest <= starts_at <= self.latest and self._is_free(starts_at):
                            found.append(Slot(starts_at, starts_at + self.call_length))
                        starts_at += SLOT_STEP
            day += timedelta(days=1)
        return found

    def blocked(self, starts_at: datetime) -> tuple[datetime, datetime, datetime, datetime]:
        """(starts_at, ends_at, blocked_from, blocked_until) of a call starting then."""
        ends_at = starts_at + self.call_length
        return starts_at, ends_at, starts_at - self.before, ends_at + self.after


def free_slots(
    advisor: AdvisorProfile, first_day: date, last_day: date, *, now: datetime
) -> list[Slot]:
    """The slots (UTC-aware start and end) at which `advisor` can be booked, in order."""
    return Plan(advisor, first_day, last_day, now=now).slots()


def free_slots_any(
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    advisor: AdvisorProfile | None = None,
) -> list[datetime]:
    """The starts offered by any active advisor (or only by `advisor`), in order, once each."""
    advisors = [advisor] if advisor is not None else active_advisors()
    starts = {
        slot.starts_at for one in advisors for slot in free_slots(one, first_day, last_day, now=now)
    }
    return sorted(starts)
