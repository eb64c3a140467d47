"""Which sessions belong together: the one definition of a session group.

Completion, certificates and evaluation rounds are decided per group, not per session:

* an open edition: "edition:<id>", its sessions;
* an inhouse booking: "inhouse:<booking id>", the sessions scheduled for it;
* any other session: "session:<id>" on its own.

The keys are stored (completions, completion runs, evaluation rounds): they never change.

Which kinds exist is not known here: a capability that groups sessions registers a
`GroupResolver` (the edition resolver below is registered by sessions' `__init__`, the inhouse
one by inhouse's). `session_group(session)` asks them in order and falls back to the lone
session; `group_for_key(key)` finds a stored key's group again; `groups_ended_between` finds
the groups whose last scheduled session ended in a window (the beat jobs of completion and
evaluation).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ...auth.models import User
from ...courses.models import Course, Edition, EditionStatus, SessionStatus, TrainingSession
from ...extensions import db


@dataclass
class SessionGroup:
    key: str
    course: Course
    sessions: list[TrainingSession]  # every session of the group, cancelled ones too
    edition: Edition | None = None

    @property
    def active_sessions(self) -> list[TrainingSession]:
        """The sessions that count: cancelled ones do not, nor any of a cancelled edition."""
        if self.edition is not None and self.edition.status == EditionStatus.CANCELLED:
            return []
        return [s for s in self.sessions if s.status == SessionStatus.SCHEDULED]

    @property
    def ends_at(self) -> datetime | None:
        active = self.active_sessions
        return max(s.ends_at for s in active) if active else None

    def has_ended(self, now: datetime) -> bool:
        end = self.ends_at
        return end is not None and end <= now

    @property
    def trainers(self) -> list[User]:
        """The edition's trainers and the trainers of the sessions that count, once each."""
        trainers: dict[int, User] = {}
        for trainer in self.edition.trainers if self.edition is not None else ():
            trainers.setdefault(trainer.id, trainer)
        for session in self.active_sessions:
            if session.trainer is not None:
                trainers.setdefault(session.trainer.id, session.trainer)
        return list(trainers.values())


@dataclass(frozen=True)
class GroupResolver:
    """One kind of group: `kind` is its key's prefix ("<kind>:<id>"); `of_session(session)`
    gives the group a session belongs to (None: not this kind); `by_id(id)` the group of a
    key again (None: gone, or no sessions)."""

    kind: str
    of_session: Callable[[TrainingSession], SessionGroup | None]
    by_id: Callable[[int], SessionGroup | None]


_resolvers: list[GroupResolver] = []


def register_group_resolver(resolver: GroupResolver) -> GroupResolver:
    if resolver.kind not in {r.kind for r in _resolvers}:
        _resolvers.append(resolver)
    return resolver


def session_group(session: TrainingSession) -> SessionGroup:
    for resolver in _resolvers:
        group = resolver.of_session(session)
        if group is not None:
            return group
    return SessionGroup(f"session:{session.id}", session.course, [session])


def group_for_key(key: str) -> SessionGroup | None:
    kind, _sep, ident = key.partition(":")
    if not ident.isdigit():
        return None
    if kind == "session":
        session = db.session.get(TrainingSession, int(ident))
        return session_group(session) if session is not None else None
    for resolver in _resolvers:
        if resolver.kind == kind:
            return resolver.by_id(int(ident))
    return None


def groups_ended_between(after: datetime, before: datetime) -> list[SessionGroup]:
    """The groups whose last scheduled session ended after `after` and no later than `before`
    (a group with a session still to come has not ended), soonest first."""
    ended = db.session.scalars(
        select(TrainingSession)
        .where(
            TrainingSession.status == SessionStatus.SCHEDULED,
            TrainingSession.ends_at > after,
            TrainingSession.ends_at <= before,
        )
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    )
    groups: dict[str, SessionGroup] = {}
    seen: set[int] = set()
    for session in ended:
        if session.id in seen:
            continue
        group = session_group(session)
        seen.update(s.id for s in group.sessions)
        if group.has_ended(before):
            groups.setdefault(group.key, group)
    return list(groups.values())


# -- open editions: the catalog's own grouping -------------------------------------------------
def edition_group(edition: Edition) -> SessionGroup:
    return SessionGroup(f"edition:{edition.id}", edition.course, list(edition.sessions), edition)


def edition_group_of_session(session: TrainingSession) -> SessionGroup | None:
    return edition_group(session.edition) if session.edition_id is not None else None


def edition_group_by_id(edition_id: int) -> SessionGroup | None:
    edition = db.session.get(Edition, edition_id)
    if edition is None or not edition.sessions:
        return None
    return edition_group(edition)


EDITIONS = GroupResolver("edition", edition_group_of_session, edition_group_by_id)
