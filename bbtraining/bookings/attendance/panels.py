"""What attendance adds to /account/ (the trainer's sessions; a participant's own attendance
and certificates) and to /admin/ (today's sessions, recent completions).

Panels are rendered templates (autoescaped by Jinja), hence Markup around their output.
"""

from datetime import datetime, time, timedelta

from flask import render_template
from markupsafe import Markup
from sqlalchemy import exists, select

from ...courses.catalog import basic_training
from ...courses.models import AMSTERDAM
from ...db_types import utcnow
from ...extensions import db
from ..enrollment.models import Enrollment, WaitlistEntry
from ..enrollment.seats import seats_free
from ..sessions.groups import group_for_key
from . import overviews, sheet
from .qualifications import Qualification

TRAINER_PAST_SESSIONS = 8


def _today_bounds(now: datetime) -> tuple[datetime, datetime]:
    local_day = now.astimezone(AMSTERDAM).date()
    start = datetime.combine(local_day, time(0), tzinfo=AMSTERDAM)
    return start, start + timedelta(days=1)


def trainer_sessions_panel(user) -> Markup | None:
    if not user.is_trainer:
        return None
    now = utcnow()
    upcoming = overviews.trainer_upcoming_sessions(user, now=now)
    past = overviews.trainer_past_sessions(user, now=now, limit=TRAINER_PAST_SESSIONS)
    day_start, day_end = _today_bounds(now)
    return Markup(  # noqa: S704 - autoescaped template output
        render_template(
            "bookings/attendance/_trainer_panel.html",
            today=[s for s in upcoming if s.starts_at < day_end and s.ends_at > day_start],
            upcoming=[s for s in upcoming if s.starts_at >= day_end],
            past=past,
            marked=overviews.marked_counts([s.id for s in past]),
            participants=sheet.sheet_participant_counts(past),
            now=now,
        )
    )


def first_steps_panel(user) -> Markup | None:
    """A facilitator who has not started yet (no enrollment, no waiting list, no completed
    training) sees where to begin and what comes after, instead of an empty overview."""
    if not user.is_facilitator:
        return None
    # One cheap query: the other panels load the enrollments themselves, for people who have any.
    started = select(
        exists().where(Enrollment.user_id == user.id)
        | exists().where(WaitlistEntry.user_id == user.id)
        | exists().where(Qualification.user_id == user.id)
    )
    if db.session.scalar(started):
        return None
    course, edition = basic_training()
    return Markup(  # noqa: S704 - autoescaped template output
        render_template(
            "bookings/attendance/_first_steps_panel.html",
            course=course,
            edition=edition,
            seats=seats_free(edition) if edition else 0,
        )
    )


def participant_attendance_panel(user) -> Markup | None:
    completions = overviews.completions_of(user)
    records = overviews.records_of(user)
    if not completions and not records:
        return None
    return Markup(  # noqa: S704 - autoescaped template output
        render_template(
            "bookings/attendance/_participant_panel.html",
            completions=completions,
            records=records,
        )
    )


def attendance_tile(user) -> Markup | None:
    if not user.is_admin:
        return None
    now = utcnow()
    runs = overviews.recent_groups(now=now)
    groups = [(run, group_for_key(run.group_key)) for run in runs]
    return Markup(  # noqa: S704 - autoescaped template output
        render_template(
            "bookings/attendance/_admin_tile.html",
            today=overviews.sessions_on(*_today_bounds(now)),
            groups=[(run, group) for run, group in groups if group is not None],
        )
    )
