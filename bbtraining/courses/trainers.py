"""Trainers and their time: session slots, and the one check that no trainer (lead or
co-trainer) is booked twice, used by the catalog and by inhouse bookings alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask_babel import format_datetime
from sqlalchemy import Select, and_, or_, select

from .. import audit
from ..auth.models import Role, User, UserRole
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .models import (
    AMSTERDAM,
    Edition,
    EditionStatus,
    SessionStatus,
    TrainingSession,
    edition_trainer,
)


# -- sessions, trainers, double booking ----------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """A session's time: timezone-aware start and end."""

    starts_at: datetime
    ends_at: datetime

    @classmethod
    def local(cls, day: date, start: time, end: time) -> Slot:
        """From a date and wall-clock times in Europe/Amsterdam, as staff enter them."""
        return cls(
            datetime.combine(day, start, tzinfo=AMSTERDAM).astimezone(UTC),
            datetime.combine(day, end, tzinfo=AMSTERDAM).astimezone(UTC),
        )

    def overlaps(self, other: Slot) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def _when(moment: datetime) -> str:
    return format_datetime(moment, "d MMMM yyyy HH:mm")


def check_slots(slots: Sequence[Slot], now: datetime) -> None:
    if not slots:
        raise DomainError(_l("Plan minstens één sessie met een datum, begin- en eindtijd."))
    for number, slot in enumerate(slots, start=1):
        if slot.ends_at <= slot.starts_at:
            raise DomainError(
                _l("Sessie %(n)s: de eindtijd moet na de begintijd liggen.", n=number)
            )
        if slot.starts_at < now:
            raise DomainError(_l("Sessie %(n)s ligt in het verleden.", n=number))
    ordered = sorted(enumerate(slots, start=1), key=lambda item: item[1].starts_at)
    for (n_a, a), (n_b, b) in zip(ordered, ordered[1:], strict=False):
        if a.overlaps(b):
            raise DomainError(
                _l(
                    "Sessie %(a)s en sessie %(b)s overlappen elkaar.",
                    a=min(n_a, n_b),
                    b=max(n_a, n_b),
                )
            )


def check_trainer_roles(trainers: Iterable[User]) -> None:
    for trainer in trainers:
        if not trainer.is_trainer or not trainer.is_active:
            raise DomainError(
                _l("%(name)s is geen actieve trainer.", name=trainer.name), field="trainers"
            )


def trainer_sessions_query(trainer: User) -> Select:
    """Every planned session the trainer gives: as the session's trainer (inhouse or edition) or
    as a trainer of a planned edition."""
    editions_of_trainer = select(edition_trainer.c.edition_id).where(
        edition_trainer.c.user_id == trainer.id
    )
    return (
        select(TrainingSession)
        .outerjoin(Edition, TrainingSession.edition_id == Edition.id)
        .where(
            TrainingSession.status == SessionStatus.SCHEDULED,
            or_(Edition.id.is_(None), Edition.status == EditionStatus.SCHEDULED),
            or_(
                TrainingSession.trainer_id == trainer.id,
                TrainingSession.edition_id.in_(editions_of_trainer),
            ),
        )
        .order_by(TrainingSession.starts_at)
    )


def trainer_conflicts(
    trainer: User,
    slots: Iterable[Slot],
    *,
    ignore_session_ids: Iterable[int] = (),
    ignore_edition_id: int | None = None,
) -> list[TrainingSession]:
    """The trainer's planned sessions that overlap any of the slots."""
    slots = list(slots)
    if not slots:
        return []
    query = trainer_sessions_query(trainer).where(
        or_(
            *(
                and_(TrainingSession.starts_at < s.ends_at, TrainingSession.ends_at > s.starts_at)
                for s in slots
            )
        )
    )
    ignored = [i for i in ignore_session_ids if i is not None]
    if ignored:
        query = query.where(TrainingSession.id.not_in(ignored))
    if ignore_edition_id is not None:
        query = query.where(
            or_(
                TrainingSession.edition_id.is_(None),
                TrainingSession.edition_id != ignore_edition_id,
            )
        )
    return list(db.session.scalars(query).unique())


def ensure_trainers_available(
    trainers: Iterable[User],
    slots: Iterable[Slot],
    *,
    ignore_session_ids: Iterable[int] = (),
    ignore_edition_id: int | None = None,
) -> None:
    """Refuse when a trainer already gives a session at an overlapping time (editions and
    inhouse bookings alike). Used by every operation that puts a trainer on a time."""
    slots = list(slots)
    ignore_session_ids = list(ignore_session_ids)
    trainers = list(trainers)
    # Lock the trainers' rows so two staff members cannot book the same trainer at once
    # (PostgreSQL; SQLite serialises writers anyway).
    if trainers:
        db.session.execute(
            select(User.id).where(User.id.in_([t.id for t in trainers])).with_for_update()
        )
    for trainer in trainers:
        conflicts = trainer_conflicts(
            trainer,
            slots,
            ignore_session_ids=ignore_session_ids,
            ignore_edition_id=ignore_edition_id,
        )
        if conflicts:
            clash = conflicts[0]
            raise DomainError(
                _l(
                    "%(name)s geeft op dat moment al een sessie: %(course)s op %(when)s. "
                    "Kies een andere tijd of een andere trainer.",
                    name=trainer.name,
                    course=clash.course.title,
                    when=_when(clash.starts_at),
                ),
                field="trainers",
            )


def trainers() -> list[User]:
    """Active users with the trainer role, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == Role.TRAINER,
                User.is_active_account.is_(True),
                User.deleted_at.is_(None),
            )
            .order_by(User.name)
        )
    )


def set_trainer_bio(trainer: User, bio: str | None) -> None:
    """The text about a trainer shown on the pages of courses they give."""
    if not trainer.is_trainer:
        raise DomainError(_l("%(name)s is geen trainer.", name=trainer.name))
    trainer.bio = (bio or "").strip() or None
    db.session.flush()
    audit.record("trainer.bio_updated", trainer, length=len(trainer.bio or ""))
