"""Certificates of participation: one per completed participant, verifiable by its code.

The code is random (80 bits from an alphabet without look-alike characters, printed as
XXXX-XXXX-XXXX-XXXX), so it can be typed from paper and cannot be guessed or enumerated; the
public page at /certificates/<code> only ever answers for the code it was given.
A completion that is undone revokes its certificate (the page then says it is no longer
valid); when the participant completes again the same certificate is valid again.
"""

import re
import secrets
from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import ForeignKey, String, exists, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ... import audit
from ...db_types import UTCDateTime, utcnow
from ...extensions import babel_locale, db
from ...i18n import lazy_gettext as _l
from ...notifications.models import OutboxMessage
from ...notifications.services import Attachment, queue_mail
from ...pdf.certificate import CertificateDoc, render_certificate
from ...urls import public_url
from .models import Completion

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
CODE_LENGTH = 16
_CODE_GROUP = 4


class Certificate(db.Model):
    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(
        ForeignKey("completion.id", ondelete="CASCADE"), unique=True
    )
    code: Mapped[str] = mapped_column(String(24), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Valid again since (issued or reinstated); the mail waits until it stayed valid a while.
    valid_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    completion: Mapped[Completion] = relationship(lazy="joined")

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None

    @property
    def dates(self) -> list[date]:
        return [date.fromisoformat(day) for day in self.completion.session_dates]

    @property
    def filename(self) -> str:
        return f"certificaat-{self.code}.pdf"


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + _CODE_GROUP] for i in range(0, CODE_LENGTH, _CODE_GROUP))


def normalise_code(text: str) -> str | None:
    """The canonical form of a typed code (case, spaces and dashes do not matter), or None when
    it cannot be one of ours."""
    raw = re.sub(r"[\s-]", "", text or "").upper()
    if len(raw) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        return None
    return "-".join(raw[i : i + _CODE_GROUP] for i in range(0, CODE_LENGTH, _CODE_GROUP))


def find_by_code(text: str) -> Certificate | None:
    code = normalise_code(text)
    if code is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == code))


def certificate_of(completion: Completion) -> Certificate | None:
    if completion.id is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.completion_id == completion.id))


def ensure_certificate(completion: Completion, *, at: datetime) -> Certificate:
    """The completed participant's certificate: issued once, valid again after a revocation.
    It is mailed later (`mail_certificate`), once it stayed valid for a while."""
    certificate = certificate_of(completion)
    if certificate is None:
        code = new_code()
        while db.session.scalar(select(exists().where(Certificate.code == code))):
            code = new_code()  # 32**16 codes: only ever taken by a test that forces it
        certificate = Certificate(completion=completion, code=code, issued_at=at, valid_since=at)
        db.session.add(certificate)
        db.session.flush()
        audit.record("certificate.issued", certificate, completion_id=completion.id)
    elif not certificate.is_valid:
        certificate.revoked_at = None
        certificate.valid_since = at
        audit.record("certificate.reinstated", certificate, completion_id=completion.id)
    return certificate


def revoke_certificate(completion: Completion, *, at: datetime) -> Certificate | None:
    certificate = certificate_of(completion)
    if certificate is not None and certificate.is_valid:
        certificate.revoked_at = at
        audit.record("certificate.revoked", certificate, completion_id=completion.id)
    return certificate


def verify_url(certificate: Certificate) -> str:
    return public_url("bookings.certificate_verify", code=certificate.code)


def certificate_pdf(certificate: Certificate) -> bytes:
    completion = certificate.completion
    return render_certificate(
        CertificateDoc(
            participant_name=completion.name,
            course_title=completion.course.title,
            dates=tuple(certificate.dates),
            trainer_names=tuple(completion.trainer_names),
            code=certificate.code,
            verify_url=verify_url(certificate),
            issuer=current_app.config["ORGANISATION_NAME"],
        )
    )


def certificates_to_mail(valid_before: datetime) -> list[Certificate]:
    """Valid certificates never mailed, valid since before the given moment."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(
                Certificate.revoked_at.is_(None),
                Certificate.mailed_at.is_(None),
                Certificate.valid_since <= valid_before,
            )
            .order_by(Certificate.id)
        )
    )


def mail_certificate(certificate: Certificate, *, at: datetime) -> None:
    """Send the certificate to its holder, once in its life."""
    certificate.mailed_at = at
    dedupe_key = f"certificate:{certificate.id}"
    if db.session.scalar(select(exists().where(OutboxMessage.dedupe_key == dedupe_key))):
        return
    audit.record("certificate.mailed", certificate, completion_id=certificate.completion_id)
    completion = certificate.completion
    to = completion.user if completion.user is not None else completion.email
    with force_locale(babel_locale(completion.locale)):
        pdf = certificate_pdf(certificate)
    queue_mail(
        to=to,
        subject=_l("Uw certificaat: %(course)s", course=completion.course.title),
        template="bookings/certificate_issued",
        context={
            "name": completion.name,
            "course": completion.course,
            "certificate": certificate,
            "verify_link": verify_url(certificate),
        },
        attachments=[Attachment(certificate.filename, "application/pdf", pdf)],
        dedupe_key=dedupe_key,
        locale=completion.locale,
    )
