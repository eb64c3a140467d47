"""An inhouse request: the form's data checked and filed for the right organisation, review, and
staff confirming a requester's membership of the organisation they named.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from ... import audit
from ...auth.models import Organisation, Role, User, normalise_email
from ...auth.services import find_or_create_organisation, register_user
from ...courses.models import Course
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from .mail import mail_client_side, mail_staff
from .models import (
    ASSEMBLY_PHASE_LABELS,
    MAX_TEXT,
    InhouseBooking,
    InhouseDateOption,
    InhouseStatus,
    today_amsterdam,
)


@dataclass
class NewAccount:
    name: str
    email: str
    password: str
    locale: str = "nl"


@dataclass
class RequestData:
    contact_name: str
    contact_email: str
    expected_participants: int
    delivery_mode: str
    date_options: list[tuple[date, str]]
    assembly_phase: str = "unknown"
    assembly_context: str = ""
    questions: str = ""
    contact_phone: str | None = None
    venue: str | None = None
    organisation_name: str | None = None
    organisation_kind: str = "gemeente"


@dataclass
class Requester:
    """Who a request from the public belongs to (see `resolve_requester`)."""

    user: User
    organisation: Organisation
    pending: bool  # named an organisation that existed: membership unconfirmed
    new_user: User | None  # the account made for this request, if any


def resolve_requester(
    *,
    user: User | None,
    account: NewAccount | None,
    organisation_name: str | None,
    organisation_kind: str = "gemeente",
) -> Requester:
    """The account and organisation a request from the public is filed under; flushes.

    - a signed-in client of an organisation: that organisation;
    - someone new, naming an organisation we do not know: a new organisation, and they are its
      first client;
    - someone naming an organisation that already exists: we cannot tell a colleague from a
      stranger by a name, and membership would show them everything of that organisation. The
      request is filed for that organisation with `pending` set; staff confirm the membership.
    The requester becomes a client. Used by inhouse requests and advice calls alike.
    """
    pending = False
    new_user = None
    if user is not None and user.organisation is not None:
        organisation = user.organisation
    else:
        name = " ".join((organisation_name or "").split())
        if not name:
            raise DomainError(_l("Vul de naam van uw organisatie in."), field="organisation_name")
        organisation, created = find_or_create_organisation(name, organisation_kind)
        pending = not created
        if user is None:
            if account is None:
                raise DomainError(_l("Maak een account aan of log in."), field="email")
            user = new_user = register_user(
                name=account.name,
                email=account.email,
                password=account.password,
                roles=(Role.CLIENT,),
                organisation=organisation if created else None,
                locale=account.locale,
            )
        elif created:
            user.organisation = organisation
            audit.record("user.organisation_set", user, actor=user, organisation=name)
    if not user.is_client:
        user.add_role(Role.CLIENT)
        audit.record("user.role_added", user, actor=user, role="client")
    return Requester(user=user, organisation=organisation, pending=pending, new_user=new_user)


def requestable_course(slug: str) -> Course | None:
    """A published course that can be booked inhouse, or None."""
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None or not course.published or not course.is_inhouse:
        return None
    return course


def _check_request(data: RequestData) -> None:
    if not 1 <= int(data.expected_participants) <= 500:
        raise DomainError(
            _l("Vul een aantal deelnemers tussen 1 en 500 in."), field="expected_participants"
        )
    if data.delivery_mode not in ("venue", "online"):
        raise DomainError(_l("Kies uw eigen locatie of online."), field="delivery_mode")
    if data.delivery_mode == "venue" and not (data.venue or "").strip():
        raise DomainError(_l("Vul de plaats of het adres van uw locatie in."), field="venue")
    if not 1 <= len(data.date_options) <= 3:
        raise DomainError(_l("Geef één tot drie voorkeursdata op."), field="date_1")
    today = today_amsterdam()
    seen = set()
    for day, part in data.date_options:
        if day <= today:
            raise DomainError(_l("Kies voorkeursdata na vandaag."), field="date_1")
        if part not in ("morning", "afternoon", "evening"):
            raise DomainError(_l("Kies een dagdeel bij elke datum."), field="date_1")
        if (day, part) in seen:
            raise DomainError(
                _l("U gaf dezelfde datum en hetzelfde dagdeel twee keer op."), field="date_2"
            )
        seen.add((day, part))
    if (data.assembly_phase or "unknown") not in ASSEMBLY_PHASE_LABELS:
        raise DomainError(_l("Kies de fase van uw burgerberaad."), field="assembly_phase")
    for name in ("assembly_context", "questions"):
        if len(getattr(data, name) or "") > MAX_TEXT:
            raise DomainError(_l("Houd uw tekst korter dan 5000 tekens."), field=name)


def submit_request(
    course: Course,
    data: RequestData,
    *,
    user: User | None = None,
    account: NewAccount | None = None,
) -> tuple[InhouseBooking, User | None]:
    """File an inhouse request; returns the booking and the account created for it, if any.

    Who the request belongs to:
    - a signed-in client of an organisation: that organisation;
    - someone new, naming an organisation we do not know: a new organisation, and they are its
      first client;
    - someone naming an organisation that already exists: we cannot tell a colleague from a
      stranger by a name, and membership would show them every booking of that organisation.
      The request is filed for that organisation with `membership_pending`: the requester sees
      this request only, the organisation's clients do not see it yet, and staff confirm the
      membership before a proposal can be sent. The request itself is never lost.
    """
    if not course.published or not course.is_inhouse:
        raise DomainError(_l("Deze training kan niet inhouse worden aangevraagd."))
    _check_request(data)
    who = resolve_requester(
        user=user,
        account=account,
        organisation_name=data.organisation_name,
        organisation_kind=data.organisation_kind,
    )
    user, organisation, pending, new_user = who.user, who.organisation, who.pending, who.new_user

    booking = InhouseBooking(
        course=course,
        organisation=organisation,
        requested_by=user,
        membership_pending=pending,
        contact_name=data.contact_name.strip(),
        contact_email=normalise_email(data.contact_email),
        contact_phone=(data.contact_phone or "").strip() or None,
        expected_participants=int(data.expected_participants),
        delivery_mode=data.delivery_mode,
        venue=((data.venue or "").strip() or None) if data.delivery_mode == "venue" else None,
        assembly_phase=data.assembly_phase or "unknown",
        assembly_context=(data.assembly_context or "").strip(),
        questions=(data.questions or "").strip(),
        status=InhouseStatus.SUBMITTED,
        date_options=[
            InhouseDateOption(position=i, day=day, part_of_day=part)
            for i, (day, part) in enumerate(data.date_options, start=1)
        ],
    )
    db.session.add(booking)
    db.session.flush()
    booking.record_event("created", by=user, from_status=None, to_status=InhouseStatus.SUBMITTED)
    mail_client_side(
        booking,
        subject=_l(
            "Uw aanvraag %(ref)s voor %(course)s", ref=booking.reference, course=course.title
        ),
        template="bookings/inhouse_request_received",
        extra_users=[user],
    )
    mail_staff(
        booking,
        subject=_l(
            "Nieuwe inhouse-aanvraag %(ref)s van %(org)s", ref=booking.reference, org=organisation
        ),
        template="bookings/inhouse_request_staff",
    )
    return booking, new_user


def start_review(booking: InhouseBooking, *, by: User) -> None:
    booking.move_to(InhouseStatus.IN_REVIEW, by=by)


def confirm_membership(booking: InhouseBooking, *, by: User) -> None:
    """Staff confirm the requester belongs to the organisation they named."""
    if not booking.membership_pending:
        raise DomainError(_l("Het lidmaatschap van deze aanvrager is al bevestigd."))
    requester = booking.requested_by
    if requester is None:
        raise DomainError(_l("De aanvrager heeft geen account meer."))
    if requester.organisation_id not in (None, booking.organisation_id):
        raise DomainError(
            _l(
                "%(name)s hoort al bij een andere organisatie (%(org)s).",
                name=requester.name,
                org=requester.organisation.name,
            )
        )
    requester.organisation = booking.organisation
    requester.add_role(Role.CLIENT)
    for other in db.session.scalars(
        select(InhouseBooking).where(
            InhouseBooking.requested_by_id == requester.id,
            InhouseBooking.organisation_id == booking.organisation_id,
            InhouseBooking.membership_pending.is_(True),
        )
    ):
        other.membership_pending = False
        other.record_event("membership_confirmed", by=by, note=requester.name)
    audit.record(
        "organisation.member_confirmed", booking.organisation, actor=by, user_id=requester.id
    )
    mail_client_side(
        booking,
        subject=_l("Uw account hoort nu bij %(org)s", org=booking.organisation.name),
        template="bookings/inhouse_membership_confirmed",
    )
