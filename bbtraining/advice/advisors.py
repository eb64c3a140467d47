"""Who can be booked: advisors are users with the adviseur role and a profile of their rules."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import defaultload, joinedload

from .. import audit
from ..auth.models import Role, User, UserRole
from ..courses.editions import clean_online_url
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .models import AdvisorDateOverride, AdvisorHours, AdvisorProfile, OverrideKind


def active_advisors() -> list[AdvisorProfile]:
    """Active profiles of active users who hold the adviseur role, by name, with their hours and
    overrides."""
    query = (
        select(AdvisorProfile)
        .join(User, AdvisorProfile.user_id == User.id)
        .join(UserRole, (UserRole.user_id == User.id) & (UserRole.role == Role.ADVISOR.value))
        .where(
            AdvisorProfile.active.is_(True),
            User.is_active_account.is_(True),
            User.deleted_at.is_(None),
        )
        # One query: the user, hours and overrides joined (a few rows each); the user's roles
        # only if someone asks.
        .options(
            joinedload(AdvisorProfile.hours),
            joinedload(AdvisorProfile.overrides),
            defaultload(AdvisorProfile.user).lazyload(User.role_rows),
        )
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


# -- an advisor's rules, hours and overrides -------------------------------------------------------
WEEKDAY_LABELS = (
    _l("maandag"),
    _l("dinsdag"),
    _l("woensdag"),
    _l("donderdag"),
    _l("vrijdag"),
    _l("zaterdag"),
    _l("zondag"),
)

# field -> (lowest, highest, message); the forms check the same ranges for a quick answer.
RULE_LIMITS = {
    "call_minutes": (5, 480, _l("Een gesprek duurt tussen 5 en 480 minuten.")),
    "buffer_before_minutes": (0, 240, _l("Vul een getal van 0 tot 240 minuten in.")),
    "buffer_after_minutes": (0, 240, _l("Vul een getal van 0 tot 240 minuten in.")),
    "min_notice_hours": (0, 720, _l("Vul een getal van 0 tot 720 uur in.")),
    "horizon_days": (1, 365, _l("Vul een getal van 1 tot 365 dagen in.")),
    "max_calls_per_day": (1, 20, _l("Vul een getal van 1 tot 20 gesprekken in.")),
    "travel_buffer_minutes": (0, 480, _l("Vul een getal van 0 tot 480 minuten in.")),
}


@dataclass(frozen=True)
class Rules:
    active: bool
    call_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_hours: int
    horizon_days: int
    max_calls_per_day: int
    travel_buffer_minutes: int
    meeting_url: str | None


def update_rules(profile: AdvisorProfile, rules: Rules, *, by: User | None = None) -> None:
    for name, (lowest, highest, message) in RULE_LIMITS.items():
        value = getattr(rules, name)
        if not isinstance(value, int) or not lowest <= value <= highest:
            raise DomainError(message, field=name)
    try:
        meeting_url = clean_online_url(rules.meeting_url)
    except DomainError as error:
        raise DomainError(error.message, field="meeting_url") from None
    for name, value in asdict(rules).items():
        setattr(profile, name, value)
    profile.meeting_url = meeting_url
    db.session.flush()
    audit.record("advisor.rules", profile, actor=by, **asdict(rules))


def set_hours(
    profile: AdvisorProfile, rows: list[tuple[int, time, time]], *, by: User | None = None
) -> None:
    """Replace the weekly hours; stretches of one day may touch but not overlap."""
    for weekday, starts, ends in rows:
        if not 0 <= weekday <= 6:
            raise DomainError(_l("Kies een dag van de week."), field="hours")
        if ends <= starts:
            raise DomainError(
                _l(
                    "Op %(day)s moet de eindtijd na de begintijd liggen.",
                    day=WEEKDAY_LABELS[weekday],
                ),
                field="hours",
            )
    ordered = sorted(rows)
    for (day_a, _start_a, end_a), (day_b, start_b, _end_b) in zip(
        ordered, ordered[1:], strict=False
    ):
        if day_a == day_b and start_b < end_a:
            raise DomainError(
                _l(
                    "Op %(day)s overlappen twee blokken; maak er één blok van.",
                    day=WEEKDAY_LABELS[day_a],
                ),
                field="hours",
            )
    profile.hours = [AdvisorHours(weekday=d, starts=s, ends=e) for d, s, e in ordered]
    db.session.flush()
    audit.record(
        "advisor.hours",
        profile,
        actor=by,
        hours=[f"{d} {s:%H:%M}-{e:%H:%M}" for d, s, e in ordered],
    )


def add_override(
    profile: AdvisorProfile,
    *,
    day: date,
    kind: str,
    starts: time | None,
    ends: time | None,
    note: str | None,
    today: date,
    by: User | None = None,
) -> AdvisorDateOverride:
    if day < today:
        raise DomainError(_l("Kies een datum vanaf vandaag."), field="day")
    if kind not in {k.value for k in OverrideKind}:
        raise DomainError(_l("Kies vrij of extra uren."), field="kind")
    if (starts is None) != (ends is None):
        raise DomainError(
            _l("Vul een begin- én eindtijd in, of geen van beide voor de hele dag."),
            field="ends",
        )
    if kind == OverrideKind.EXTRA and starts is None:
        raise DomainError(_l("Vul de begin- en eindtijd van de extra uren in."), field="starts")
    if starts is not None and ends <= starts:
        raise DomainError(_l("De eindtijd moet na de begintijd liggen."), field="ends")
    override = AdvisorDateOverride(
        day=day, kind=kind, starts=starts, ends=ends, note=(note or "").strip() or None
    )
    profile.overrides.append(override)
    db.session.flush()
    audit.record(
        "advisor.override_added",
        profile,
        actor=by,
        day=day.isoformat(),
        kind=kind,
        starts=starts.isoformat() if starts else None,
        ends=ends.isoformat() if ends else None,
    )
    return override


def remove_override(
    profile: AdvisorProfile, override: AdvisorDateOverride, *, by: User | None = None
) -> None:
    if override.advisor_id != profile.id:
        raise DomainError(_l("Deze afwijking hoort niet bij deze adviseur."))
    profile.overrides.remove(override)
    db.session.flush()
    audit.record("advisor.override_removed", profile, actor=by, day=override.day.isoformat())
