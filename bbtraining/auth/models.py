import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..db_types import UTCDateTime, utcnow
from ..extensions import db
from ..i18n import lazy_gettext as _l


class Role(StrEnum):
    ADMIN = "admin"
    TRAINER = "trainer"
    FACILITATOR = "facilitator"
    CLIENT = "client"
    ADVISOR = "advisor"


ROLE_LABELS = {
    Role.ADMIN: _l("Medewerker"),
    Role.TRAINER: _l("Trainer"),
    Role.FACILITATOR: _l("Gespreksbegeleider"),
    Role.CLIENT: _l("Opdrachtgever"),
    Role.ADVISOR: _l("Adviseur"),
}


class OrganisationKind(StrEnum):
    GEMEENTE = "gemeente"
    PROVINCIE = "provincie"
    WATERSCHAP = "waterschap"
    OTHER = "other"


ORGANISATION_KIND_LABELS = {
    OrganisationKind.GEMEENTE: _l("Gemeente"),
    OrganisationKind.PROVINCIE: _l("Provincie"),
    OrganisationKind.WATERSCHAP: _l("Waterschap"),
    OrganisationKind.OTHER: _l("Andere organisatie"),
}


class Organisation(db.Model):
    __tablename__ = "organisation"
    __table_args__ = (
        UniqueConstraint("kind", "name", name="uq_organisation_kind_name"),
        CheckConstraint(
            "kind IN ('gemeente', 'provincie', 'waterschap', 'other')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default=OrganisationKind.GEMEENTE)
    # CBS municipality code (e.g. GM0363 for Amsterdam), when the organisation is a council.
    cbs_code: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(500))
    # Where it is established (ISO code) and its VAT number (compact, e.g. BE0123456789): a
    # business in another EU member state with a number VIES confirmed is invoiced reverse-charge.
    country: Mapped[str] = mapped_column(String(2), default="NL", server_default="NL")
    vat_number: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list["User"]] = relationship(back_populates="organisation")

    @property
    def kind_label(self) -> str:
        return str(ORGANISATION_KIND_LABELS.get(self.kind, self.kind))

    def __str__(self) -> str:
        return self.name


class UserRole(db.Model):
    __tablename__ = "user_role"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'trainer', 'facilitator', 'client', 'advisor')", name="role_known"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the login cookie: rotating it logs out every other session (password change).
    session_token: Mapped[str] = mapped_column(
        String(64), default=lambda: secrets.token_urlsafe(24)
    )
    # Secret part of /calendar/<token>.ics; regenerable by the user.
    calendar_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(24)
    )
    bio: Mapped[str | None] = mapped_column(String(2000))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    is_active_account: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship(back_populates="members")
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    # -- Flask-Login -------------------------------------------------------------------------
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return self.is_active_account and self.deleted_at is None

    # -- roles -------------------------------------------------------------------------------
    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def add_role(self, role: Role | str) -> None:
        role = Role(role)
        if role not in self.roles:
            self.role_rows.append(UserRole(role=role.value))

    def remove_role(self, role: Role | str) -> None:
        self.role_rows = [row for row in self.role_rows if row.role != Role(role).value]

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_trainer(self) -> bool:
        return self.has_role(Role.TRAINER)

    @property
    def is_client(self) -> bool:
        return self.has_role(Role.CLIENT)

    @property
    def is_facilitator(self) -> bool:
        return self.has_role(Role.FACILITATOR)

    @property
    def is_advisor(self) -> bool:
        return self.has_role(Role.ADVISOR)

    # -- passwords ---------------------------------------------------------------------------
    def set_password(self, password: str, method: str | None = None) -> None:
        from flask import current_app

        method = method or current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Void every session and remember-me cookie of the account, copies included: each
        carries the session token (get_id), which the user loader compares.

        One token per account, so logging out means "everywhere", not "this device": it needs
        no sessions table nor a second lookup per request, and on the shared computers of a
        council office or a training venue the safe reading of "log out" is that nothing
        signed in stays behind. Another device pays one password entry for it.
        """
        self.session_token = secrets.token_urlsafe(24)

    def check_password(self, password: str) -> bool:
        return password_matches(self, password)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def mark_email_verified(self) -> None:
        if self.email_verified_at is None:
            self.email_verified_at = utcnow()

    def regenerate_calendar_token(self) -> None:
        self.calendar_token = secrets.token_urlsafe(24)

    @property
    def first_name(self) -> str:
        return self.name.split(" ")[0] if self.name else ""

    def __str__(self) -> str:
        return self.name or self.email

    @classmethod
    def by_email(cls, email: str) -> "User | None":
        return db.session.scalar(select(cls).where(cls.email == normalise_email(email)))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


_DUMMY_HASHES: dict[str, str] = {}


def password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is the user's, at the cost of one password hash whoever asks.

    An unknown address or an account without a password is checked against a dummy hash of
    the configured method, so that the answer takes as long as for a real account: the time
    of a login must not tell which addresses have one.
    """
    stored = user.password_hash if user is not None else None
    if not stored:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(stored, password)


def _dummy_hash() -> str:
    from flask import current_app

    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _DUMMY_HASHES[method]


class LoginThrottle(db.Model):
    """Failed logins for one e-mail address, whether or not it has an account.

    Counted in the database, so the limit holds across web processes and without Redis; keyed
    by a keyed hash of the address (auth.lockout.throttle_key), so unknown addresses typed at
    the login form are not kept readable. Unknown addresses lock exactly like known ones: the
    lock tells nobody whether an account exists.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the owner was last mailed about a lock: one mail a day, however often it locks.
    owner_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
