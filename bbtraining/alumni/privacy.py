"""Everyone's own data: download it all, or delete the account.

Deleting keeps what bookkeeping must keep (invoices, enrollments, attendance, the audit log and
the matches others took part in still point at the user row) but empties that row of everything
that identifies the person, and removes what exists only for them: the alumni profile, its
photo, their consents and shortlists made for them.
"""

import base64
import secrets
from typing import Any

from sqlalchemy import delete, select

from .. import audit
from ..auth.models import User
from ..bookings.attendance.qualifications import Qualification
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .match_models import MatchRecipient, MatchRequest, RecipientStatus, Shortlist, ShortlistEntry
from .models import AlumniConsent, AlumniProfile, ProfilePhoto

DELETED_NAME = "Verwijderde gebruiker"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def export_data(user: User) -> dict[str, Any]:
    """Everything this platform's alumni pool and accounts hold about `user`, as JSON values."""
    profile = db.session.scalar(select(AlumniProfile).where(AlumniProfile.user_id == user.id))
    data: dict[str, Any] = {
        "generated_at": _iso(utcnow()),
        "account": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "phone": user.phone,
            "locale": user.locale,
            "bio": user.bio,
            "roles": sorted(user.roles),
            "organisation": user.organisation.name if user.organisation else None,
            "created_at": _iso(user.created_at),
            "email_verified_at": _iso(user.email_verified_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "alumni_profile": _profile_data(profile) if profile else None,
        "consents": [
            {
                "kind": "alumni_profile",
                "version": c.version,
                "given_at": _iso(c.given_at),
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in db.session.scalars(
                select(AlumniConsent)
                .where(AlumniConsent.user_id == user.id)
                .order_by(AlumniConsent.given_at)
            )
        ],
        "verified_trainings": [
            {
                "course": q.course.title,
                "edition_id": q.edition_id,
                "completed_at": _iso(q.completed_at),
                "source": q.source,
            }
            for q in db.session.scalars(
                select(Qualification).where(Qualification.user_id == user.id)
            )
        ],
        "match_requests_received": [
            {
                **_request_data(r.request),
                "status": r.status,
                "responded_at": _iso(r.responded_at),
                "response_note": r.response_note,
            }
            for r in db.session.scalars(
                select(MatchRecipient).where(MatchRecipient.alumnus_id == user.id)
            )
        ],
        "match_requests_sent": [
            {
                **_request_data(req),
                "recipients": [
                    {
                        "name": r.profile.display_name if r.profile else r.alumnus.name,
                        "status": r.status,
                    }
                    for r in req.recipients
                ],
            }
            for req in db.session.scalars(
                select(MatchRequest).where(MatchRequest.client_id == user.id)
            )
        ],
    }
    return data


def _request_data(request: MatchRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "organisation": request.organisation_name,
        "assembly": request.assembly,
        "dates": request.dates,
        "place": request.place,
        "role": request.role,
        "message": request.message,
        "created_at": _iso(request.created_at),
        "expires_at": _iso(request.expires_at),
    }


def _profile_data(profile: AlumniProfile) -> dict[str, Any]:
    photo = db.session.get(ProfilePhoto, profile.id)
    return {
        "display_name": profile.display_name,
        "headline": profile.headline,
        "bio": profile.bio,
        "province": profile.province,
        "municipality": profile.municipality,
        "travel_provinces": profile.travel_provinces,
        "languages": profile.languages,
        "specialisations": [s.name for s in profile.specialisations],
        "tags": profile.tags,
        "assemblies_count": profile.assemblies_count,
        "sessions_count": profile.sessions_count,
        "years_experience": profile.years_experience,
        "preferred_weekdays": profile.weekdays,
        "blocked_dates": [d.isoformat() for d in profile.blocked_dates],
        "consent_version": profile.consent_version,
        "consented_at": _iso(profile.consented_at),
        "published": profile.published,
        "confirmed_at": _iso(profile.confirmed_at),
        "hidden_by_staff": profile.hidden_by_staff,
        "hidden_reason": profile.hidden_reason,
        "created_at": _iso(profile.created_at),
        "photo": (
            {
                "content_type": photo.content_type,
                "base64": base64.b64encode(photo.data).decode("ascii"),
            }
            if photo
            else None
        ),
    }


def anonymise_user(user: User) -> None:
    """Empty the user row of the person; the row stays so others' bookkeeping keeps its FKs."""
    now = utcnow()
    user.name = DELETED_NAME
    user.email = f"deleted-{user.id}@invalid"
    user.password_hash = None
    user.phone = None
    user.bio = None
    user.email_verified_at = None
    user.deleted_at = now
    user.is_active_account = False
    user.end_sessions()  # every open session ends
    user.calendar_token = secrets.token_urlsafe(24)  # the old feed URL stops working
    user.role_rows = []


def delete_account(user: User, *, password: str | None, by: User | None = None) -> None:
    if user.deleted_at is not None:
        raise DomainError(_l("Dit account is al verwijderd."))
    acting_for_self = by is None or by.id == user.id
    if acting_for_self and (not password or not user.check_password(password)):
        raise DomainError(_l("Uw wachtwoord klopt niet."), field="password")
    now = utcnow()
    profile = db.session.scalar(select(AlumniProfile).where(AlumniProfile.user_id == user.id))
    # Requests waiting for this person's answer are closed; the other side sees them expire.
    for recipient in db.session.scalars(
        select(MatchRecipient).where(MatchRecipient.alumnus_id == user.id)
    ):
        if recipient.status == RecipientStatus.PENDING:
            recipient.status = RecipientStatus.EXPIRED
            recipient.responded_at = now
        recipient.response_note = None
        recipient.profile_id = None
    for request in db.session.scalars(
        select(MatchRequest).where(MatchRequest.client_id == user.id)
    ):
        request.message = ""
        for recipient in request.recipients:
            if recipient.status == RecipientStatus.PENDING:
                recipient.status = RecipientStatus.EXPIRED
                recipient.responded_at = now
    # Row by row through the ORM, so dependent rows go too where the database does not
    # enforce ON DELETE CASCADE (SQLite without its foreign_keys pragma).
    for shortlist in db.session.scalars(select(Shortlist).where(Shortlist.client_id == user.id)):
        db.session.delete(shortlist)
    db.session.execute(delete(AlumniConsent).where(AlumniConsent.user_id == user.id))
    if profile is not None:
        db.session.execute(delete(ShortlistEntry).where(ShortlistEntry.profile_id == profile.id))
        db.session.delete(profile)
    db.session.flush()
    anonymise_user(user)
    db.session.flush()
    audit.record("user.deleted", user, actor=by or user, had_alumni_profile=profile is not None)
