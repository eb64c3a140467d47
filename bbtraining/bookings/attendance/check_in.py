"""Self check-in: the participant scans the QR code on the trainer's screen and marks themselves
present; the trainer confirms it on the sheet.

The code's token is an HMAC of the session and a time window that rotates every minute; the current
and the previous window are accepted, only while the session runs.
"""

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app

from ... import audit
from ...auth.models import User, normalise_email
from ...courses.models import TrainingSession
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..sessions.participants import Participant
from .marking import session_running
from .models import AttendanceRecord, AttendanceSource, AttendanceStatus
from .sheet import insert_record, record_for, sheet_participants

# The QR code's token changes every window; the current and the previous one are accepted.
CHECK_IN_ROTATION_SECONDS = 60
# After a valid scan the participant has this long to log in and confirm.
CHECK_IN_GRANT = timedelta(minutes=10)


def _check_in_digest(session_id: int, window: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"attendance-check-in:{session_id}:{window}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _window(now: datetime) -> int:
    return int(now.timestamp()) // CHECK_IN_ROTATION_SECONDS


def check_in_token(session: TrainingSession, now: datetime | None = None) -> str:
    now = now or utcnow()
    if not session_running(session, now):
        raise DomainError(check_in_closed_message())
    return _check_in_digest(session.id, _window(now))


def check_in_token_valid(session: TrainingSession, token: str, now: datetime | None = None) -> bool:
    """The token of the current or the previous window, while the session runs."""
    now = now or utcnow()
    if not session_running(session, now) or not token:
        return False
    current = _window(now)
    return any(
        hmac.compare_digest(token, _check_in_digest(session.id, window))
        for window in (current, current - 1)
    )


def check_in_closed_message():
    return _l(
        "Zelf aanmelden kan alleen tijdens de sessie: vanaf 30 minuten voor de start tot het einde."
    )


def participant_for_user(session: TrainingSession, user: User) -> Participant | None:
    email = normalise_email(user.email)
    for person in sheet_participants(session):
        if person.user_id == user.id:
            return person
        if (
            person.user_id is None
            and user.email_verified
            and normalise_email(person.email) == email
        ):
            return person
    return None


def may_check_in(
    session: TrainingSession, user: User, *, now: datetime | None = None
) -> tuple[Participant, AttendanceRecord]:
    """The user's place on the list and their record; refused (DomainError) when the session
    does not run, they are not on the list, or the trainer marked them absent. The landing page
    asks this before offering the button, the check-in itself again."""
    now = now or utcnow()
    if not session_running(session, now):
        raise DomainError(check_in_closed_message())
    person = participant_for_user(session, user)
    if person is None:
        raise DomainError(
            _l("U staat niet op de deelnemerslijst van deze sessie. Meld u bij de trainer.")
        )
    record = record_for(session, person)
    record.refuse_self_check_in_over_trainer()
    return person, record


def check_in(
    session: TrainingSession, user: User, *, now: datetime | None = None
) -> tuple[AttendanceRecord, bool]:
    """The participant marks themselves present; the trainer confirms it on the sheet.
    Returns the record and whether it changed (False: they were already present)."""
    now = now or utcnow()
    person, record = may_check_in(session, user, now=now)
    before = record.status
    if not record.mark(
        AttendanceStatus.PRESENT, by=user, source=AttendanceSource.SELF_CHECK_IN, at=now
    ):
        return record, False
    record.arrived_at = now
    if record.id is None:
        stored = insert_record(record)
        if stored is None:  # the trainer marked them at this very moment: check in on top
            return check_in(session, user, now=now)
        record = stored
    db.session.flush()
    audit.record(
        "attendance.self_check_in",
        record,
        actor=user,
        session_id=session.id,
        participant_key=person.key,
        old=before,
    )
    return record, True
