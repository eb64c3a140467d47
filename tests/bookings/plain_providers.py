"""Plain-list providers: stand-ins for enrollments and inhouse bookings in mechanism tests.

They are registered through the same public registries the real providers use.
"""

from collections import defaultdict

from bbtraining.bookings.sessions import participants
from bbtraining.bookings.sessions.participants import Participant


class PlainParticipants:
    """`everyone` takes part in every session; `per_session[id]` only in that one."""

    def __init__(self):
        self.everyone: list[Participant] = []
        self.per_session: dict[int, list[Participant]] = defaultdict(list)

    def add(self, person: Participant, *sessions) -> Participant:
        if not sessions:
            self.everyone.append(person)
        for session in sessions:
            self.per_session[session.id].append(person)
        return person

    def __call__(self, session) -> list[Participant]:
        return list(self.everyone) + list(self.per_session.get(session.id, []))


class PlainSessions:
    def __init__(self):
        self.by_user: dict[int, list] = defaultdict(list)

    def __call__(self, user) -> list:
        return list(self.by_user.get(user.id, []))


def registered_participants():
    provider = PlainParticipants()
    participants.register_provider(provider)
    try:
        yield provider
    finally:
        participants._providers.remove(provider)


def registered_sessions():
    provider = PlainSessions()
    participants.register_sessions_provider(provider)
    try:
        yield provider
    finally:
        participants._sessions_providers.remove(provider)
