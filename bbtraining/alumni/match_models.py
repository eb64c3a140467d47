"""Match requests and shortlists: what a client asks of alumni, and who answered what.

Imported by the package at start (see `alumni/__init__.py`), so their mappers are configured
with the profile models.
"""

import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Organisation, User
from ..db_types import UTCDateTime, utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .models import AlumniProfile, in_list


class MatchRole(StrEnum):
    LEAD = "lead"
    TABLE = "table"
    CO = "co"
    ONLINE = "online"


MATCH_ROLE_LABELS = {
    MatchRole.LEAD: _l("Hoofdbegeleider (procesbegeleiding van het hele beraad)"),
    MatchRole.TABLE: _l("Tafelbegeleider"),
    MatchRole.CO: _l("Co-begeleider"),
    MatchRole.ONLINE: _l("Begeleider van online sessies"),
}


class RecipientStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


RECIPIENT_STATUS_LABELS = {
    RecipientStatus.PENDING: _l("Wacht op antwoord"),
    RecipientStatus.ACCEPTED: _l("Geaccepteerd"),
    RecipientStatus.DECLINED: _l("Afgewezen"),
    RecipientStatus.EXPIRED: _l("Verlopen"),
}


# -- match requests --------------------------------------------------------------------------------
class MatchRequest(db.Model):
    """A client's question to one or more alumni: can you facilitate our assembly?"""

    __tablename__ = "alumni_match_request"
    __table_args__ = (
        CheckConstraint(in_list("role", [r.value for r in MatchRole]), name="role_known"),
        Index("ix_alumni_match_request_client_created", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    organisation_name: Mapped[str] = mapped_column(String(200))
    assembly: Mapped[str] = mapped_column(String(200))
    # ISO dates of the assembly's meetings, in order.
    dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    place: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    shortlist_id: Mapped[int | None] = mapped_column(
        ForeignKey("alumni_shortlist.id", ondelete="SET NULL")
    )
    # Closed by staff (the client was told why); its open answers were expired with it.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    organisation: Mapped[Organisation | None] = relationship()
    recipients: Mapped[list["MatchRecipient"]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="MatchRecipient.id",
    )

    @property
    def role_label(self) -> str:
        return str(MATCH_ROLE_LABELS.get(self.role, self.role))

    @property
    def date_values(self) -> list[date]:
        return [date.fromisoformat(d) for d in self.dates]

    def can_view(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if user.has_role("admin") or user.id == self.client_id:
            return True
        # Colleagues at the same organisation follow the same assembly.
        return (
            user.has_role("client")
            and self.organisation_id is not None
            and user.organisation_id == self.organisation_id
        )

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def close(self, reason: str, *, by: User, now: datetime) -> list["MatchRecipient"]:
        """Close the request; who had not answered can no longer (returned, now expired)."""
        if self.closed_at is not None:
            raise DomainError(_l("Dit verzoek is al gesloten."))
        reason = (reason or "").strip()
        if not reason:
            raise DomainError(_l("Geef een reden op; de opdrachtgever krijgt die te lezen."))
        open_ones = [r for r in self.recipients if r.is_pending]
        for recipient in open_ones:
            recipient.expire(now)
        self.closed_at, self.close_reason, self.closed_by_id = now, reason, by.id
        return open_ones

    def counts(self) -> dict[str, int]:
        result = {s.value: 0 for s in RecipientStatus}
        for recipient in self.recipients:
            result[recipient.status] += 1
        return result


class MatchRecipient(db.Model):
    """One alumnus' side of a request, with its own answer and its own signed link."""

    __tablename__ = "alumni_match_recipient"
    __table_args__ = (
        UniqueConstraint("request_id", "alumnus_id", name="uq_alumni_match_recipient_once"),
        CheckConstraint(in_list("status", [s.value for s in RecipientStatus]), name="status_known"),
        Index("ix_alumni_match_recipient_alumnus_status", "alumnus_id", "status"),
        Index("ix_alumni_match_recipient_status", "status", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_match_request.id", ondelete="CASCADE")
    )
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("alumni_profile.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=RecipientStatus.PENDING)
    # Part of the signed link in the mail: only this recipient's link can answer for them.
    token_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_urlsafe(16))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_note: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last reminder

    request: Mapped[MatchRequest] = relationship(back_populates="recipients")
    alumnus: Mapped[User] = relationship(foreign_keys=[alumnus_id], lazy="joined")
    profile: Mapped[AlumniProfile | None] = relationship()

    @property
    def status_label(self) -> str:
        if self.status == RecipientStatus.EXPIRED and self.request.is_closed:
            return str(_l("Gesloten"))
        return str(RECIPIENT_STATUS_LABELS.get(self.status, self.status))

    @property
    def is_pending(self) -> bool:
        return self.status == RecipientStatus.PENDING

    def _answer(self, status: RecipientStatus, now: datetime | None) -> None:
        now = now or utcnow()
        if self.status != RecipientStatus.PENDING:
            raise DomainError(_l("Dit verzoek is al beantwoord of verlopen."))
        if self.request.expires_at <= now:
            raise DomainError(_l("Dit verzoek is verlopen; u kunt het niet meer beantwoorden."))
        self.status = status
        self.responded_at = now

    def accept(self, now: datetime | None = None) -> None:
        self._answer(RecipientStatus.ACCEPTED, now)

    def decline(self, note: str | None = None, now: datetime | None = None) -> None:
        self._answer(RecipientStatus.DECLINED, now)
        self.response_note = (note or "").strip() or None

    def expire(self, now: datetime | None = None) -> None:
        if self.status != RecipientStatus.PENDING:
            raise DomainError(_l("Alleen een openstaand verzoek kan verlopen."))
        self.status = RecipientStatus.EXPIRED
        self.responded_at = now or utcnow()

    def remind(self, now: datetime, *, every: timedelta) -> None:
        if self.status != RecipientStatus.PENDING:
            raise DomainError(_l("Alleen wie nog niet antwoordde, kan een herinnering krijgen."))
        if self.request.expires_at <= now:
            raise DomainError(_l("Dit verzoek is verlopen; een herinnering heeft geen zin meer."))
        if self.reminded_at is not None and self.reminded_at > now - every:
            raise DomainError(
                _l("Deze gespreksbegeleider kreeg de afgelopen 24 uur al een herinnering.")
            )
        self.reminded_at = now

    def can_answer(self, user) -> bool:
        return getattr(user, "is_authenticated", False) and user.id == self.alumnus_id


# -- staff shortlists ------------------------------------------------------------------------------
class Shortlist(db.Model):
    """Alumni that staff selected for a client (matchmaking by staff)."""

    __tablename__ = "alumni_shortlist"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    entries: Mapped[list["ShortlistEntry"]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ShortlistEntry.position",
    )

    def can_view(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        return user.has_role("admin") or user.id == self.client_id


class ShortlistEntry(db.Model):
    __tablename__ = "alumni_shortlist_entry"

    shortlist_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_shortlist.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_profile.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(500), default="")

    profile: Mapped[AlumniProfile] = relationship(lazy="joined")
