"""Reminders before sessions, and anything else that needs one, each queued exactly once
(one outbox row; its delivery is at-least-once, see notifications/tasks.py).

A beat job (`bookings.send_reminders` in tasks.py, every few minutes) asks every
reminder source what is due now and sends each due reminder once per
(subject, attendee key, kind):

* The `sent_reminder` row is inserted first, in the same transaction as the outbox mail, with
  INSERT ... ON CONFLICT DO NOTHING on a UNIQUE constraint. Whoever inserts the row sends the
  mail; an overlapping sweep or a second beat finds the row taken and skips. A sweep that rolls
  back rolls its claim back with it, so nothing is lost either.
* A reminder whose moment lies before the person joined (`joined_at`) is not sent: someone who
  enrolls three days before a session gets the one-day reminder, not the seven-day one.
* When the sweep missed a moment (the worker was down) and a later reminder for the same session
  is already due, only the later one goes out: nobody gets "in a week" and "tomorrow" together.
* A session's start time is part of its reminder kinds ("before-24h@20270112T0800Z"): a moved
  session is reminded again for its new time; a new place or trainer sends no second reminder.

Built in (`session_reminders`): participants get reminders before each session, at the hours
in `REMINDER_HOURS_BEFORE` per course kind (default 7 days and 1 day before), and the
session's trainer gets the attendance list `ATTENDANCE_LIST_HOURS_BEFORE` hours before (the day
before by default).

Other reminders plug in through `register_reminder_source(fn)`, called in the wiring
(`__init__.py`) of the package that owns them, where `fn(now)` returns the `DueReminder`s whose
moment has come (`due_at <= now`) and that still matter. The sweep does the
dedupe, the late-joiner rule and the sending. Waiting-list offers, for example:

    def offer_reminders(now):
        for offer in open_offers_expiring_before(now + timedelta(hours=12)):
            yield DueReminder(
                subject=f"offer:{offer.id}",
                attendee_key=f"enrollment:{offer.enrollment_id}",
                kind="offer-expires-12h",
                due_at=offer.expires_at - timedelta(hours=12),
                email=offer.user.email, name=offer.user.name, locale=offer.user.locale,
                mail_subject=_l("Uw plek verloopt bijna"),
                template="bookings/reminder_offer",  # templates/emails/bookings/reminder_offer.txt
                context={"offer": offer},
            )

and pending payments the same way (subject f"invoice:{invoice.id}", kinds such as
"payment-due-3d"). `subject` names what the reminder is about; with `attendee_key` and `kind` it
is the unique key, so give every moment its own kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from ...courses.models import EditionStatus, SessionStatus, TrainingSession
from ...db_types import UTCDateTime, utcnow
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...notifications.services import queue_mail
from ...urls import public_url
from .participants import session_participants

ATTENDANCE_LIST = "attendance-list"


class SentReminder(db.Model):
    """One row per reminder that went out; the UNIQUE key is what makes it go out once."""

    __tablename__ = "sent_reminder"
    __table_args__ = (
        UniqueConstraint("subject", "attendee_key", "kind", name="uq_sent_reminder_once"),
        Index("ix_sent_reminder_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the reminder is about: "session:12", "offer:5", "invoice:7".
    subject: Mapped[str] = mapped_column(String(80))
    attendee_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE")
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class DueReminder:
    subject: str
    attendee_key: str
    kind: str
    due_at: datetime
    email: str
    name: str
    mail_subject: Any  # a lazy string, rendered in the recipient's language
    template: str  # under templates/emails/, without extension
    context: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    locale: str = "nl"
    session_id: int | None = None
    # Reminders due before this moment are not sent to this person.
    joined_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subject, self.attendee_key, self.kind)

    @property
    def dedupe_key(self) -> str:
        return f"reminder:{self.subject}:{self.attendee_key}:{self.kind}"[:200]


ReminderSource = Callable[[datetime], Iterable[DueReminder]]
_sources: list[ReminderSource] = []


def register_reminder_source(source: ReminderSource) -> ReminderSource:
    if source not in _sources:
        _sources.append(source)
    return source


# -- the built-in source: sessions ------------------------------------------------------------
def reminder_hours(course_kind: str) -> tuple[int, ...]:
    """Hours before a session that participants are reminded, largest first."""
    table = current_app.config["REMINDER_HOURS_BEFORE"]
    hours = table.get(course_kind, table.get("default", ()))
    return tuple(sorted({int(h) for h in hours if int(h) > 0}, reverse=True))


def reminder_kind(session: TrainingSession, hours: int) -> str:
    """ "before-24h@20270112T0800Z": the start is part of the kind, so a session that moves gets
    its reminders again for the new time, while other changes (place, trainer) do not."""
    return f"before-{hours}h@{_stamp(session)}"


def attendance_list_kind(session: TrainingSession) -> str:
    return f"{ATTENDANCE_LIST}@{_stamp(session)}"


def _stamp(session: TrainingSession) -> str:
    return f"{session.starts_at.astimezone(UTC):%Y%m%dT%H%MZ}"


def _horizon_hours() -> int:
    table = current_app.config["REMINDER_HOURS_BEFORE"]
    longest = max((int(h) for hours in table.values() for h in hours), default=0)
    return max(longest, int(current_app.config["ATTENDANCE_LIST_HOURS_BEFORE"]))


def upcoming_sessions(now: datetime, hours: int) -> list[TrainingSession]:
    return list(
        db.session.scalars(
            select(TrainingSession)
            .where(
                TrainingSession.status == SessionStatus.SCHEDULED,
                TrainingSession.starts_at > now,
                TrainingSession.starts_at <= now + timedelta(hours=hours),
            )
            .order_by(TrainingSession.starts_at, TrainingSession.id)
        )
    )


def session_reminders(now: datetime) -> Iterable[DueReminder]:
    list_hours = int(current_app.config["ATTENDANCE_LIST_HOURS_BEFORE"])
    account_url = public_url("account.dashboard")
    for session in upcoming_sessions(now, _horizon_hours()):
        if session.edition is not None and session.edition.status == EditionStatus.CANCELLED:
            continue
        hours_before = reminder_hours(session.course.kind)
        passed = [h for h in hours_before if session_moment(session, h) <= now]
        list_due = session_moment(session, list_hours) <= now
        if not passed and not list_due:
            continue
        people = session_participants(session)
        facts = session_facts(session)
        trainers = [p for p in people if p.role == "trainer"]
        attendees = [p for p in people if p.role != "trainer"]
        subject = f"session:{session.id}"
        if passed:
            hours = passed[-1]  # the latest moment that has come: earlier ones are superseded
            for person in attendees:
                yield DueReminder(
                    subject=subject,
                    attendee_key=person.key,
                    kind=reminder_kind(session, hours),
                    due_at=session_moment(session, hours),
                    email=person.email,
                    name=person.name,
                    locale=person.locale,
                    joined_at=person.joined_at,
                    session_id=session.id,
                    mail_subject=_l("Herinnering: %(course)s", course=session.course.title),
                    template="bookings/reminder_session",
                    context={"session": facts, "hours": hours, "account_url": account_url},
                )
        if list_due:
            names = sorted((p.name for p in attendees), key=str.casefold)
            for trainer in trainers:
                yield DueReminder(
                    subject=subject,
                    attendee_key=trainer.key,
                    kind=attendance_list_kind(session),
                    due_at=session_moment(session, list_hours),
                    email=trainer.email,
                    name=trainer.name,
                    locale=trainer.locale,
                    joined_at=trainer.joined_at,
                    session_id=session.id,
                    mail_subject=_l("Deelnemerslijst: %(course)s", course=session.course.title),
                    template="bookings/reminder_attendance",
                    context={
                        "session": facts,
                        "participants": names,
                        "account_url": account_url,
                    },
                )


def session_moment(session: TrainingSession, hours: int) -> datetime:
    return session.starts_at - timedelta(hours=hours)


def session_facts(session: TrainingSession) -> SimpleNamespace:
    """What a reminder mail shows about a session, read once. The mails are rendered batch by
    batch with commits in between, and an ORM object would reload itself after every commit."""
    return SimpleNamespace(
        id=session.id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        location=session.location,
        online_url=session.online_url,
        course=SimpleNamespace(title=session.course.title, slug=session.course.slug),
        trainer=SimpleNamespace(name=session.trainer.name) if session.trainer else None,
    )


# -- the sweep --------------------------------------------------------------------------------
def collect_due_reminders(now: datetime | None = None) -> list[DueReminder]:
    """What every source says is due, minus late joiners and what went out before.

    Reads only; the already-sent filter just saves rendering mails that would be skipped: the
    UNIQUE constraint claimed in `send_batch` is what guarantees once."""
    now = now or utcnow()
    due: dict[tuple[str, str, str], DueReminder] = {}
    for source in _sources:
        for reminder in source(now):
            if reminder.due_at > now:
                continue
            if reminder.joined_at is not None and reminder.joined_at > reminder.due_at:
                continue
            due.setdefault(reminder.key, reminder)
    if not due:
        return []
    sent: set[tuple[str, str, str]] = set()
    subjects = sorted({key[0] for key in due})
    for start in range(0, len(subjects), 500):
        sent.update(
            tuple(row)
            for row in db.session.execute(
                select(SentReminder.subject, SentReminder.attendee_key, SentReminder.kind).where(
                    SentReminder.subject.in_(subjects[start : start + 500])
                )
            )
        )
    return [reminder for key, reminder in due.items() if key not in sent]


def _insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def _claim_rows(batch: list[DueReminder]) -> set[tuple[str, str, str]]:
    now = utcnow()
    values = [
        {
            "subject": r.subject,
            "attendee_key": r.attendee_key,
            "kind": r.kind,
            "session_id": r.session_id,
            "due_at": r.due_at,
            "sent_at": now,
        }
        for r in batch
    ]
    statement = (
        _insert()(SentReminder)
        .values(values)
        .on_conflict_do_nothing(index_elements=["subject", "attendee_key", "kind"])
        .returning(SentReminder.subject, SentReminder.attendee_key, SentReminder.kind)
    )
    return {tuple(row) for row in db.session.execute(statement)}


def _queue(reminder: DueReminder) -> None:
    queue_mail(
        to=reminder.email,
        subject=reminder.mail_subject,
        template=reminder.template,
        context={**reminder.context, "name": reminder.name},
        dedupe_key=reminder.dedupe_key,
        locale=reminder.locale,
    )


def send_batch(batch: list[DueReminder]) -> int:
    """Claim the batch's rows and queue the mails of those this transaction claimed; flushes.
    Returns how many it claimed (an overlapping sweep's claims are not ours to send)."""
    claimed = _claim_rows(batch)
    for reminder in batch:
        if reminder.key in claimed:
            _queue(reminder)
    db.session.flush()
    return len(claimed)


def send_one(reminder: DueReminder) -> None:
    """Claim one reminder's row and queue its mail; flushes. IntegrityError when it went out
    before (its row, or its outbox mail, exists)."""
    db.session.add(
        SentReminder(
            subject=reminder.subject,
            attendee_key=reminder.attendee_key,
            kind=reminder.kind,
            session_id=reminder.session_id,
            due_at=reminder.due_at,
        )
    )
    db.session.flush()
    _queue(reminder)
    db.session.flush()
