"""Opening evaluation rounds: after the last session of a group has ended, everyone who attended
gets one request.

A group is what people followed together and evaluate once: an open edition, an inhouse booking or
a lone session, as `sessions.groups` defines it (its key names the round). Who attended is what
attendance says: marked present at one of the group's sessions at least (for inhouse bookings the
client contact too, when marked present). Absent, excused and unmarked people get no request,
trainers never. Attendance marked after the round opened still counts: the next beat asks those
newly marked present.

The beat job (`send_due_evaluation_requests` in tasks.py) opens the rounds and commits; the
functions here flush.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ... import audit
from ...courses.models import TrainingSession
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...notifications.services import queue_mail
from ...urls import public_url
from ..attendance.models import AttendanceRecord, AttendanceStatus
from ..sessions.groups import SessionGroup, groups_ended_between
from ..sessions.participants import Participant, session_participants
from .answers import make_token
from .models import EvaluationRequest, EvaluationRound


def evaluation_link(request: EvaluationRequest) -> str:
    return public_url("bookings.evaluation_form", token=make_token(request))


def _present(sessions: list[TrainingSession]) -> set[tuple[int, str]]:
    """(session id, participant key) of everyone marked present at one of these sessions."""
    ids = [s.id for s in sessions]
    if not ids:
        return set()
    rows = db.session.execute(
        select(AttendanceRecord.session_id, AttendanceRecord.participant_key).where(
            AttendanceRecord.session_id.in_(ids),
            AttendanceRecord.status == AttendanceStatus.PRESENT,
        )
    )
    return {(session_id, key) for session_id, key in rows}


def group_people(group: SessionGroup) -> list[Participant]:
    """Everyone who attended: marked present at one session of the group at least (the client
    contact too, when they were there), once each. Absent, excused or never marked people get
    no request, trainers never."""
    sessions = group.active_sessions
    present = _present(sessions)
    people: dict[str, Participant] = {}
    seen_keys: set[str] = set()
    for session in sessions:
        for person in session_participants(session, include_trainer=False):
            if person.role == "trainer" or person.key in seen_keys:
                continue
            if (session.id, person.key) not in present:
                continue
            seen_keys.add(person.key)
            people.setdefault(person.email.strip().casefold(), person)
    return list(people.values())


def open_round(group: SessionGroup) -> EvaluationRound:
    """Create the round and mail everyone in it; flushes. IntegrityError when another run has
    already opened this group (the caller rolls back and moves on)."""
    sessions = group.active_sessions
    evaluation_round = EvaluationRound(
        group_key=group.key,
        course=group.course,
        edition_id=group.edition.id if group.edition else None,
        first_starts_at=min(s.starts_at for s in sessions),
        last_ends_at=max(s.ends_at for s in sessions),
        trainers=group.trainers,
    )
    db.session.add(evaluation_round)
    db.session.flush()  # the UNIQUE group_key decides here who opens this round
    people = group_people(group)
    for person in people:
        _ask(evaluation_round, person)
    audit.record("evaluation.round_opened", evaluation_round, group=group.key, requests=len(people))
    return evaluation_round


def _ask(evaluation_round: EvaluationRound, person: Participant) -> EvaluationRequest:
    request = EvaluationRequest(
        round=evaluation_round,
        attendee_key=person.key,
        email=person.email,
        name=person.name,
        role=person.role,
        user_id=person.user_id,
    )
    db.session.add(request)
    db.session.flush()  # UNIQUE (round, person): a concurrent run cannot ask twice
    course = evaluation_round.course
    queue_mail(
        to=person.email,
        subject=_l("Hoe was %(course)s?", course=course.title),
        template="bookings/evaluation_request",
        context={
            "name": person.name,
            "course": course,
            "evaluation_round": evaluation_round,
            "link": evaluation_link(request),
            "days": current_app.config["EVALUATION_LINK_MAX_AGE"] // 86400,
        },
        locale=person.locale,
        dedupe_key=f"evaluation:{request.id}",
    )
    return request


def ask_late_attendees(evaluation_round: EvaluationRound, group: SessionGroup) -> int:
    """A trainer who marks attendance after the round opened: those now marked present get
    their request too, everyone else nothing new. Returns how many were asked; flushes."""
    asked = {r.attendee_key for r in evaluation_round.requests}
    asked |= {r.email.strip().casefold() for r in evaluation_round.requests}
    late = [
        p
        for p in group_people(group)
        if p.key not in asked and p.email.strip().casefold() not in asked
    ]
    for person in late:
        _ask(evaluation_round, person)
    if late:
        audit.record(
            "evaluation.late_requests", evaluation_round, group=group.key, requests=len(late)
        )
    return len(late)


def finished_groups(now: datetime) -> dict[str, SessionGroup]:
    """Groups whose last session ended between the window's start and the delay ago."""
    config = current_app.config
    ended_before = now - timedelta(hours=config["EVALUATION_DELAY_HOURS"])
    ended_after = now - timedelta(days=config["EVALUATION_WINDOW_DAYS"])
    return {group.key: group for group in groups_ended_between(ended_after, ended_before)}


def opened_rounds(keys: list[str]) -> dict[str, EvaluationRound]:
    if not keys:
        return {}
    rounds = db.session.scalars(select(EvaluationRound).where(EvaluationRound.group_key.in_(keys)))
    return {r.group_key: r for r in rounds}


def due_groups(now: datetime) -> list[SessionGroup]:
    groups = finished_groups(now)
    opened = opened_rounds(list(groups))
    return [group for key, group in groups.items() if key not in opened]
