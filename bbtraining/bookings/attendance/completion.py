"""Completion, decided per group of sessions (`sessions.groups`: an edition, an inhouse booking, a
lone session) once its last session has ended.

The course's `completion_min_percent` of the sessions that count must be attended (excused counts
as absent, cancelled sessions do not count); staff may override with a note. Any change to the
attendance afterwards decides it again. A completion issues a certificate at once; once it has
settled (SETTLE_DELAY) the certificate is mailed and the qualification recorded. Functions here
flush and never commit.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from ... import audit
from ...auth.models import User, normalise_email
from ...courses.models import TrainingSession
from ...db_types import utcnow
from ...extensions import db
from ..sessions.groups import SessionGroup, groups_ended_between, session_group
from ..sessions.participants import Participant
from . import certificates
from .access import session_trainers
from .certificates import Certificate
from .models import AttendanceRecord, AttendanceStatus, Completion, CompletionRun, CompletionStatus
from .qualifications import (
    Qualification,
    QualificationSource,
    completed_without_account,
    record_qualification,
)
from .sheet import account_of, sheet_participants

# The periodic task looks this far back for groups whose completion is still to be decided
# (so a worker that was down for days catches up).
COMPLETION_LOOKBACK = timedelta(days=14)
# A completion is shown at once, but the certificate mail and the qualification (with its
# invitation to the alumni pool) wait until it stayed so for this long: a trainer correcting a
# mistaken tap after the last session must not have mailed anyone a certificate.
SETTLE_DELAY = timedelta(minutes=10)


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
            account_id = account_of(person)
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
    if completion.user is None:
        completed_without_account.send(completion)
        return
    record_qualification(
        completion.user,
        completion.course,
        edition=completion.edition,
        source=QualificationSource.ATTENDANCE,
        completed_at=completion.group_ends_at,
    )


def claim_completions(user: User, **_kwargs) -> int:
    """Receiver of `auth.signals.email_verified`: trainings completed under this address before
    it had a verified account (a colleague enrolled by a booker) become this person's, with
    their qualification. Only settled completions (certificate mailed) count, as in
    `settle_completions`."""
    claimed = 0
    for completion in db.session.scalars(
        select(Completion)
        .join(Certificate, Certificate.completion_id == Completion.id)
        .where(
            Completion.user_id.is_(None),
            func.lower(Completion.email) == user.email,
            Certificate.revoked_at.is_(None),
            Certificate.mailed_at.is_not(None),
        )
    ):
        if not completion.is_completed:
            continue
        completion.user = user
        _record_qualification(completion)
        claimed += 1
    return claimed


def settle_completions(now: datetime | None = None) -> int:
    """Certificates that stayed valid for SETTLE_DELAY: mail them and record the training as
    verified on the person. Returns how many settled."""
    now = now or utcnow()
    settled = certificates.certificates_to_mail(now - SETTLE_DELAY)
    for certificate in settled:
        # The certificate first: it is what the person waits for; an invitation follows.
        certificates.mail_certificate(certificate, at=now)
        _record_qualification(certificate.completion)
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


def decide_again_if_ended(session: TrainingSession, now: datetime) -> None:
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
