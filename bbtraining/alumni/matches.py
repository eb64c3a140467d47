"""Match requests: a client asks alumni to facilitate; each alumnus answers for themselves.

Contact details move only on acceptance, and then by mail to both sides. An alumnus may answer
in the portal or through the signed link in their mail, which is bound to that one recipient of
that one request (and to a nonce stored with it), so a link forwarded, altered or guessed for
another recipient answers nothing.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..auth.models import User
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..notifications.services import queue_mail
from ..urls import public_url
from .match_models import (
    MatchRecipient,
    MatchRequest,
    MatchRole,
    RecipientStatus,
    Shortlist,
    ShortlistEntry,
)
from .models import AlumniProfile

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TOKEN_SALT = "alumni-match-response"  # noqa: S105 - a namespace, not a secret
MAX_DATES = 20


class MatchLinkInvalid(DomainError):
    pass


# -- signed links ----------------------------------------------------------------------------------
def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def response_token(recipient: MatchRecipient) -> str:
    return _serializer().dumps([recipient.id, recipient.request_id, recipient.token_nonce])


def response_link(recipient: MatchRecipient) -> str:
    return public_url("alumni.respond", recipient_id=recipient.id, token=response_token(recipient))


def _link_max_age() -> int:
    # A link lives as long as the request, with a day's grace for clocks and time zones.
    return (current_app.config["ALUMNI_MATCH_EXPIRY_DAYS"] + 1) * 24 * 3600


def recipient_for_token(recipient_id: int, token: str) -> MatchRecipient:
    invalid = MatchLinkInvalid(
        _l(
            "Deze link is ongeldig. Gebruik de link uit uw eigen e-mail, of log in om het "
            "verzoek te beantwoorden."
        )
    )
    try:
        payload = _serializer().loads(token, max_age=_link_max_age())
    except SignatureExpired as exc:
        raise MatchLinkInvalid(
            _l("Deze link is verlopen. Het verzoek kan niet meer worden beantwoord.")
        ) from exc
    except BadSignature as exc:
        raise invalid from exc
    if not (isinstance(payload, list) and len(payload) == 3):
        raise invalid
    token_recipient_id, request_id, nonce = payload
    recipient = db.session.get(MatchRecipient, recipient_id)
    if (
        recipient is None
        or token_recipient_id != recipient.id
        or request_id != recipient.request_id
        or nonce != recipient.token_nonce
    ):
        raise invalid
    return recipient


# -- limits ----------------------------------------------------------------------------------------
def _start_of_today(now: datetime) -> datetime:
    local = now.astimezone(AMSTERDAM)
    return datetime.combine(local.date(), time(0), tzinfo=AMSTERDAM)


def contacted_today(client: User, now: datetime | None = None) -> int:
    """Alumni this client asked since midnight (Amsterdam time)."""
    now = now or utcnow()
    return db.session.scalar(
        select(func.count(MatchRecipient.id))
        .join(MatchRequest, MatchRequest.id == MatchRecipient.request_id)
        .where(
            MatchRequest.client_id == client.id,
            MatchRequest.created_at >= _start_of_today(now),
        )
    )


def _lock_client(client: User) -> None:
    # Two requests sent at once must not both slip under the daily limit.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(User.id).where(User.id == client.id).with_for_update())


# -- creating requests -----------------------------------------------------------------------------
def create_request(
    client: User,
    profiles: list[AlumniProfile],
    *,
    assembly: str,
    organisation_name: str,
    dates: list[date],
    place: str,
    role: str,
    message: str = "",
    shortlist: Shortlist | None = None,
    now: datetime | None = None,
) -> MatchRequest:
    now = now or utcnow()
    config = current_app.config
    if not client.has_role("client", "admin"):
        raise DomainError(_l("Alleen opdrachtgevers kunnen een verzoek sturen."))
    unique_profiles = list({p.id: p for p in profiles}.values())
    if not unique_profiles:
        raise DomainError(_l("Kies minstens één gespreksbegeleider."), field="profiles")
    if len(unique_profiles) > config["ALUMNI_MATCH_MAX_RECIPIENTS"]:
        raise DomainError(
            _l(
                "U kunt één verzoek aan hooguit %(n)s gespreksbegeleiders tegelijk sturen.",
                n=config["ALUMNI_MATCH_MAX_RECIPIENTS"],
            ),
            field="profiles",
        )
    for profile in unique_profiles:
        if profile.user_id == client.id:
            raise DomainError(_l("U kunt geen verzoek aan uzelf sturen."), field="profiles")
        if not profile.is_searchable(now):
            raise DomainError(
                _l(
                    "%(name)s is op dit moment niet beschikbaar in de alumnipool.",
                    name=profile.display_name,
                ),
                field="profiles",
            )
    today = now.astimezone(AMSTERDAM).date()
    dates = sorted(set(dates))
    if not dates:
        raise DomainError(_l("Geef minstens één datum van het beraad op."), field="dates")
    if len(dates) > MAX_DATES:
        raise DomainError(_l("Geef hooguit %(n)s data op.", n=MAX_DATES), field="dates")
    if dates[0] < today:
        raise DomainError(_l("De data van het beraad moeten in de toekomst liggen."), field="dates")
    try:
        role = MatchRole(role).value
    except ValueError as exc:
        raise DomainError(_l("Kies een rol uit de lijst."), field="role") from exc
    for value, name in ((assembly, "assembly"), (place, "place")):
        if not (value or "").strip():
            raise DomainError(_l("Dit veld is verplicht."), field=name)

    _lock_client(client)
    limit = config["ALUMNI_MATCH_DAILY_LIMIT"]
    already = contacted_today(client, now)
    if already + len(unique_profiles) > limit:
        left = max(limit - already, 0)
        raise DomainError(
            _l(
                "U kunt per dag hooguit %(limit)s gespreksbegeleiders benaderen. Vandaag "
                "benaderde u er al %(done)s, dus er kunnen er nog %(left)s bij. Probeer het "
                "morgen opnieuw of neem contact met ons op voor hulp bij het zoeken.",
                limit=limit,
                done=already,
                left=left,
            ),
            field="profiles",
        )

    request = MatchRequest(
        client_id=client.id,
        organisation_id=client.organisation_id,
        organisation_name=(organisation_name or "").strip()
        or (client.organisation.name if client.organisation else client.name),
        assembly=assembly.strip(),
        dates=[d.isoformat() for d in dates],
        place=place.strip(),
        role=role,
        message=(message or "").strip(),
        created_at=now,
        expires_at=now + timedelta(days=config["ALUMNI_MATCH_EXPIRY_DAYS"]),
        shortlist_id=shortlist.id if shortlist is not None else None,
    )
    request.recipients = [
        MatchRecipient(alumnus_id=p.user_id, profile_id=p.id) for p in unique_profiles
    ]
    db.session.add(request)
    db.session.flush()
    audit.record(
        "match.requested",
        request,
        actor=client,
        recipients=[r.alumnus_id for r in request.recipients],
    )
    for recipient in request.recipients:
        mail_request(recipient)
    return request


def mail_request(recipient: MatchRecipient) -> None:
    request = recipient.request
    alumnus = db.session.get(User, recipient.alumnus_id)
    queue_mail(
        to=alumnus,
        subject=_l(
            "Verzoek: wilt u het burgerberaad van %(org)s begeleiden?",
            org=request.organisation_name,
        ),
        template="alumni/match_request",
        context={
            "alumnus": alumnus,
            "request": request,
            "respond_link": response_link(recipient),
            "inbox_link": public_url("alumni.inbox"),
            "days": current_app.config["ALUMNI_MATCH_EXPIRY_DAYS"],
        },
        dedupe_key=f"alumni-match:{recipient.id}:request",
    )


# -- answering -------------------------------------------------------------------------------------
def accept(recipient: MatchRecipient, *, by: User | None = None) -> MatchRecipient:
    recipient.accept()
    db.session.flush()
    alumnus = db.session.get(User, recipient.alumnus_id)
    audit.record("match.accepted", recipient, actor=by or alumnus, request_id=recipient.request_id)
    request = recipient.request
    client = request.client
    # Only now, and only to these two people, do contact details travel.
    queue_mail(
        to=client,
        subject=_l("%(name)s wil uw burgerberaad begeleiden", name=alumnus.name),
        template="alumni/match_accepted_client",
        context={
            "client": client,
            "alumnus": alumnus,
            "request": request,
            "profile": recipient.profile,
        },
        dedupe_key=f"alumni-match:{recipient.id}:accepted-client",
    )
    queue_mail(
        to=alumnus,
        subject=_l("Contactgegevens van %(org)s", org=request.organisation_name),
        template="alumni/match_accepted_alumnus",
        context={"client": client, "alumnus": alumnus, "request": request},
        dedupe_key=f"alumni-match:{recipient.id}:accepted-alumnus",
    )
    return recipient


def decline(
    recipient: MatchRecipient, note: str | None = None, *, by: User | None = None
) -> MatchRecipient:
    recipient.decline(note)
    db.session.flush()
    alumnus = db.session.get(User, recipient.alumnus_id)
    audit.record("match.declined", recipient, actor=by or alumnus, request_id=recipient.request_id)
    request = recipient.request
    profile = recipient.profile
    queue_mail(
        to=request.client,
        subject=_l("Antwoord op uw verzoek voor %(assembly)s", assembly=request.assembly),
        template="alumni/match_declined",
        context={
            "client": request.client,
            "request": request,
            "name": profile.display_name if profile else alumnus.name,
            "note": recipient.response_note,
        },
        dedupe_key=f"alumni-match:{recipient.id}:declined",
    )
    return recipient


def expire_due(now: datetime | None = None) -> int:
    """Expire every pending answer whose request ran out; tell each client once per request."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(MatchRecipient)
            .join(MatchRequest, MatchRequest.id == MatchRecipient.request_id)
            .where(
                MatchRecipient.status == RecipientStatus.PENDING,
                MatchRequest.expires_at <= now,
            )
            .order_by(MatchRecipient.request_id, MatchRecipient.id)
            .with_for_update(skip_locked=True, of=MatchRecipient)
        )
    )
    requests: dict[int, MatchRequest] = {}
    for recipient in due:
        recipient.expire(now)
        audit.record("match.expired", recipient, request_id=recipient.request_id)
        requests[recipient.request_id] = recipient.request
    db.session.flush()
    for request in requests.values():
        expired = [r for r in request.recipients if r.status == RecipientStatus.EXPIRED]
        queue_mail(
            to=request.client,
            subject=_l("Uw verzoek voor %(assembly)s is verlopen", assembly=request.assembly),
            template="alumni/match_expired",
            context={"client": request.client, "request": request, "expired": expired},
            dedupe_key=f"alumni-match-request:{request.id}:expired",
        )
    return len(due)


# -- reading ---------------------------------------------------------------------------------------
def inbox(alumnus: User) -> list[MatchRecipient]:
    return list(
        db.session.scalars(
            select(MatchRecipient)
            .where(MatchRecipient.alumnus_id == alumnus.id)
            .options(selectinload(MatchRecipient.request))  # one query, however many requests
            .order_by(MatchRecipient.id.desc())
        )
    )


def requests_visible_to(client: User, limit: int | None = None) -> list[MatchRequest]:
    query = select(MatchRequest).order_by(MatchRequest.created_at.desc())
    if client.organisation_id is not None:
        query = query.where(
            (MatchRequest.client_id == client.id)
            | (MatchRequest.organisation_id == client.organisation_id)
        )
    else:
        query = query.where(MatchRequest.client_id == client.id)
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def pending_recipient_count() -> int:
    return db.session.scalar(
        select(func.count(MatchRecipient.id)).where(
            MatchRecipient.status == RecipientStatus.PENDING
        )
    )


# -- shortlists (matchmaking by staff) -------------------------------------------------------------
def create_shortlist(
    client: User, profiles: list[AlumniProfile], *, title: str, note: str, by: User
) -> Shortlist:
    if not client.has_role("client"):
        raise DomainError(_l("Kies een opdrachtgever."), field="client_id")
    unique_profiles = list({p.id: p for p in profiles}.values())
    if not unique_profiles:
        raise DomainError(_l("Kies minstens één gespreksbegeleider."), field="profiles")
    hidden = [p.display_name for p in unique_profiles if not p.is_searchable()]
    if hidden:
        raise DomainError(
            _l("Niet vindbaar en dus niet voor te stellen: %(names)s.", names=", ".join(hidden)),
            field="profiles",
        )
    if not (title or "").strip():
        raise DomainError(_l("Geef de shortlist een titel."), field="title")
    shortlist = Shortlist(
        client_id=client.id, title=title.strip(), note=(note or "").strip(), created_by_id=by.id
    )
    shortlist.entries = [
        ShortlistEntry(profile_id=p.id, position=i) for i, p in enumerate(unique_profiles)
    ]
    db.session.add(shortlist)
    db.session.flush()
    audit.record(
        "match.shortlist_created",
        shortlist,
        actor=by,
        client_id=client.id,
        profiles=[p.id for p in unique_profiles],
    )
    queue_mail(
        to=client,
        subject=_l("Gespreksbegeleiders voorgesteld: %(title)s", title=shortlist.title),
        template="alumni/shortlist",
        context={
            "client": client,
            "shortlist": shortlist,
            "link": public_url("alumni.shortlist", shortlist_id=shortlist.id),
        },
        dedupe_key=f"alumni-shortlist:{shortlist.id}",
    )
    return shortlist


def requests_waiting_count() -> int:
    """Requests with at least one alumnus still to answer."""
    return db.session.scalar(
        select(func.count(func.distinct(MatchRecipient.request_id))).where(
            MatchRecipient.status == RecipientStatus.PENDING
        )
    )


def shortlists_for(client: User) -> list[Shortlist]:
    return list(
        db.session.scalars(
            select(Shortlist)
            .where(Shortlist.client_id == client.id)
            .order_by(Shortlist.created_at.desc())
            .limit(10)
        )
    )
