"""The rules behind the trainer's attendance sheet, self check-in and completion.

Who is on a sheet comes from `participants.session_participants` (enrollments, inhouse lists,
guests added here); attendance is one `AttendanceRecord` per participant key and session.
Completion is decided per group of sessions (an edition, an inhouse booking, or a lone session)
once its last session has ended, by the course's `completion_min_percent`; any change to the
attendance afterwards decides it again. Completing issues a certificate and records the
qualification (which invites to the alumni pool when the course qualifies).

Functions here flush and never commit; every change writes an audit entry.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from flask_babel import format_time
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select

from ... import audit
from ...auth.models import User, normalise_email
from ...courses.models import (
    AMSTERDAM,
    TrainingSession,
    edition_trainer,
)
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ..sessions.groups import SessionGroup, group_for_key, groups_ended_between, session_group
from ..sessions.participants import Participant, session_participants
from . import certificates
from .certificates import Certificate
from .models import (
    AttendanceGuest,
    AttendanceRecord,
    AttendanceSource,
    AttendanceStatus,
    Completion,
    CompletionRun,
    CompletionStatus,
    SessionNote,
)
from .qualifications import Qualification, QualificationSource, record_qualification

# Participants may check themselves in from this long before the start until the end.
CHECK_IN_OPENS_BEFORE = timedelta(minutes=30)
# The QR code's token changes every window; the current and the previous one are accepted.
CHECK_IN_ROTATION_SECONDS = 60
# After a valid scan the participant has this long to log in and confirm.
CHECK_IN_GRANT = timedelta(minutes=10)
# The periodic task looks this far back for groups whose completion is still to be decided
# (so a worker that was down for days catches up).
COMPLETION_LOOKBACK = timedelta(days=14)
# A completion is shown at once, but the certificate mail and the qualification (with its
# invitation to the alumni pool) wait until it stayed so for this long: a trainer correcting a
# mistaken tap after the last session must not have mailed anyone a certificate.
SETTLE_DELAY = timedelta(minutes=10)
# An arrival time may lie this long before the start (early birds) and no later than the end.
ARRIVAL_EARLIEST = timedelta(hours=2)
NOTE_MAX = 2000


# == Who may do what =============================================================================
def session_trainers(session: TrainingSession) -> list[User]:
    trainers: dict[int, User] = {}
    if session.trainer is not None:
        trainers[session.trainer.id] = session.trainer
    if session.edition is not None:
        for trainer in session.edition.trainers:
            trainers.setdefault(trainer.id, trainer)
    return list(trainers.values())


def leads_session(user, session: TrainingSession) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return any(trainer.id == user.id for trainer in session_trainers(session))


def can_manage_sheet(user, session: TrainingSession) -> bool:
    """Only the session's trainers and staff see or change its attendance."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_admin or leads_session(user, session)


def can_view_completion(user, completion: Completion) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin or completion.user_id == user.id:
        return True
    group = group_for_key(completion.group_key)
    return group is not None and any(leads_session(user, s) for s in group.sessions)


def _source_for(by: User | None, session: TrainingSession) -> str:
    if by is not None and not leads_session(by, session) and by.is_admin:
        return AttendanceSource.STAFF
    return AttendanceSource.TRAINER


# == The sheet ===================================================================================
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
    people = [
        p for p in session_participants(session, include_trainer=False) if p.role != "trainer"
    ]
    return sorted(people, key=lambda p: (p.name.casefold(), p.key))


def sheet_counts(rows: list[SheetRow]) -> dict[str, int]:
    counts = {status.value: 0 for status in AttendanceStatus}
    counts.update(unmarked=0, awaiting=0, self_checked_in=0, total=len(rows))
    for row in rows:
        counts[row.status or "unmarked"] += 1
        counts["awaiting"] += row.awaiting_confirmation
        counts["self_checked_in"] += bool(
            row.record is not None
            and row.record.source == AttendanceSource.SELF_CHECK_IN
            and row.status == AttendanceStatus.PRESENT
        )
    return counts


def build_sheet(session: TrainingSession) -> Sheet:
    people = sheet_participants(session)
    records = _records_by_key(session)
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


def _records_by_key(session: TrainingSession) -> dict[str, AttendanceRecord]:
    return {
        r.participant_key: r
        for r in db.session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
        )
    }


def _participant(session: TrainingSession, key: str) -> Participant:
    for person in sheet_participants(session):
        if person.key == key:
            return person
    raise DomainError(_l("Deze deelnemer staat niet op de lijst van deze sessie."), field="key")


def _account_id(person: Participant) -> int | None:
    """The participant's account: given by the provider, or found by a verified address."""
    if person.user_id is not None:
        return person.user_id
    user = User.by_email(person.email) if person.email else None
    return user.id if user is not None and user.email_verified else None


def _record_for(session: TrainingSession, person: Participant) -> AttendanceRecord:
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
            user_id=_account_id(person),
            name=person.name,
            email=person.email,
        )  # added to the database session once marked: a row always has a status
    return record


# == Marking =====================================================================================
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
    record = _record_for(session, _participant(session, key))
    if _apply_mark(session, record, status, by=by, now=now):
        _after_attendance_change(session, now)
    return record


def _apply_mark(
    session: TrainingSession, record: AttendanceRecord, status: str, *, by: User, now: datetime
) -> bool:
    before = record.status
    was_awaiting = record.awaiting_confirmation
    source = _source_for(by, session)
    if not record.mark(status, by=by, source=source, at=now):
        return False
    db.session.add(record)
    arriving = status == AttendanceStatus.PRESENT and record.arrived_at is None
    if arriving and session_running(session, now):
        record.arrived_at = now
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
    return True


def mark_everyone_present(
    session: TrainingSession, *, by: User, now: datetime | None = None
) -> int:
    """Everyone not marked yet is present (and self check-ins are confirmed); absences and
    excuses already noted stay. Returns how many changed."""
    now = now or utcnow()
    _refuse_unmarkable(session, AttendanceStatus.PRESENT, now)
    records = _records_by_key(session)
    changed = 0
    for person in sheet_participants(session):
        record = records.get(person.key)
        if record is not None and not record.awaiting_confirmation:
            continue
        record = record or _record_for(session, person)
        changed += _apply_mark(session, record, AttendanceStatus.PRESENT, by=by, now=now)
    if changed:
        audit.record("attendance.everyone_present", session, actor=by, changed=changed)
        _after_attendance_change(session, now)
    return changed


def confirm_check_in(
    session: TrainingSession, key: str, *, by: User, now: datetime | None = None
) -> AttendanceRecord:
    now = now or utcnow()
    _participant(session, key)
    record = _records_by_key(session).get(key)
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
    person = _participant(session, key)
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise DomainError(_l("Een notitie is hooguit 2000 tekens."), field="note")
    arrived_at = _arrival_at(session, arrival) if arrival is not None else None
    record = _records_by_key(session).get(key)
    if arrived_at is not None and (record is None or record.status != AttendanceStatus.PRESENT):
        # An arrival time says they came.
        _refuse_unmarkable(session, AttendanceStatus.PRESENT, now)
        record = record or _record_for(session, person)
        _apply_mark(session, record, AttendanceStatus.PRESENT, by=by, now=now)
        _after_attendance_change(session, now)
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


# == Guests: participants added on the spot to an inhouse session ===============================
def add_guest(
    session: TrainingSession,
    *,
    name: str,
    email: str,
    role: str | None,
    by: User,
    now: datetime | None = None,
) -> AttendanceGuest:
    now = now or utcnow()
    if session.edition_id is not None:
        raise DomainError(
            _l(
                "Deelnemers toevoegen kan alleen bij inhouse sessies; voor een open editie "
                "schrijft iemand zich in."
            )
        )
    if session.is_cancelled:
        raise DomainError(_l("Deze sessie is geannuleerd; er valt geen aanwezigheid te noteren."))
    name, email = (name or "").strip(), normalise_email(email)
    if not name or not email:
        raise DomainError(_l("Vul een naam en een e-mailadres in."), field="name")
    if any(normalise_email(p.email) == email for p in sheet_participants(session)):
        raise DomainError(
            _l("%(email)s staat al op de lijst van deze sessie.", email=email), field="email"
        )
    guest = AttendanceGuest(
        session_id=session.id,
        name=name,
        email=email,
        role=(role or "").strip() or None,
        added_by_id=by.id,
        created_at=now,
    )
    db.session.add(guest)
    db.session.flush()
    audit.record("attendance.guest_added", guest, actor=by, session_id=session.id)
    _after_attendance_change(session, now)
    return guest


def remove_guest(
    session: TrainingSession, guest_id: int, *, by: User, now: datetime | None = None
) -> None:
    now = now or utcnow()
    guest = db.session.get(AttendanceGuest, guest_id)
    if guest is None or guest.session_id != session.id:
        raise DomainError(_l("Deze deelnemer staat niet op de lijst van deze sessie."))
    db.session.execute(
        delete(AttendanceRecord).where(
            AttendanceRecord.session_id == session.id,
            AttendanceRecord.participant_key == guest.participant_key,
        )
    )
    audit.record("attendance.guest_removed", guest, actor=by, session_id=session.id)
    db.session.delete(guest)
    db.session.flush()
    _after_attendance_change(session, now)


def guest_participants(session: TrainingSession) -> list[Participant]:
    if session.id is None:
        return []
    guests = list(
        db.session.scalars(
            select(AttendanceGuest)
            .where(AttendanceGuest.session_id == session.id)
            .order_by(AttendanceGuest.id)
        )
    )
    if not guests:
        return []
    accounts = {
        u.email: u
        for u in db.session.scalars(
            select(User).where(
                User.email.in_([g.email for g in guests]), User.email_verified_at.is_not(None)
            )
        )
    }
    return [
        Participant(
            key=g.participant_key,
            email=g.email,
            name=g.name,
            role="participant",
            user_id=accounts[g.email].id if g.email in accounts else None,
            locale=accounts[g.email].locale if g.email in accounts else "nl",
            joined_at=g.created_at,
        )
        for g in guests
    ]


# == Self check-in ===============================================================================
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


def check_in(
    session: TrainingSession, user: User, *, now: datetime | None = None
) -> tuple[AttendanceRecord, bool]:
    """The participant marks themselves present; the trainer confirms it on the sheet.
    Returns the record and whether it changed (False: they were already present)."""
    now = now or utcnow()
    if not session_running(session, now):
        raise DomainError(check_in_closed_message())
    person = participant_for_user(session, user)
    if person is None:
        raise DomainError(
            _l("U staat niet op de deelnemerslijst van deze sessie. Meld u bij de trainer.")
        )
    record = _record_for(session, person)
    before = record.status
    if not record.mark(
        AttendanceStatus.PRESENT, by=user, source=AttendanceSource.SELF_CHECK_IN, at=now
    ):
        return record, False
    record.arrived_at = now
    db.session.add(record)
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


# == Completion ==================================================================================
def participant_identity(key: str, email: str) -> str:
    # Guests are added per session: the same person added at two sessions of a booking is one.
    return f"guest:{normalise_email(email)}" if key.startswith("guest:") else key


def compute_completion(group: SessionGroup, *, now: datetime | None = None) -> list[Completion]:
    """Decide completion for everyone in the group, once its last session has ended.

    Cancelled sessions do not count; excused counts as absent. Overrides by staff stay.
    """
    now = now or utcnow()
    active = group.active_sessions
    if not active or not group.has_ended(now):
        return []
    course = group.course
    people: dict[str, Participant] = {}
    for session in active:
        for person in sheet_participants(session):
            people.setdefault(participant_identity(person.key, person.email), person)
    attended: dict[str, int] = {}
    excused: dict[str, int] = {}
    for record in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id.in_([s.id for s in active]))
    ):
        identity = participant_identity(record.participant_key, record.email)
        if record.status == AttendanceStatus.PRESENT:
            attended[identity] = attended.get(identity, 0) + 1
        elif record.status == AttendanceStatus.EXCUSED:
            excused[identity] = excused.get(identity, 0) + 1
    existing = {
        c.participant_key: c
        for c in db.session.scalars(select(Completion).where(Completion.group_key == group.key))
    }
    dates = sorted({s.local_start.date().isoformat() for s in active})
    trainers = _trainer_names(active)
    results = []
    for identity in sorted(set(people) | set(existing)):
        person = people.get(identity)
        completion = existing.get(identity)
        if completion is None:
            completion = Completion(
                group_key=group.key,
                course=course,
                edition=group.edition,
                participant_key=identity,
                name=person.name,
                email=person.email,
            )
        if person is not None:
            account_id = _account_id(person)
            completion.user = db.session.get(User, account_id) if account_id else None
            completion.name, completion.email = person.name, person.email
            completion.locale = person.locale or "nl"
        count = attended.get(identity, 0)
        meets_rule = count * 100 >= course.completion_min_percent * len(active)
        _decide(
            completion,
            computed=(
                CompletionStatus.COMPLETED
                if person is not None and meets_rule
                else CompletionStatus.NOT_COMPLETED
            ),
            values={
                "attended": count,
                "excused": excused.get(identity, 0),
                "counted_sessions": len(active),
                "required_percent": course.completion_min_percent,
                "listed": person is not None,
                "session_dates": dates,
                "trainer_names": trainers,
                "group_ends_at": group.ends_at,
            },
            group=group,
            now=now,
        )
        results.append(completion)
    run = db.session.get(CompletionRun, group.key)
    if run is None:
        run = CompletionRun(group_key=group.key, ends_at=group.ends_at)
        db.session.add(run)
    run.ends_at, run.computed_at = group.ends_at, now
    db.session.flush()
    return results


def _trainer_names(sessions: list[TrainingSession]) -> list[str]:
    names: list[str] = []
    for session in sessions:
        for trainer in session_trainers(session):
            if trainer.name not in names:
                names.append(trainer.name)
    return names


def _decide(
    completion: Completion, *, computed: str, values: dict, group: SessionGroup, now: datetime
) -> None:
    is_new = completion.id is None
    before = None if is_new else completion.status
    before_counts = None if is_new else completion.snapshot()
    completion.computed_status = computed
    for name, value in values.items():
        setattr(completion, name, value)
    completion.computed_at = now
    if is_new:
        db.session.add(completion)
    db.session.flush()
    if is_new or completion.snapshot() != before_counts:
        audit.record(
            "completion.decided",
            completion,
            group=completion.group_key,
            participant_key=completion.participant_key,
            old=before,
            new=completion.status,
            attended=completion.attended,
            sessions=completion.counted_sessions,
        )
    _follow_status(completion, before, now=now)


def _follow_status(completion: Completion, before: str | None, *, now: datetime) -> None:
    """The certificate follows the completion's status at once; the qualification follows once
    the completion has settled (see `settle_completions`)."""
    if completion.is_completed:
        certificate = certificates.ensure_certificate(completion, at=now)
        if certificate.mailed_at is not None:
            _record_qualification(completion)  # settled before: completed again after a fix
    elif before == CompletionStatus.COMPLETED:
        certificates.revoke_certificate(completion, at=now)
        _withdraw_qualification(completion)


def _record_qualification(completion: Completion) -> None:
    if completion.user is not None:
        record_qualification(
            completion.user,
            completion.course,
            edition=completion.edition,
            source=QualificationSource.ATTENDANCE,
            completed_at=completion.group_ends_at,
        )


def settle_completions(now: datetime | None = None) -> int:
    """Certificates that stayed valid for SETTLE_DELAY: mail them and record the training as
    verified on the person. Returns how many settled."""
    now = now or utcnow()
    settled = certificates.certificates_to_mail(now - SETTLE_DELAY)
    for certificate in settled:
        _record_qualification(certificate.completion)
        certificates.mail_certificate(certificate, at=now)
    db.session.flush()
    return len(settled)


def _withdraw_qualification(completion: Completion) -> None:
    """A completion undone takes back the qualification attendance recorded (never one staff
    recorded by hand): the alumni pool trusts only completed trainings."""
    if completion.user_id is None:
        return
    query = select(Qualification).where(
        Qualification.user_id == completion.user_id,
        Qualification.course_id == completion.course_id,
        Qualification.source == QualificationSource.ATTENDANCE,
    )
    if completion.edition_id is None:
        query = query.where(Qualification.edition_id.is_(None))
    else:
        query = query.where(Qualification.edition_id == completion.edition_id)
    for qualification in db.session.scalars(query):
        audit.record(
            "qualification.withdrawn",
            qualification,
            user_id=qualification.user_id,
            course_id=qualification.course_id,
            edition_id=qualification.edition_id,
        )
        db.session.delete(qualification)
    db.session.flush()


def override_completion(
    completion: Completion,
    decision: str,
    note: str,
    *,
    by: User,
    now: datetime | None = None,
) -> Completion:
    """Staff decide against the rule (or return to it), always with a note."""
    now = now or utcnow()
    before = completion.status
    completion.set_override(decision, note, by=by, at=now)
    db.session.flush()
    audit.record(
        "completion.overridden",
        completion,
        actor=by,
        decision=decision,
        old=before,
        new=completion.status,
        note=completion.override_note,
    )
    if completion.status != before:
        _follow_status(completion, before, now=now)
    return completion


def _after_attendance_change(session: TrainingSession, now: datetime) -> None:
    """Attendance changed after the group's end: decide completion again, right away."""
    group = session_group(session)
    if group.has_ended(now):
        compute_completion(group, now=now)


def decide_again_after_session_change(
    session: TrainingSession, change: str = "", **_kwargs
) -> None:
    """Receiver of `session_changed`: a session cancelled (or moved) after the group's end
    changes what counts."""
    if session.id is None or change not in ("cancelled", "moved"):
        return
    group = session_group(session)
    if db.session.get(CompletionRun, group.key) is not None:
        compute_completion(group)


def run_due_completions(now: datetime | None = None) -> int:
    """Decide completion for every group that ended lately and was not decided since its end.
    Returns the number of groups decided."""
    now = now or utcnow()
    decided = 0
    for group in groups_ended_between(now - COMPLETION_LOOKBACK, now):
        run = db.session.get(CompletionRun, group.key)
        if run is not None and run.computed_at >= group.ends_at:
            continue
        compute_completion(group, now=now)
        decided += 1
    return decided


def group_completions(group: SessionGroup) -> list[tuple[Completion, Certificate | None]]:
    rows = db.session.execute(
        select(Completion, Certificate)
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(Completion.group_key == group.key)
        .order_by(func.lower(Completion.name), Completion.id)
    )
    return [(c, cert) for c, cert in rows]


# == Overviews ===================================================================================
def _trainer_sessions_query(user: User):
    return select(TrainingSession).where(
        or_(
            TrainingSession.trainer_id == user.id,
            TrainingSession.edition_id.in_(
                select(edition_trainer.c.edition_id).where(edition_trainer.c.user_id == user.id)
            ),
        )
    )


def trainer_upcoming_sessions(
    user: User, *, now: datetime | None = None, limit: int = 10
) -> list[TrainingSession]:
    """The trainer's sessions still to come or running now, soonest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            _trainer_sessions_query(user)
            .where(TrainingSession.ends_at >= now)
            .order_by(TrainingSession.starts_at)
            .limit(limit)
        )
    )


def trainer_past_sessions(
    user: User, *, now: datetime | None = None, limit: int = 10
) -> list[TrainingSession]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            _trainer_sessions_query(user)
            .where(TrainingSession.ends_at < now)
            .order_by(TrainingSession.starts_at.desc())
            .limit(limit)
        )
    )


def marked_counts(session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(AttendanceRecord.session_id, func.count())
        .where(AttendanceRecord.session_id.in_(session_ids))
        .group_by(AttendanceRecord.session_id)
    )
    return {session_id: count for session_id, count in rows}


def records_of(user: User, *, limit: int = 30) -> list[AttendanceRecord]:
    return list(
        db.session.scalars(
            select(AttendanceRecord)
            .join(TrainingSession, TrainingSession.id == AttendanceRecord.session_id)
            .where(AttendanceRecord.user_id == user.id)
            .order_by(TrainingSession.starts_at.desc())
            .limit(limit)
        )
    )


def completions_of(user: User) -> list[tuple[Completion, Certificate | None]]:
    rows = db.session.execute(
        select(Completion, Certificate)
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(Completion.user_id == user.id, Completion.listed.is_(True))
        .order_by(Completion.computed_at.desc())
    )
    return [(c, cert) for c, cert in rows]


def sessions_on(day_start: datetime, day_end: datetime) -> list[TrainingSession]:
    return list(
        db.session.scalars(
            select(TrainingSession)
            .where(TrainingSession.starts_at < day_end, TrainingSession.ends_at > day_start)
            .order_by(TrainingSession.starts_at)
        )
    )


def recent_groups(*, now: datetime | None = None, limit: int = 8) -> list[CompletionRun]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(CompletionRun)
            .where(CompletionRun.ends_at >= now - timedelta(days=60))
            .order_by(CompletionRun.ends_at.desc())
            .limit(limit)
        )
    )
