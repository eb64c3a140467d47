"""The trainer's attendance sheet: who is on it (`session_participants`, trainers left out), their
records and the counts.

Attendance is one `AttendanceRecord` per participant key and session, whatever booked the person.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...auth.models import User
from ...courses.models import TrainingSession
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..sessions.participants import Participant, participants_by_session, session_participants
from .models import (
    AttendanceGuest,
    AttendanceRecord,
    AttendanceSource,
    AttendanceStatus,
    SessionNote,
)


@dataclass
class SheetRow:
    participant: Participant
    record: AttendanceRecord | None = None
    guest: AttendanceGuest | None = None
    organisation: str = ""

    @property
    def key(self) -> str:
        return self.participant.key

    @property
    def status(self) -> str | None:
        return self.record.status if self.record is not None else None

    @property
    def awaiting_confirmation(self) -> bool:
        return self.record is not None and self.record.awaiting_confirmation

    @property
    def detail(self) -> str:
        """What to show under the name: the guest's function, or the organisation."""
        if self.guest is not None and self.guest.role:
            return self.guest.role
        if self.participant.role == "client-contact":
            return str(_l("Contactpersoon opdrachtgever"))
        return self.organisation


@dataclass
class Sheet:
    session: TrainingSession
    rows: list[SheetRow]
    note: SessionNote | None = None
    counts: dict[str, int] = field(default_factory=dict)


def sheet_participants(session: TrainingSession) -> list[Participant]:
    return _on_sheet(session_participants(session, include_trainer=False))


def sheet_participant_counts(sessions: list[TrainingSession]) -> dict[int, int]:
    """How many people are on each session's sheet, by session id, without a query each."""
    people = participants_by_session(sessions, include_trainer=False)
    return {session_id: len(_on_sheet(found)) for session_id, found in people.items()}


def _on_sheet(people: list[Participant]) -> list[Participant]:
    on_sheet = [p for p in people if p.role != "trainer"]
    return sorted(on_sheet, key=lambda p: (p.name.casefold(), p.key))


def sheet_counts(rows: list[SheetRow]) -> dict[str, int]:
    counts = {status.value: 0 for status in AttendanceStatus}
    counts.update(unmarked=0, awaiting=0, self_checked_in=0, total=len(rows))
    # Each person counts once: a self check-in the trainer has not confirmed is "awaiting",
    # not also "present", so the parts add up to the list.
    for row in rows:
        counts["awaiting" if row.awaiting_confirmation else row.status or "unmarked"] += 1
        counts["self_checked_in"] += bool(
            row.record is not None
            and row.record.source == AttendanceSource.SELF_CHECK_IN
            and row.status == AttendanceStatus.PRESENT
        )
    return counts


def build_sheet(session: TrainingSession) -> Sheet:
    people = sheet_participants(session)
    records = records_by_key(session)
    guests = {
        g.participant_key: g
        for g in db.session.scalars(
            select(AttendanceGuest).where(AttendanceGuest.session_id == session.id)
        )
    }
    organisations = _organisation_names([p.user_id for p in people if p.user_id])
    rows = [
        SheetRow(
            participant=p,
            record=records.get(p.key),
            guest=guests.get(p.key),
            organisation=organisations.get(p.user_id, ""),
        )
        for p in people
    ]
    return Sheet(
        session=session,
        rows=rows,
        note=db.session.get(SessionNote, session.id),
        counts=sheet_counts(rows),
    )


def _organisation_names(user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(user_ids)))
    return {u.id: u.organisation.name for u in users if u.organisation is not None}


def records_by_key(session: TrainingSession) -> dict[str, AttendanceRecord]:
    return {
        r.participant_key: r
        for r in db.session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
        )
    }


def participant_on_sheet(session: TrainingSession, key: str) -> Participant:
    """The person with this key on the session's sheet; refused when there is none."""
    for person in sheet_participants(session):
        if person.key == key:
            return person
    raise DomainError(_l("Deze deelnemer staat niet op de lijst van deze sessie."), field="key")


def account_of(person: Participant) -> int | None:
    """The participant's account: given by the provider, or found by a verified address."""
    if person.user_id is not None:
        return person.user_id
    user = User.by_email(person.email) if person.email else None
    return user.id if user is not None and user.email_verified else None


def record_for(session: TrainingSession, person: Participant) -> AttendanceRecord:
    """The person's record at the session, a new one (not added yet) when there is none."""
    record = db.session.scalar(
        select(AttendanceRecord).where(
            AttendanceRecord.session_id == session.id,
            AttendanceRecord.participant_key == person.key,
        )
    )
    if record is None:
        record = AttendanceRecord(
            session_id=session.id,
            participant_key=person.key,
            user_id=account_of(person),
            name=person.name,
            email=person.email,
        )  # stored by `insert_record` once marked: a row always has a status
    return record


def insert_record(record: AttendanceRecord) -> AttendanceRecord | None:
    """Store a new (marked) record and return it as stored; None when a concurrent request
    stored this person's record first (two trainers tapping at once, a check-in at the same
    moment): the UNIQUE key keeps theirs, and the caller applies its change on top of it.

    INSERT ... ON CONFLICT DO NOTHING rather than catching the IntegrityError: that would need
    a rollback, and a savepoint that starts SQLite's transaction commits it when released."""
    values = {
        column.key: getattr(record, column.key)
        for column in AttendanceRecord.__table__.columns
        if column.key != "id" and getattr(record, column.key) is not None
    }
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stored_id = db.session.scalar(
        insert(AttendanceRecord)
        .values(values)
        .on_conflict_do_nothing(index_elements=["session_id", "participant_key"])
        .returning(AttendanceRecord.id)
    )
    return db.session.get(AttendanceRecord, stored_id) if stored_id is not None else None
