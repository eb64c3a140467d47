"""Who may see and change attendance: the session's trainers and staff; a completion also its
participant.
"""

from ...auth.models import User
from ...courses.models import TrainingSession
from ..sessions.groups import group_for_key
from .models import Completion


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
