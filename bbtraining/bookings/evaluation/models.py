"""Evaluation's rows: a round per group, a request per person in it, a response per request.

The database holds the rules that matter: one round per group (UNIQUE group_key, so a second beat
cannot mail twice), one request per person in a round (UNIQUE round and attendee key), one response
per request (UNIQUE request), a grade from 1 to 10 (CHECK).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...auth.models import User
from ...courses.models import Course, Edition
from ...db_types import UTCDateTime, utcnow
from ...extensions import db

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
