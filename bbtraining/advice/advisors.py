"""Who can be booked: advisors are users with the adviseur role and a profile of their rules."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import audit
from ..auth.models import Role, User, UserRole
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .models import AdvisorProfile


def active_advisors() -> list[AdvisorProfile]:
    """Active profiles of active users who hold the adviseur role, by name, with their hours."""
    query = (
        select(AdvisorProfile)
        .join(User, AdvisorProfile.user_id == User.id)
        .join(UserRole, (UserRole.user_id == User.id) & (UserRole.role == Role.ADVISOR.value))
        .where(
            AdvisorProfile.active.is_(True),
            User.is_active_account.is_(True),
            User.deleted_at.is_(None),
        )
        .options(selectinload(AdvisorProfile.hours), selectinload(AdvisorProfile.overrides))
        .order_by(User.name, AdvisorProfile.id)
    )
    return list(db.session.scalars(query).unique())


def profile_for(user: User | None) -> AdvisorProfile | None:
    """The user's advisor profile, or None (also for anonymous users and non-advisors)."""
    if user is None or not getattr(user, "is_authenticated", True) or not user.id:
        return None
    return db.session.scalar(select(AdvisorProfile).where(AdvisorProfile.user_id == user.id))


def make_advisor(user: User, *, by: User | None = None) -> AdvisorProfile:
    """Give a user the adviseur role and a profile with the default rules (idempotent)."""
    if not user.is_active:
        raise DomainError(_l("%(name)s heeft geen actief account.", name=user.name))
    user.add_role(Role.ADVISOR)
    profile = profile_for(user)
    if profile is None:
        profile = AdvisorProfile(user=user)
        db.session.add(profile)
    profile.active = True
    db.session.flush()
    audit.record("advisor.enabled", profile, actor=by)
    return profile
