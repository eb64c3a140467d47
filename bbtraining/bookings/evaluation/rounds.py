"""Evaluation after a training: one request per person, one answer per request.

After the last session of a group has ended (a beat job, `send_due_evaluation_requests` in
tasks.py), each
participant who attended (marked present at one of the group's sessions at least; for inhouse
bookings the client contact too, when marked present) gets one mail with a signed link to a
short form: a rapportcijfer from 1 to 10, what went well, what could be better. Absent, excused
and unmarked people get none: attendance, not the booking, says who took part.

A *group* is what people followed together and evaluate once: an open edition, an inhouse
booking, or a lone session, as `sessions.groups` defines it (its key names the round).

The database holds the rules that matter: one round per group (UNIQUE group_key, so a second beat
cannot mail twice), one request per person in a round, one response per request. Attendance
marked after the round opened still counts: the next beat asks those newly marked present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
    distinct,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from ... import audit
from ...auth.models import User
from ...courses.models import Course, Edition, TrainingSession
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...notifications.services import queue_mail
from ...urls import public_url
from ..attendance.models import AttendanceRecord, AttendanceStatus
from ..sessions.groups import SessionGroup, groups_ended_between
from ..sessions.participants import Participant, session_participants

GRADES = range(1, 11)
TEXT_MAX = 2000

evaluation_round_trainer = Table(
    "evaluation_round_trainer",
    db.metadata,
    Column("round_id", ForeignKey("evaluation_round.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class EvaluationRound(db.Model):
    """The evaluation of one group (an edition, an inhouse booking): opened once."""

    __tablename__ = "evaluation_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(80), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    edition_id: Mapped[int | None] = mapped_column(
        ForeignKey("edition.id", ondelete="SET NULL"), index=True
    )
    label: Mapped[str] = mapped_column(String(300), default="")
    first_starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(lazy="joined")
    edition: Mapped[Edition | None] = relationship()
    trainers: Mapped[list[User]] = relationship(
        secondary=evaluation_round_trainer, lazy="selectin", order_by=User.name
    )
    requests: Mapped[list[EvaluationRequest]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="EvaluationRequest.id"
    )

    def can_view(self, user) -> bool:
        """Staff see every round; a trainer the rounds of their own sessions."""
        if not getattr(user, "is_authenticated", False):
            return False
        return user.is_admin or any(trainer.id == user.id for trainer in self.trainers)

    @property
    def title(self) -> str:
        return self.label or self.course.title


class EvaluationRequest(db.Model):
    __tablename__ = "evaluation_request"
    __table_args__ = (
        UniqueConstraint("round_id", "attendee_key", name="uq_evaluation_request_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id", ondelete="CASCADE"))
    attendee_key: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="participant")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[EvaluationRound] = relationship(back_populates="requests")
    response: Mapped[EvaluationResponse | None] = relationship(
        back_populates="request", uselist=False, cascade="all, delete-orphan"
    )

    def belongs_to_someone_else(self, user) -> bool:
        """A signed-in account that is not the one this request was sent to."""
        return (
            self.user_id is not None
            and getattr(user, "is_authenticated", False)
            and user.id != self.user_id
        )


class EvaluationResponse(db.Model):
    __tablename__ = "evaluation_response"
    __table_args__ = (CheckConstraint("grade >= 1 AND grade <= 10", name="grade_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # UNIQUE: one answer per person, whatever happens at the same time.
    request_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_request.id", ondelete="CASCADE"), unique=True
    )
    grade: Mapped[int]
    went_well: Mapped[str] = mapped_column(Text, default="")
    could_be_better: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[EvaluationRequest] = relationship(back_populates="response")


# -- opening rounds ----------------------------------------------------------------------------
def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="evaluation-request")


def make_token(request: EvaluationRequest) -> str:
    return _serializer().dumps(request.id)


def evaluation_link(request: EvaluationRequest) -> str:
    return public_url("bookings.evaluation_form", token=make_token(request))


def _present(sessions: list[TrainingSession]) -> set[tuple[int, str]]:
    """(session id, participant key) of everyone marked present at one of these sessions."""
    ids = [s.id for s in sessions]
    if not ids:
        return set()
    rows = db.session.execute(
        select(AttendanceRecord.session_id, AttendanceRecord.participant_key).where(
            AttendanceRecord.session_id.in_(ids),
            AttendanceRecord.status == AttendanceStatus.PRESENT,
        )
    )
    return {(session_id, key) for session_id, key in rows}


def group_people(group: SessionGroup) -> list[Participant]:
    """Everyone who attended: marked present at one session of the group at least (the client
    contact too, when they were there), once each. Absent, excused or never marked people get
    no request, trainers never."""
    sessions = group.active_sessions
    present = _present(sessions)
    people: dict[str, Participant] = {}
    seen_keys: set[str] = set()
    for session in sessions:
        for person in session_participants(session, include_trainer=False):
            if person.role == "trainer" or person.key in seen_keys:
                continue
            if (session.id, person.key) not in present:
                continue
            seen_keys.add(person.key)
            people.setdefault(person.email.strip().casefold(), person)
    return list(people.values())


def open_round(group: SessionGroup) -> EvaluationRound:
    """Create the round and mail everyone in it; flushes. IntegrityError when another run has
    already opened this group (the caller rolls back and moves on)."""
    sessions = group.active_sessions
    evaluation_round = EvaluationRound(
        group_key=group.key,
        course=group.course,
        edition_id=group.edition.id if group.edition else None,
        first_starts_at=min(s.starts_at for s in sessions),
        last_ends_at=max(s.ends_at for s in sessions),
        trainers=group.trainers,
    )
    db.session.add(evaluation_round)
    db.session.flush()  # the UNIQUE group_key decides here who opens this round
    people = group_people(group)
    for person in people:
        _ask(evaluation_round, person)
    audit.record("evaluation.round_opened", evaluation_round, group=group.key, requests=len(people))
    return evaluation_round


def _ask(evaluation_round: EvaluationRound, person: Participant) -> EvaluationRequest:
    request = EvaluationRequest(
        round=evaluation_round,
        attendee_key=person.key,
        email=person.email,
        name=person.name,
        role=person.role,
        user_id=person.user_id,
    )
    db.session.add(request)
    db.session.flush()  # UNIQUE (round, person): a concurrent run cannot ask twice
    course = evaluation_round.course
    queue_mail(
        to=person.email,
        subject=_l("Hoe was %(course)s?", course=course.title),
        template="bookings/evaluation_request",
        context={
            "name": person.name,
            "course": course,
            "evaluation_round": evaluation_round,
            "link": evaluation_link(request),
            "days": current_app.config["EVALUATION_LINK_MAX_AGE"] // 86400,
        },
        locale=person.locale,
        dedupe_key=f"evaluation:{request.id}",
    )
    return request


def ask_late_attendees(evaluation_round: EvaluationRound, group: SessionGroup) -> int:
    """A trainer who marks attendance after the round opened: those now marked present get
    their request too, everyone else nothing new. Returns how many were asked; flushes."""
    asked = {r.attendee_key for r in evaluation_round.requests}
    asked |= {r.email.strip().casefold() for r in evaluation_round.requests}
    late = [
        p
        for p in group_people(group)
        if p.key not in asked and p.email.strip().casefold() not in asked
    ]
    for person in late:
        _ask(evaluation_round, person)
    if late:
        audit.record(
            "evaluation.late_requests", evaluation_round, group=group.key, requests=len(late)
        )
    return len(late)


def finished_groups(now: datetime) -> dict[str, SessionGroup]:
    """Groups whose last session ended between the window's start and the delay ago."""
    config = current_app.config
    ended_before = now - timedelta(hours=config["EVALUATION_DELAY_HOURS"])
    ended_after = now - timedelta(days=config["EVALUATION_WINDOW_DAYS"])
    return {group.key: group for group in groups_ended_between(ended_after, ended_before)}


def opened_rounds(keys: list[str]) -> dict[str, EvaluationRound]:
    if not keys:
        return {}
    rounds = db.session.scalars(select(EvaluationRound).where(EvaluationRound.group_key.in_(keys)))
    return {r.group_key: r for r in rounds}


def due_groups(now: datetime) -> list[SessionGroup]:
    groups = finished_groups(now)
    opened = opened_rounds(list(groups))
    return [group for key, group in groups.items() if key not in opened]


# -- answering ---------------------------------------------------------------------------------
class EvaluationLinkError(DomainError):
    def __init__(self, message, status: int = 400):
        super().__init__(message)
        self.status = status


_INVALID = _l(
    "Deze link is ongeldig. Gebruik de link uit de e-mail die u van ons kreeg, of neem "
    "contact met ons op."
)


def request_for_token(token: str, user=None) -> EvaluationRequest:
    """The request a link points at, for this visitor; EvaluationLinkError with the reason."""
    try:
        request_id = _serializer().loads(
            token, max_age=current_app.config["EVALUATION_LINK_MAX_AGE"]
        )
    except SignatureExpired as exc:
        raise EvaluationLinkError(
            _l(
                "Deze link is verlopen. Wilt u de training toch beoordelen? Neem dan contact "
                "met ons op."
            )
        ) from exc
    except BadSignature as exc:
        raise EvaluationLinkError(_INVALID) from exc
    request = db.session.get(EvaluationRequest, request_id) if isinstance(request_id, int) else None
    if request is None:
        raise EvaluationLinkError(_INVALID)
    if request.belongs_to_someone_else(user):
        raise EvaluationLinkError(
            _l(
                "Deze link is voor iemand anders bedoeld. Log uit, of gebruik de link uit uw "
                "eigen e-mail."
            ),
            status=403,
        )
    return request


def submit_evaluation(
    request: EvaluationRequest, *, grade: int, went_well: str, could_be_better: str
) -> EvaluationResponse:
    if request.response is not None:
        raise DomainError(_l("U heeft deze training al beoordeeld. Een tweede antwoord kan niet."))
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise DomainError(_l("Kies een rapportcijfer van 1 tot en met 10."), field="grade")
    response = EvaluationResponse(
        request=request,
        grade=grade,
        went_well=(went_well or "").strip()[:TEXT_MAX],
        could_be_better=(could_be_better or "").strip()[:TEXT_MAX],
    )
    db.session.add(response)
    db.session.flush()  # UNIQUE request_id: a double submit at the same moment fails here
    audit.record("evaluation.answered", request, grade=grade, round=request.round_id)
    return response


# -- aggregates --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    label: str
    requests: int
    responses: int
    average: float | None
    ref: Any = None  # the object a row is about (course, round, trainer)
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def response_rate(self) -> float:
        return self.responses / self.requests if self.requests else 0.0


def _average(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _counts():
    return (
        func.count(distinct(EvaluationRequest.id)),
        func.count(distinct(EvaluationResponse.id)),
        func.avg(EvaluationResponse.grade),
    )


def _base(query):
    return query.outerjoin(
        EvaluationRequest, EvaluationRequest.round_id == EvaluationRound.id
    ).outerjoin(EvaluationResponse, EvaluationResponse.request_id == EvaluationRequest.id)


def summary_by_course() -> list[Summary]:
    rows = db.session.execute(
        _base(select(Course, func.count(distinct(EvaluationRound.id)), *_counts()))
        .select_from(EvaluationRound)
        .join(Course, Course.id == EvaluationRound.course_id)
        .group_by(Course.id)
        .order_by(Course.title)
    ).all()
    return [
        Summary(course.title, requests, responses, _average(avg), course, {"rounds": rounds})
        for course, rounds, requests, responses, avg in rows
    ]


def summary_by_round(trainer: User | None = None, limit: int = 200) -> list[Summary]:
    query = _base(
        select(EvaluationRound, *_counts())
        .select_from(EvaluationRound)
        # A joined eager load would put the course's columns outside the GROUP BY.
        .options(selectinload(EvaluationRound.course))
    )
    if trainer is not None:
        query = query.where(
            EvaluationRound.id.in_(
                select(evaluation_round_trainer.c.round_id).where(
                    evaluation_round_trainer.c.user_id == trainer.id
                )
            )
        )
    rows = db.session.execute(
        query.group_by(EvaluationRound.id)
        .order_by(EvaluationRound.last_ends_at.desc(), EvaluationRound.id.desc())
        .limit(limit)
    ).all()
    return [
        Summary(evaluation_round.title, requests, responses, _average(avg), evaluation_round)
        for evaluation_round, requests, responses, avg in rows
    ]


def summary_by_trainer() -> list[Summary]:
    rows = db.session.execute(
        _base(select(User, func.count(distinct(EvaluationRound.id)), *_counts()))
        .select_from(EvaluationRound)
        .join(evaluation_round_trainer, evaluation_round_trainer.c.round_id == EvaluationRound.id)
        .join(User, User.id == evaluation_round_trainer.c.user_id)
        .group_by(User.id)
        .order_by(User.name)
    ).all()
    return [
        Summary(user.name, requests, responses, _average(avg), user, {"rounds": rounds})
        for user, rounds, requests, responses, avg in rows
    ]


def overall(trainer: User | None = None) -> Summary:
    query = _base(select(*_counts()).select_from(EvaluationRound))
    if trainer is not None:
        query = query.join(
            evaluation_round_trainer, evaluation_round_trainer.c.round_id == EvaluationRound.id
        ).where(evaluation_round_trainer.c.user_id == trainer.id)
    requests, responses, avg = db.session.execute(query).one()
    return Summary("", requests, responses, _average(avg))


def responses_for(evaluation_round: EvaluationRound) -> list[EvaluationResponse]:
    return list(
        db.session.scalars(
            select(EvaluationResponse)
            .join(EvaluationRequest)
            .where(EvaluationRequest.round_id == evaluation_round.id)
            .order_by(EvaluationResponse.submitted_at, EvaluationResponse.id)
        )
    )


def grade_distribution(responses: list[EvaluationResponse]) -> list[tuple[int, int]]:
    counts = {grade: 0 for grade in GRADES}
    for response in responses:
        counts[response.grade] += 1
    return list(counts.items())
