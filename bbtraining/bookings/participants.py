"""Who takes part in a session, whatever booked them there.

Enrollments (open editions) and inhouse bookings each register a provider; invites, reminders
and attendance ask `session_participants(session)` and never care where a person came from.
"""

from collections.abc import Callable
from dataclasses import dataclass

from ..courses.models import TrainingSession


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
_providers: list[Provider] = []


def register_provider(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
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
