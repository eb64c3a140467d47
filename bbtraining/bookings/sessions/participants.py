"""Who takes part in a session, whatever booked them there.

Enrollments (open editions) and inhouse bookings each register a provider; invites, reminders
and attendance ask `session_participants(session)` and never care where a person came from.
The other direction, a person's own sessions for their calendar feed, works the same way:
`register_sessions_provider(fn(user) -> [TrainingSession])`, asked by `sessions_for_user(user)`.

A page that lists many sessions asks `participants_by_session(sessions)`: a provider registered
with `many=fn(sessions) -> {session id: [Participant]}` answers for all of them in a fixed number
of queries; one registered without it is asked per session.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select

from ...courses.models import Edition, TrainingSession, edition_trainer
from ...extensions import db


@dataclass(frozen=True)
class Participant:
    # Stable per person and session, e.g. "enrollment:12", "inhouse:5:3", "trainer:7";
    # an invite's UID and a reminder's dedupe key hang on it.
    key: str
    email: str
    name: str
    role: str = "participant"  # "participant" | "trainer" | "client-contact"
    user_id: int | None = None
    locale: str = "nl"
    # When this person joined; reminders due before this moment are not sent to them.
    joined_at: object = None


Provider = Callable[[TrainingSession], list[Participant]]
ManyProvider = Callable[[list[TrainingSession]], dict[int, list[Participant]]]
_providers: list[Provider] = []
_many: dict[Provider, ManyProvider] = {}


def register_provider(provider: Provider, *, many: ManyProvider | None = None) -> Provider:
    """`provider(session)` lists who takes part; `many(sessions)`, when given, lists the same
    for several sessions at once (and `provider` should be `many` for one session)."""
    if provider not in _providers:
        _providers.append(provider)
    if many is not None:
        _many[provider] = many
    return provider


def trainer_participant(session: TrainingSession) -> list[Participant]:
    trainer = session.trainer
    if trainer is None:
        return []
    return [
        Participant(
            key=f"trainer:{trainer.id}",
            email=trainer.email,
            name=trainer.name,
            role="trainer",
            user_id=trainer.id,
            locale=trainer.locale,
        )
    ]


def session_participants(session: TrainingSession, *, include_trainer: bool = True):
    people: dict[str, Participant] = {}
    for provider in _providers:
        for person in provider(session):
            people.setdefault(person.key, person)
    result = list(people.values())
    if include_trainer:
        result = trainer_participant(session) + result
    return result


def participants_by_session(
    sessions: list[TrainingSession], *, include_trainer: bool = True
) -> dict[int, list[Participant]]:
    """`session_participants` for each of `sessions`, by session id, without a query per
    session for the providers that can answer for many."""
    found: dict[int, dict[str, Participant]] = {s.id: {} for s in sessions}
    for provider in _providers:
        many = _many.get(provider)
        answers = many(sessions) if many else {s.id: provider(s) for s in sessions}
        for session in sessions:
            for person in answers.get(session.id, ()):
                found[session.id].setdefault(person.key, person)
    return {
        s.id: (trainer_participant(s) if include_trainer else []) + list(found[s.id].values())
        for s in sessions
    }


# -- the other direction: which sessions a person takes part in (their calendar feed) -----------
SessionsProvider = Callable[[object], list[TrainingSession]]
_sessions_providers: list[SessionsProvider] = []


def register_sessions_provider(provider: SessionsProvider) -> SessionsProvider:
    """Register `fn(user) -> [TrainingSession]`: the sessions a user joined through you
    (confirmed enrollments, inhouse bookings). Cancelled sessions may be included: feeds show
    them as cancelled."""
    if provider not in _sessions_providers:
        _sessions_providers.append(provider)
    return provider


def trainer_sessions(user, since=None) -> list[TrainingSession]:
    """Sessions the user leads: as the session's trainer or as a trainer of its edition."""
    query = select(TrainingSession).where(
        or_(
            TrainingSession.trainer_id == user.id,
            TrainingSession.edition_id.in_(
                select(Edition.id)
                .join(edition_trainer, edition_trainer.c.edition_id == Edition.id)
                .where(edition_trainer.c.user_id == user.id)
            ),
        )
    )
    if since is not None:
        query = query.where(TrainingSession.ends_at >= since)
    return list(db.session.scalars(query))


def sessions_for_user(user, since=None) -> list[TrainingSession]:
    """Every session the user takes part in or leads, oldest first, each once."""
    sessions: dict[int, TrainingSession] = {}
    for session in trainer_sessions(user, since):
        sessions[session.id] = session
    for provider in _sessions_providers:
        for session in provider(user):
            if since is None or session.ends_at >= since:
                sessions.setdefault(session.id, session)
    return sorted(sessions.values(), key=lambda s: (s.starts_at, s.id))
