"""What the answers add up to, per course, per round and per trainer, for staff and trainers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import selectinload

from ...auth.models import User
from ...courses.models import Course
from ...extensions import db
from .models import (
    GRADES,
    EvaluationRequest,
    EvaluationResponse,
    EvaluationRound,
    evaluation_round_trainer,
)


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
