"""Staff follow up a match request that waits for answers: remind an alumnus (at most once a
day), close the request with a reason the client is told, or forward it to other alumni.

The pool's privacy rules hold for staff too: a request goes only to profiles that are searchable
now (published with consent, confirmed, not hidden, an active account; a profile needs a
qualifying training to exist), and contact details still travel only on acceptance
(`matches.accept`). Every action is audited; mails go through the outbox.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from .. import audit
from ..auth.models import User
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..notifications.services import queue_mail
from ..urls import public_url
from .match_models import MatchRecipient, MatchRequest
from .matches import mail_request, response_link
from .models import AlumniProfile
from .search import visible_profile_conditions

REMIND_EVERY = timedelta(days=1)
MAX_CANDIDATES = 50


def _lock(obj) -> None:
    # Two staff members clicking at once must not both remind, close or forward.
    if db.engine.dialect.name == "postgresql":
        model = type(obj)
        db.session.execute(select(model.id).where(model.id == obj.id).with_for_update())
        db.session.refresh(obj)  # what the other request stored before we got the lock


def remind(recipient: MatchRecipient, *, by: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    _lock(recipient)
    recipient.remind(now, every=REMIND_EVERY)
    audit.record("match.reminded", recipient, actor=by, request_id=recipient.request_id)
    request = recipient.request
    alumnus = db.session.get(User, recipient.alumnus_id)
    queue_mail(
        to=alumnus,
        subject=_l(
            "Herinnering: wilt u het burgerberaad van %(org)s begeleiden?",
            org=request.organisation_name,
        ),
        template="alumni/match_reminder",
        context={
            "alumnus": alumnus,
            "request": request,
            "respond_link": response_link(recipient),
            "inbox_link": public_url("alumni.inbox"),
        },
        dedupe_key=f"alumni-match:{recipient.id}:reminder:{now.isoformat()}",
    )


def close(request: MatchRequest, reason: str, *, by: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    _lock(request)
    if len((reason or "").strip()) > 2000:
        raise DomainError(_l("Houd de reden korter dan 2000 tekens."), field="reason")
    try:
        expired = request.close(reason, by=by, now=now)
    except DomainError as exc:
        exc.field = exc.field or "reason"
        raise
    audit.record(
        "match.closed",
        request,
        actor=by,
        reason=request.close_reason,
        expired=[r.alumnus_id for r in expired],
    )
    queue_mail(
        to=request.client,
        subject=_l("Uw verzoek voor %(assembly)s is gesloten", assembly=request.assembly),
        template="alumni/match_closed",
        context={"client": request.client, "request": request, "expired": expired},
        dedupe_key=f"alumni-match-request:{request.id}:closed",
    )


def candidates(request: MatchRequest, q: str = "", now: datetime | None = None):
    """Profiles the request may be forwarded to: searchable now, not asked yet, not the client."""
    now = now or utcnow()
    asked = [r.alumnus_id for r in request.recipients]
    query = (
        select(AlumniProfile)
        .where(*visible_profile_conditions(now))
        .where(AlumniProfile.user_id.not_in([*asked, request.client_id]))
        .order_by(AlumniProfile.display_name, AlumniProfile.id)
        .limit(MAX_CANDIDATES)
    )
    q = " ".join((q or "").split())[:100]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(AlumniProfile.display_name.ilike(like, escape="\\"))
    return [p for p in db.session.scalars(query) if p.is_searchable(now)]


def forward(
    request: MatchRequest, profile_ids: list[int], *, by: User, now: datetime | None = None
) -> list[MatchRecipient]:
    """Ask other alumni too; the request then waits a full term again for everyone open."""
    now = now or utcnow()
    config = current_app.config
    _lock(request)
    if request.is_closed:
        raise DomainError(_l("Dit verzoek is gesloten en kan niet meer worden doorgestuurd."))
    ids = list(dict.fromkeys(profile_ids))
    if not ids:
        raise DomainError(_l("Kies minstens één gespreksbegeleider."), field="profiles")
    if len(ids) > config["ALUMNI_MATCH_MAX_RECIPIENTS"]:
        raise DomainError(
            _l(
                "U kunt een verzoek aan hooguit %(n)s gespreksbegeleiders tegelijk doorsturen.",
                n=config["ALUMNI_MATCH_MAX_RECIPIENTS"],
            ),
            field="profiles",
        )
    profiles = [db.session.get(AlumniProfile, i) for i in ids]
    asked = {r.alumnus_id for r in request.recipients}
    for profile in profiles:
        if profile is None or not profile.is_searchable(now):
            raise DomainError(
                _l(
                    "Een gekozen gespreksbegeleider is niet (meer) vindbaar in de alumnipool; "
                    "wie geen toestemming gaf of verborgen is, krijgt geen verzoeken."
                ),
                field="profiles",
            )
        if profile.user_id in asked:
            raise DomainError(
                _l("%(name)s heeft dit verzoek al gekregen.", name=profile.display_name),
                field="profiles",
            )
        if profile.user_id == request.client_id:
            raise DomainError(
                _l("De opdrachtgever kan zijn eigen verzoek niet krijgen."), field="profiles"
            )
    added = [MatchRecipient(alumnus_id=p.user_id, profile_id=p.id) for p in profiles]
    request.recipients.extend(added)
    request.expires_at = max(
        request.expires_at, now + timedelta(days=config["ALUMNI_MATCH_EXPIRY_DAYS"])
    )
    db.session.flush()
    audit.record("match.forwarded", request, actor=by, recipients=[r.alumnus_id for r in added])
    for recipient in added:
        mail_request(recipient)
    return added
