"""Alumni profiles and specialisations: the rules (search is in `search`).

Functions flush, never commit; views commit once.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import BinaryIO

from flask import current_app
from sqlalchemy import (
    func,
    or_,
    select,
)

from .. import audit
from ..auth.models import User
from ..bookings.attendance.qualifications import has_alumni_qualification
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .consent import CONSENT_VERSION
from .models import (
    CONFIRMATION_VALID_FOR,
    LANGUAGE_CODES,
    PROVINCE_CODES,
    AlumniConsent,
    AlumniProfile,
    ProfilePhoto,
    Specialisation,
)
from .photos import process_photo

MAX_TAGS = 12
MAX_TAG_LENGTH = 40
MAX_BLOCKED_DATES = 400


# -- profiles --------------------------------------------------------------------------------------
def profile_of(user: User) -> AlumniProfile | None:
    return db.session.scalar(select(AlumniProfile).where(AlumniProfile.user_id == user.id))


def may_have_profile(user: User) -> bool:
    """Everyone with a completed qualifying training; someone who has a profile keeps it."""
    return profile_of(user) is not None or has_alumni_qualification(user)


@dataclass
class ProfileData:
    display_name: str
    province: str
    headline: str = ""
    bio: str = ""
    municipality: str = ""
    travel_provinces: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    specialisation_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    assemblies_count: int = 0
    sessions_count: int = 0
    years_experience: int = 0
    weekdays: list[int] = field(default_factory=list)
    blocked_dates: list[date] = field(default_factory=list)


def normalise_tags(raw: str | list[str]) -> list[str]:
    values = raw.split(",") if isinstance(raw, str) else raw
    tags: list[str] = []
    for value in values:
        tag = " ".join(value.strip().lower().lstrip("#").split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise DomainError(
                _l("Een trefwoord mag hooguit %(n)s tekens lang zijn.", n=MAX_TAG_LENGTH),
                field="tags",
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise DomainError(_l("Kies hooguit %(n)s trefwoorden.", n=MAX_TAGS), field="tags")
    return tags


def save_profile(user: User, data: ProfileData, *, today: date | None = None) -> AlumniProfile:
    profile = profile_of(user)
    if profile is None:
        if not has_alumni_qualification(user):
            raise DomainError(
                _l(
                    "U kunt een alumniprofiel maken zodra u een training voor "
                    "gespreksbegeleiders heeft afgerond."
                )
            )
        profile = AlumniProfile(user_id=user.id, user=user)  # added once complete, below
        created = True
    else:
        created = False
    if data.province not in PROVINCE_CODES:
        raise DomainError(_l("Kies een provincie."), field="province")
    unknown = set(data.travel_provinces) - set(PROVINCE_CODES)
    if unknown:
        raise DomainError(_l("Kies provincies uit de lijst."), field="travel_provinces")
    if set(data.languages) - set(LANGUAGE_CODES):
        raise DomainError(_l("Kies talen uit de lijst."), field="languages")
    if not data.languages:
        raise DomainError(_l("Kies minstens één taal waarin u begeleidt."), field="languages")
    today = today or date.today()
    upcoming = sorted({d for d in data.blocked_dates if d >= today})
    if len(upcoming) > MAX_BLOCKED_DATES:
        raise DomainError(
            _l("Geef hooguit %(n)s data op waarop u niet kunt.", n=MAX_BLOCKED_DATES),
            field="blocked_dates",
        )
    specialisations = []
    if data.specialisation_ids:
        specialisations = list(
            db.session.scalars(
                select(Specialisation).where(
                    Specialisation.id.in_(data.specialisation_ids), Specialisation.active
                )
            )
        )
        if len(specialisations) != len(set(data.specialisation_ids)):
            raise DomainError(_l("Kies specialisaties uit de lijst."), field="specialisations")

    profile.display_name = data.display_name.strip()
    profile.headline = data.headline.strip()
    profile.bio = data.bio.strip()
    profile.province = data.province
    profile.municipality = data.municipality.strip()
    # The home province is always covered; listing it again as travel would count it twice.
    profile.travel_provinces = [p for p in data.travel_provinces if p != data.province]
    profile.languages = data.languages
    profile.specialisations = specialisations
    profile.tags = normalise_tags(data.tags)
    profile.assemblies_count = data.assemblies_count
    profile.sessions_count = data.sessions_count
    profile.years_experience = data.years_experience
    profile.weekdays = data.weekdays
    profile.blocked_dates = upcoming
    db.session.add(profile)
    db.session.flush()
    audit.record("alumni.profile_created" if created else "alumni.profile_updated", profile)
    return profile


def publish_with_consent(profile: AlumniProfile, *, consent_given: bool) -> AlumniProfile:
    if not consent_given:
        raise DomainError(
            _l("Zonder uw toestemming kunnen we uw profiel niet tonen. Vink het vakje aan."),
            field="consent",
        )
    now = utcnow()
    profile.give_consent(CONSENT_VERSION, now)
    profile.publish(now)
    db.session.add(AlumniConsent(user_id=profile.user_id, version=CONSENT_VERSION, given_at=now))
    db.session.flush()
    audit.record("alumni.consent_given", profile, version=CONSENT_VERSION)
    audit.record("alumni.profile_published", profile)
    return profile


def unpublish(profile: AlumniProfile) -> AlumniProfile:
    """Offline, and the consent withdrawn: publishing again asks for it anew."""
    profile.unpublish()
    now = utcnow()
    profile.consented_at = None
    for consent in db.session.scalars(
        select(AlumniConsent).where(
            AlumniConsent.user_id == profile.user_id, AlumniConsent.withdrawn_at.is_(None)
        )
    ):
        consent.withdrawn_at = now
    db.session.flush()
    audit.record("alumni.profile_unpublished", profile)
    audit.record("alumni.consent_withdrawn", profile)
    return profile


def confirm(profile: AlumniProfile) -> AlumniProfile:
    if not profile.published:
        raise DomainError(_l("Publiceer uw profiel eerst."))
    profile.confirm()
    db.session.flush()
    audit.record("alumni.profile_confirmed", profile)
    return profile


def hide(profile: AlumniProfile, reason: str, by: User) -> AlumniProfile:
    profile.hide(reason, by)
    db.session.flush()
    audit.record("alumni.profile_hidden", profile, actor=by, reason=profile.hidden_reason)
    return profile


def unhide(profile: AlumniProfile, by: User) -> AlumniProfile:
    profile.unhide()
    db.session.flush()
    audit.record("alumni.profile_unhidden", profile, actor=by)
    return profile


def set_photo(profile: AlumniProfile, upload: bytes | BinaryIO) -> AlumniProfile:
    """Replace the profile's photo by the upload re-encoded; a refusal changes nothing."""
    processed = process_photo(upload, current_app.config["ALUMNI_PHOTO_MAX_BYTES"])
    photo = db.session.get(ProfilePhoto, profile.id)
    if photo is None:
        photo = ProfilePhoto(profile_id=profile.id)
        db.session.add(photo)
    photo.data = processed.data
    photo.content_type = processed.content_type
    photo.width, photo.height = processed.width, processed.height
    photo.updated_at = utcnow()
    profile.photo_version = abs(profile.photo_version) + 1
    db.session.flush()
    audit.record("alumni.photo_uploaded", profile, bytes=len(processed.data))
    return profile


def remove_photo(profile: AlumniProfile) -> AlumniProfile:
    photo = db.session.get(ProfilePhoto, profile.id)
    if photo is None:
        raise DomainError(_l("Uw profiel heeft geen foto."))
    db.session.delete(photo)
    profile.photo_version = -profile.photo_version  # no photo; the next upload counts on
    db.session.flush()
    audit.record("alumni.photo_removed", profile)
    return profile


def profiles_due_for_reminder(now: datetime, days_before: int) -> list[AlumniProfile]:
    """Published profiles whose confirmation lapses within `days_before` days, not yet told."""
    lapse_soon = now - CONFIRMATION_VALID_FOR + timedelta(days=days_before)
    return list(
        db.session.scalars(
            select(AlumniProfile).where(
                AlumniProfile.published.is_(True),
                AlumniProfile.confirmed_at.is_not(None),
                AlumniProfile.confirmed_at <= lapse_soon,
                AlumniProfile.confirm_reminder_sent_at.is_(None),
            )
        )
    )


# -- specialisations (managed list) ---------------------------------------------------------------
def active_specialisations() -> list[Specialisation]:
    return list(
        db.session.scalars(
            select(Specialisation)
            .where(Specialisation.active.is_(True))
            .order_by(Specialisation.position, Specialisation.name)
        )
    )


def slugify(value: str) -> str:
    import unicodedata

    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_value.lower()).strip("-")[:60]


def save_specialisation(
    name: str, *, specialisation: Specialisation | None = None, active: bool = True
) -> Specialisation:
    name = " ".join(name.split())
    if not name:
        raise DomainError(_l("Geef de specialisatie een naam."), field="name")
    slug = slugify(name)
    clash = db.session.scalar(
        select(Specialisation).where(
            or_(Specialisation.slug == slug, func.lower(Specialisation.name) == name.lower())
        )
    )
    if clash is not None and clash is not specialisation:
        raise DomainError(_l("Deze specialisatie bestaat al."), field="name")
    if specialisation is None:
        position = db.session.scalar(select(func.coalesce(func.max(Specialisation.position), 0)))
        specialisation = Specialisation(slug=slug, name=name, position=position + 1)
        db.session.add(specialisation)
        action = "alumni.specialisation_created"
    else:
        specialisation.name = name
        action = "alumni.specialisation_updated"
    specialisation.active = active
    db.session.flush()
    audit.record(action, specialisation, name=name, active=active)
    return specialisation
