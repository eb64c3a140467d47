"""Marking attendance on the sheet: present, absent or excused, arrival times, notes.

A mark is possible from 30 minutes before the start (excused also beforehand); a change after the
group's end decides its completion again. Functions here flush and never commit; every change
writes an audit entry.
"""

from datetime import UTC, datetime, time, timedelta

from flask_babel import format_time

from ... import audit
from ...auth.models import User
from ...courses.models import AMSTERDAM, TrainingSession
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..sessions.participants import Participant
from .access import leads_session
from .completion import decide_again_if_ended
from .models import AttendanceRecord, AttendanceSource, AttendanceStatus, SessionNote
from .sheet import (
    insert_record,
    participant_on_sheet,
    record_for,
    records_by_key,
    sheet_participants,
)

# Participants may check themselves in from this long before the start until the end.
CHECK_IN_OPENS_BEFORE = timedelta(minutes=30)
# An arrival time may lie this long before the start (early birds) and no later than the end.
ARRIVAL_EARLIEST = timedelta(hours=2)
NOTE_MAX = 2000


def _source_for(by: User | None, session: TrainingSession) -> str:
    if by is not None and not leads_session(by, session) and by.is_admin:
        return AttendanceSource.STAFF
    return AttendanceSource.TRAINER


def check_in_window(session: TrainingSession) -> tuple[datetime, datetime]:
    return session.starts_at - CHECK_IN_OPENS_BEFORE, session.ends_at


def session_running(session: TrainingSession, now: datetime) -> bool:
    opens, closes = check_in_window(session)
    return not session.is_cancelled and opens <= now <= closes


def _refuse_unmarkable(session: TrainingSession, status: str, now: datetime) -> None:
    if session.is_cancelled:
        raise DomainError(_l("Deze sessie is geannuleerd; er valt geen aanwezigheid te noteren."))
    opens, _closes = check_in_window(session)
    if status != AttendanceStatus.EXCUSED and now < opens:
        raise DomainError(
            _l(
                "Aanwezigheid noteert u vanaf 30 minuten voor de start. Vooraf kunt u iemand "
                "alleen als afgemeld noteren."
            )
        )


def _valid_status(status: str) -> str:
    try:
        return AttendanceStatus(status).value
    except ValueError as exc:
        raise DomainError(_l("Kies aanwezig, afwezig of afgemeld."), field="status") from exc


def mark(
    session: TrainingSession, key: str, status: str, *, by: User, now: datetime | None = None
) -> AttendanceRecord:
    """One tap on the sheet: present, absent or excused."""
    now = now or utcnow()
    status = _valid_status(status)
    _refuse_unmarkable(session, status, now)
    record, changed = _apply_mark(
        session, participant_on_sheet(session, key), status, by=by, now=now
    )
    if changed:
        decide_again_if_ended(session, now)
    return record


def _apply_mark(
    session: TrainingSession,
    person: Participant,
    status: str,
    *,
    by: User,
    now: datetime,
    record: AttendanceRecord | None = None,
) -> tuple[AttendanceRecord, bool]:
    """Mark the person (on `record`, their record when already loaded); returns the record as
    stored and whether anything changed."""
    record = record or record_for(session, person)
    before = record.status
    was_awaiting = record.awaiting_confirmation
    source = _source_for(by, session)
    if not record.mark(status, by=by, source=source, at=now):
        return record, False
    arriving = status == AttendanceStatus.PRESENT and record.arrived_at is None
    if arriving and session_running(session, now):
        record.arrived_at = now
    if record.id is None:
        stored = insert_record(record)
        if stored is None:  # another request stored this person's record first: mark theirs
            return _apply_mark(session, person, status, by=by, now=now)
        record = stored
    db.session.flush()
    audit.record(
        "attendance.confirmed" if was_awaiting and before == status else "attendance.marked",
        record,
        actor=by,
        session_id=session.id,
        participant_key=record.participant_key,
        old=before,
        new=record.status,
        source=record.source,
    )
    return record, True


def mark_everyone_present(
    session: TrainingSession, *, by: User, now: datetime | None = None
) -> int:
    """Everyone not marked yet is present (and self check-ins are confirmed); absences and
    excuses already noted stay. Returns how many changed."""
    now = now or utcnow()
    _refuse_unmarkable(session, AttendanceStatus.PRESENT, now)
    records = records_by_key(session)
    changed = 0
    for person in sheet_participants(session):
        record = records.get(person.key)
        if record is not None and not record.awaiting_confirmation:
            continue
        _record, marked = _apply_mark(
            session, person, AttendanceStatus.PRESENT, by=by, now=now, record=record
        )
        changed += marked
    if changed:
        audit.record("attendance.everyone_present", session, actor=by, changed=changed)
        decide_again_if_ended(session, now)
    return changed


def confirm_check_in(
    session: TrainingSession, key: str, *, by: User, now: datetime | None = None
) -> AttendanceRecord:
    now = now or utcnow()
    participant_on_sheet(session, key)
    record = records_by_key(session).get(key)
    if record is None:
        raise DomainError(_l("Er is voor deze deelnemer niets te bevestigen."))
    record.confirm(by=by, at=now)
    audit.record(
        "attendance.confirmed", record, actor=by, session_id=session.id, participant_key=key
    )
    return record


def set_details(
    session: TrainingSession,
    key: str,
    *,
    arrival: time | None,
    note: str | None,
    by: User,
    now: datetime | None = None,
) -> AttendanceRecord:
    """Arrival time and a note for one participant. An arrival time marks them present."""
    now = now or utcnow()
    person = participant_on_sheet(session, key)
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise DomainError(_l("Een notitie is hooguit 2000 tekens."), field="note")
    arrived_at = _arrival_at(session, arrival) if arrival is not None else None
    record = records_by_key(session).get(key)
    if arrived_at is not None and (record is None or record.status != AttendanceStatus.PRESENT):
        # An arrival time says they came.
        _refuse_unmarkable(session, AttendanceStatus.PRESENT, now)
        record, _marked = _apply_mark(
            session, person, AttendanceStatus.PRESENT, by=by, now=now, record=record
        )
        decide_again_if_ended(session, now)
    if record is None:
        raise DomainError(
            _l("Noteer eerst of deze deelnemer aanwezig, afwezig of afgemeld is."), field="note"
        )
    changes: dict[str, object] = {}
    if record.status == AttendanceStatus.PRESENT and arrived_at != record.arrived_at:
        changes["arrived_at"] = arrived_at
        record.arrived_at = arrived_at
    if note != record.note:
        changes["note"] = "changed" if note else "removed"
        record.note = note
    if changes:
        db.session.flush()
        audit.record(
            "attendance.details",
            record,
            actor=by,
            session_id=session.id,
            participant_key=key,
            **changes,
        )
    return record


def _arrival_at(session: TrainingSession, value: time) -> datetime:
    local_day = session.local_start.date()
    arrived = datetime.combine(local_day, value, tzinfo=AMSTERDAM).astimezone(UTC)
    earliest, latest = session.starts_at - ARRIVAL_EARLIEST, session.ends_at
    if not earliest <= arrived <= latest:
        raise DomainError(
            _l(
                "Vul een aankomsttijd tussen %(start)s en %(end)s in.",
                start=format_time(earliest, "short"),
                end=format_time(latest, "short"),
            ),
            field="arrival",
        )
    return arrived


def set_session_note(
    session: TrainingSession, text: str, *, by: User, now: datetime | None = None
) -> SessionNote:
    now = now or utcnow()
    text = (text or "").strip()
    if len(text) > 10 * NOTE_MAX:
        raise DomainError(_l("De sessienotities zijn hooguit 20.000 tekens."), field="text")
    note = db.session.get(SessionNote, session.id)
    if note is None:
        note = SessionNote(session_id=session.id, text="")
        db.session.add(note)
    if note.text != text:
        note.text = text
        note.updated_by_id = by.id
        note.updated_at = now
        db.session.flush()
        audit.record("attendance.session_note", session, actor=by, length=len(text))
    return note
