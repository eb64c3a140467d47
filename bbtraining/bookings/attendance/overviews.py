"""What the dashboards show of attendance: a trainer's sessions, a participant's records and
completions, today's sessions and recent groups for staff.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from ...auth.models import User
from ...courses.models import TrainingSession, edition_trainer
from ...db_types import utcnow
from ...extensions import db
from .certificates import Certificate
from .models import AttendanceRecord, Completion, CompletionRun


def _trainer_sessions_query(user: User):
    return select(TrainingSession).where(
        or_(
            TrainingSession.trainer_id == user.id,
            TrainingSession.edition_id.in_(
                select(edition_trainer.c.edition_id).where(edition_trainer.c.user_id == user.id)
            ),
        )
    )


def trainer_upcoming_sessions(
    user: User, *, now: datetime | None = None, limit: int = 10
) -> list[TrainingSession]:
    """The trainer's sessions still to come or running now, soonest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            _trainer_sessions_query(user)
            .where(TrainingSession.ends_at >= now)
            .order_by(TrainingSession.starts_at)
            .limit(limit)
        )
    )


def trainer_past_sessions(
    user: User, *, now: datetime | None = None, limit: int = 10
) -> list[TrainingSession]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            _trainer_sessions_query(user)
            .where(TrainingSession.ends_at < now)
            .order_by(TrainingSession.starts_at.desc())
            .limit(limit)
        )
    )


def marked_counts(session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(AttendanceRecord.session_id, func.count())
        .where(AttendanceRecord.session_id.in_(session_ids))
        .group_by(AttendanceRecord.session_id)
    )
    return {session_id: count for session_id, count in rows}


def records_of(user: User, *, limit: int = 30) -> list[AttendanceRecord]:
    return list(
        db.session.scalars(
            select(AttendanceRecord)
            .join(TrainingSession, TrainingSession.id == AttendanceRecord.session_id)
            .options(contains_eager(AttendanceRecord.session))  # the panel shows each session
            .where(AttendanceRecord.user_id == user.id)
            .order_by(TrainingSession.starts_at.desc())
            .limit(limit)
        )
    )


def completions_of(user: User) -> list[tuple[Completion, Certificate | None]]:
    rows = db.session.execute(
        select(Completion, Certificate)
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(Completion.user_id == user.id, Completion.listed.is_(True))
        .order_by(Completion.computed_at.desc())
    )
    return [(c, cert) for c, cert in rows]


def sessions_on(day_start: datetime, day_end: datetime) -> list[TrainingSession]:
    return list(
        db.session.scalars(
            select(TrainingSession)
            .where(TrainingSession.starts_at < day_end, TrainingSession.ends_at > day_start)
            .order_by(TrainingSession.starts_at)
        )
    )


def recent_groups(*, now: datetime | None = None, limit: int = 8) -> list[CompletionRun]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(CompletionRun)
            .where(CompletionRun.ends_at >= now - timedelta(days=60))
            .order_by(CompletionRun.ends_at.desc())
            .limit(limit)
        )
    )
