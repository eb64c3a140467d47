"""Calendar invites that follow a session: one UID per (session, attendee), kept for life.

`sync_session_invites(session)` reconciles what each participant's calendar should show with what
we sent before: a new participant gets METHOD:REQUEST, a moved or changed session an update with
the same UID and SEQUENCE + 1, a cancelled session or a participant who left METHOD:CANCEL.
It is idempotent: call it after any change, as often as you like, in the change's transaction.
"""

import secrets
from datetime import datetime
from enum import StrEnum

from flask import current_app
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...courses.models import Edition, TrainingSession
from ...db_types import UTCDateTime, utcnow
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...notifications.calendar import CalendarEvent, build_calendar
from ...notifications.services import Attachment, queue_mail
from ...urls import public_url
from .participants import Participant, session_participants


class InviteStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class CalendarInvite(db.Model):
    __tablename__ = "calendar_invite"
    __table_args__ = (
        UniqueConstraint("session_id", "attendee_key", name="uq_calendar_invite_attendee"),
        CheckConstraint("status IN ('active', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), index=True
    )
    attendee_key: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    uid: Mapped[str] = mapped_column(String(120), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    sent_revision: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default=InviteStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    session: Mapped[TrainingSession] = relationship()


def _organizer() -> tuple[str, str]:
    return current_app.config["STAFF_EMAIL"], current_app.config["ORGANISATION_NAME"]


def calendar_event(session: TrainingSession, invite: CalendarInvite, *, cancelled: bool = False):
    organizer_email, organizer_name = _organizer()
    course = session.course
    lines = [course.summary or course.title]
    if session.trainer:
        lines.append(str(_l("Trainer: %(name)s", name=session.trainer.name)))
    if session.online_url:
        lines.append(str(_l("Online via: %(url)s", url=session.online_url)))
    if session.change_note:
        lines.append(session.change_note)
    return CalendarEvent(
        uid=invite.uid,
        sequence=invite.sequence,
        start=session.starts_at,
        end=session.ends_at,
        summary=course.title,
        description="\n".join(lines),
        location=session.location or session.online_url,
        url=public_url("courses.course", slug=course.slug),
        organizer_email=organizer_email,
        organizer_name=organizer_name,
        attendee_email=invite.email,
        attendee_name=invite.name,
        cancelled=cancelled,
    )


def _send(session: TrainingSession, invite: CalendarInvite, person_locale: str, kind: str):
    method = "CANCEL" if kind == "cancel" else "REQUEST"
    ics = build_calendar([calendar_event(session, invite, cancelled=kind == "cancel")], method)
    subjects = {
        "new": _l("Uitnodiging: %(course)s", course=session.course.title),
        "update": _l("Gewijzigd: %(course)s", course=session.course.title),
        "cancel": _l("Geannuleerd: %(course)s", course=session.course.title),
    }
    queue_mail(
        to=invite.email,
        subject=subjects[kind],
        template=f"bookings/invite_{kind}",
        context={"session": session, "name": invite.name, "invite": invite},
        calendar_ics=ics,
        calendar_method=method,
        # The .ics file for clients that only import files; application/ics keeps Outlook from
        # taking a second text/calendar part for a second invitation.
        attachments=[Attachment("uitnodiging.ics", "application/ics", ics)],
        locale=person_locale,
    )


def sync_session_invites(session: TrainingSession) -> dict[str, int]:
    """Bring every attendee's calendar in line with the session; returns counts per kind."""
    counts = {"new": 0, "update": 0, "cancel": 0}
    desired: dict[str, Participant] = (
        {} if session.is_cancelled else {p.key: p for p in session_participants(session)}
    )
    existing = {
        invite.attendee_key: invite
        for invite in db.session.scalars(
            select(CalendarInvite).where(CalendarInvite.session_id == session.id)
        )
    }
    for key, person in desired.items():
        invite = existing.get(key)
        if invite is None:
            invite = CalendarInvite(
                session_id=session.id,
                session=session,
                attendee_key=key,
                email=person.email,
                name=person.name,
                uid=f"bbt-{session.id}-{secrets.token_hex(8)}@bbtraining",
                sequence=0,
                sent_revision=session.revision,
            )
            db.session.add(invite)
            _send(session, invite, person.locale, "new")
            counts["new"] += 1
        elif invite.status == InviteStatus.CANCELLED or invite.sent_revision != session.revision:
            invite.status = InviteStatus.ACTIVE
            invite.sequence += 1
            invite.sent_revision = session.revision
            invite.email, invite.name = person.email, person.name
            _send(session, invite, person.locale, "update")
            counts["update"] += 1
    for key, invite in existing.items():
        if key not in desired and invite.status == InviteStatus.ACTIVE:
            invite.status = InviteStatus.CANCELLED
            invite.sequence += 1
            invite.sent_revision = session.revision
            _send(session, invite, "nl", "cancel")
            counts["cancel"] += 1
    db.session.flush()
    return counts


def sync_edition_invites(edition: Edition) -> None:
    for session in edition.sessions:
        sync_session_invites(session)


def sync_invites_after_change(session: TrainingSession, **_kwargs) -> None:
    """Receiver of `session_changed`: a moved, cancelled or changed session updates invites."""
    if session.id is not None:
        sync_session_invites(session)


def _mail_the_invited(sessions, subject, template: str, context: dict) -> None:
    """One short mail to everyone with an active invite to one of these sessions (once per
    address, in their language), next to the updated invites themselves."""
    ids = [s.id for s in sessions if s.id is not None]
    if not ids:
        return
    db.session.flush()
    locales = {p.key: p.locale for s in sessions for p in session_participants(s)}
    invited: dict[str, CalendarInvite] = {}
    for invite in db.session.scalars(
        select(CalendarInvite)
        .where(CalendarInvite.session_id.in_(ids), CalendarInvite.status == InviteStatus.ACTIVE)
        .order_by(CalendarInvite.id)
    ):
        invited.setdefault(invite.email.strip().casefold(), invite)
    for invite in invited.values():
        queue_mail(
            to=invite.email,
            subject=subject,
            template=template,
            context={
                "name": invite.name,
                "sessions": sorted(sessions, key=lambda s: s.starts_at),
                **context,
            },
            locale=locales.get(invite.attendee_key, "nl"),
        )


def mail_new_location(edition: Edition, before=None, sessions=(), **_kwargs) -> None:
    """Receiver of `edition_location_changed` (the edition moved to another place)."""
    _mail_the_invited(
        sessions,
        _l("Nieuwe locatie: %(course)s", course=edition.course.title),
        "bookings/edition_location_changed",
        {"edition": edition, "before": before},
    )


def mail_new_link(edition: Edition, before=None, sessions=(), **_kwargs) -> None:
    """Receiver of `edition_link_changed` (the edition has a new or no online link)."""
    _mail_the_invited(
        sessions,
        _l("Nieuwe online link: %(course)s", course=edition.course.title),
        "bookings/edition_link_changed",
        {"edition": edition, "before": before},
    )
