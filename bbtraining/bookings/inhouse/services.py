"""The rules of inhouse bookings: request, proposal, acceptance, sessions, invoice, payment.

Every function flushes and never commits; the caller (a view or a task) commits once. Each state
change goes through `InhouseBooking.move_to`, which refuses moves the process does not allow and
records who, when and why in the timeline and the audit log.
"""

import csv
import hashlib
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import format_date, format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from ... import audit
from ...auth.models import Organisation, Role, User, normalise_email
from ...auth.services import find_or_create_organisation, register_user
from ...courses.models import AMSTERDAM, Course, TrainingSession
from ...courses.trainers import Slot, trainer_conflicts
from ...db_types import utcnow
from ...errors import DomainError, NotAllowed
from ...extensions import db
from ...notifications.services import Attachment, queue_mail
from ...pdf import MoneyLine, Party, ProposalDoc, SessionLine, line_amount, render_proposal
from ...urls import public_url
from ..billing.invoices import (
    Invoice,
    InvoiceStatus,
    PaymentMethod,
    invoice_paid,
    invoice_pdf,
    issue_invoice,
    seller_party,
)
from ..billing.stripe_client import get_client, on_event, stripe_enabled
from ..sessions.invites import sync_session_invites
from ..sessions.participants import Participant, register_provider, register_sessions_provider
from .models import (
    ASSEMBLY_PHASE_LABELS,
    CLIENT_CANCELLABLE,
    MAX_TEXT,
    OPEN_STATUSES,
    PARTICIPANT_EDITABLE_STATUSES,
    STATUS_LABELS,
    InhouseBooking,
    InhouseDateOption,
    InhouseMessage,
    InhouseParticipant,
    InhouseProposal,
    InhouseProposalLine,
    InhouseProposalSession,
    InhouseSession,
    InhouseStatus,
    InhouseStripeObject,
    ProposalStatus,
    today_amsterdam,
)

log = logging.getLogger(__name__)

MAX_PARTICIPANTS = 500
DEFAULT_VALIDITY_DAYS = 30
DEFAULT_TERMS = _l(
    "Prijzen zijn exclusief btw. Annuleren kan kosteloos tot vier weken voor de eerste sessie; "
    "daarna brengen we de helft van het sessiebedrag in rekening, binnen een week voor de sessie "
    "het volledige bedrag. Een sessie verplaatsen kan in overleg. De factuur volgt na afloop, "
    "met een betaaltermijn van 30 dagen, onder vermelding van uw inkoopordernummer."
)


class ProposalExpired(DomainError):
    """The client tried to accept a proposal whose validity date has passed."""


def default_terms() -> str:
    return current_app.config.get("INHOUSE_TERMS") or str(DEFAULT_TERMS)


# == Request ====================================================================================
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
    pending = False
    new_user = None
    if user is not None and user.organisation is not None:
        organisation = user.organisation
    else:
        name = " ".join((data.organisation_name or "").split())
        if not name:
            raise DomainError(_l("Vul de naam van uw organisatie in."), field="organisation_name")
        organisation, created = find_or_create_organisation(name, data.organisation_kind)
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


# == Proposal ===================================================================================
@dataclass
class SessionDraft:
    starts_at: datetime
    ends_at: datetime
    trainer: User | None
    location: str
    online_url: str | None = None


@dataclass
class LineDraft:
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal


def refuse_trainer_conflicts(
    drafts: Sequence[SessionDraft], *, exclude_session_ids: Iterable[int] = ()
) -> None:
    """Refuse a trainer twice in the drafts, or already giving a session at that time.

    Which sessions count as taken is the catalog's one rule (`courses.trainers.trainer_conflicts`:
    lead trainer of a session or co-trainer of a planned edition); only the wording is ours.
    """
    excluded = list(exclude_session_ids)
    for index, draft in enumerate(drafts):
        if draft.trainer is None:
            continue
        for other in drafts[index + 1 :]:
            if (
                other.trainer is not None
                and other.trainer.id == draft.trainer.id
                and other.starts_at < draft.ends_at
                and other.ends_at > draft.starts_at
            ):
                raise DomainError(
                    _l(
                        "%(trainer)s staat twee keer tegelijk in dit voorstel (%(when)s).",
                        trainer=draft.trainer.name,
                        when=format_datetime(draft.starts_at, "short"),
                    )
                )
        clashes = trainer_conflicts(
            draft.trainer,
            [Slot(draft.starts_at, draft.ends_at)],
            ignore_session_ids=excluded,
        )
        if clashes:
            clash = clashes[0]
            raise DomainError(
                _l(
                    "%(trainer)s is op %(when)s al ingepland (%(course)s). Kies een andere "
                    "trainer of een ander tijdstip.",
                    trainer=draft.trainer.name,
                    when=format_datetime(clash.starts_at, "short"),
                    course=clash.course.title,
                )
            )


def check_sessions(drafts: Sequence[SessionDraft]) -> None:
    if not drafts:
        raise DomainError(_l("Een voorstel heeft minstens één sessie nodig."))
    now = utcnow()
    for draft in drafts:
        if draft.ends_at <= draft.starts_at:
            raise DomainError(_l("Een sessie moet eindigen na het begin."))
        if draft.starts_at <= now:
            raise DomainError(_l("Sessies in een voorstel moeten in de toekomst liggen."))
        if draft.trainer is None or not draft.trainer.is_trainer:
            raise DomainError(_l("Kies voor elke sessie een trainer."))
        if not (draft.location or "").strip():
            raise DomainError(_l("Vul voor elke sessie een locatie in."))


def check_lines(lines: Sequence[LineDraft]) -> None:
    if not lines:
        raise DomainError(_l("Een voorstel heeft minstens één prijsregel nodig."))
    for line in lines:
        if line.quantity <= 0:
            raise DomainError(_l("Het aantal op een prijsregel moet groter dan nul zijn."))
        if line.unit_price < 0:
            raise DomainError(_l("Een prijs kan niet negatief zijn."))
        if not line.description.strip():
            raise DomainError(_l("Geef elke prijsregel een omschrijving."))


def send_proposal(
    booking: InhouseBooking,
    *,
    by: User,
    sessions: Sequence[SessionDraft],
    lines: Sequence[LineDraft],
    valid_until: date,
    vat_rate: Decimal,
    terms: str,
    note: str = "",
) -> InhouseProposal:
    """Send a (new version of the) proposal; the previous open version is superseded."""
    if booking.membership_pending:
        raise DomainError(
            _l(
                "Bevestig eerst dat %(name)s bij %(org)s hoort; daarna kunt u een voorstel sturen.",
                name=booking.contact_name,
                org=booking.organisation.name,
            )
        )
    if booking.status not in (
        InhouseStatus.SUBMITTED,
        InhouseStatus.IN_REVIEW,
        InhouseStatus.PROPOSAL_SENT,
        InhouseStatus.DECLINED,
        InhouseStatus.EXPIRED,
    ):
        raise DomainError(
            _l(
                "Voor een aanvraag met status ‘%(status)s’ kunt u geen voorstel meer sturen.",
                status=booking.status_label,
            )
        )
    check_sessions(sessions)
    check_lines(lines)
    refuse_trainer_conflicts(sessions)
    if valid_until < today_amsterdam():
        raise DomainError(_l("De geldigheidsdatum ligt in het verleden."), field="valid_until")
    if not Decimal(0) <= vat_rate <= Decimal(100):
        raise DomainError(_l("Het btw-percentage ligt tussen 0 en 100."), field="vat_rate")

    previous = booking.current_proposal
    if previous is not None and previous.status == ProposalStatus.OPEN:
        previous.status = ProposalStatus.SUPERSEDED
    version = (previous.version + 1) if previous else 1
    proposal = InhouseProposal(
        version=version,
        created_by=by,
        valid_until=valid_until,
        vat_rate=vat_rate,
        terms=terms.strip(),
        note=(note or "").strip(),
        sessions=[
            InhouseProposalSession(
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                trainer=s.trainer,
                location=s.location.strip(),
                online_url=(s.online_url or "").strip() or None,
            )
            for s in sorted(sessions, key=lambda s: s.starts_at)
        ],
        lines=[
            InhouseProposalLine(
                position=i,
                kind=line.kind,
                description=line.description.strip(),
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for i, line in enumerate(lines)
        ],
    )
    booking.proposals.append(proposal)
    db.session.flush()
    version_note = _("Versie %(version)s", version=version)
    if booking.status == InhouseStatus.SUBMITTED:
        booking.move_to(InhouseStatus.IN_REVIEW, by=by)
    if booking.status == InhouseStatus.PROPOSAL_SENT:
        booking.record_event("proposal_revised", by=by, note=version_note)
    else:
        booking.move_to(InhouseStatus.PROPOSAL_SENT, by=by, note=version_note)
    booking.decline_reason = None
    pdf = proposal_pdf(proposal)
    mail_client_side(
        booking,
        subject=_l(
            "Voorstel voor %(course)s (%(ref)s, versie %(version)s)",
            course=booking.course.title,
            ref=booking.reference,
            version=version,
        ),
        template="bookings/inhouse_proposal",
        context={"proposal": proposal},
        attachments=[
            Attachment(f"voorstel-{booking.reference}-v{version}.pdf", "application/pdf", pdf)
        ],
    )
    return proposal


def proposal_pdf(proposal: InhouseProposal) -> bytes:
    booking = proposal.booking
    client_lines = [booking.contact_name]
    address = booking.billing_address or booking.organisation.address
    if address:
        client_lines.extend(line for line in address.splitlines() if line.strip())
    doc = ProposalDoc(
        reference=booking.reference,
        version=proposal.version,
        issue_date=proposal.issue_date,
        valid_until=proposal.valid_until,
        seller=seller_party(),
        client=Party(
            name=booking.organisation.name,
            lines=tuple(client_lines),
            email=booking.contact_email,
        ),
        course_title=booking.course.title,
        sessions=tuple(
            SessionLine(
                start=s.starts_at,
                end=s.ends_at,
                location=s.location,
                trainer=s.trainer.name if s.trainer else "",
            )
            for s in proposal.sessions
        ),
        lines=tuple(proposal.money_lines()),
        terms=proposal.terms,
        superseded=proposal.status == ProposalStatus.SUPERSEDED,
    )
    return render_proposal(doc)


def _open_proposal(booking: InhouseBooking, version: int | None) -> InhouseProposal:
    proposal = booking.current_proposal
    if booking.status != InhouseStatus.PROPOSAL_SENT or proposal is None:
        raise DomainError(_l("Er staat geen voorstel open om op te reageren."))
    if version != proposal.version:  # the client answers the version they read, or none
        raise DomainError(
            _l(
                "Er is intussen een nieuwe versie (%(version)s) van het voorstel. Bekijk die en "
                "reageer daarop.",
                version=proposal.version,
            )
        )
    return proposal


def accept_proposal(
    booking: InhouseBooking,
    *,
    by: User,
    version: int | None,
    po_number: str,
    agreed_to_terms: bool,
    billing_address: str | None = None,
) -> list[TrainingSession]:
    """The client accepts the open proposal: it becomes the booking, its sessions are created
    and everyone is invited.

    Both states of the issue are kept: `accepted` is the client's act (with their PO number),
    `scheduled` the sessions that exist from then on. Both moves happen in this one transaction,
    so a booking is never accepted without its sessions; the timeline shows both.
    """
    if not booking.is_client_of(by):
        raise NotAllowed(_l("Alleen de opdrachtgever kan dit voorstel accepteren."))
    proposal = _open_proposal(booking, version)
    if proposal.is_expired():
        raise ProposalExpired(
            _l(
                "Dit voorstel was geldig tot %(date)s en kan niet meer worden geaccepteerd. "
                "Stuur ons een bericht, dan maken we een nieuw voorstel.",
                date=format_date(proposal.valid_until, "long"),
            )
        )
    po_number = " ".join((po_number or "").split())
    if not po_number:
        raise DomainError(
            _l("Vul uw inkoopordernummer of debiteurenreferentie in."), field="po_number"
        )
    if len(po_number) > 100:
        raise DomainError(_l("Het inkoopordernummer is te lang."), field="po_number")
    if not agreed_to_terms:
        raise DomainError(
            _l("Ga akkoord met de voorwaarden om het voorstel te accepteren."), field="agree_terms"
        )
    drafts = [
        SessionDraft(s.starts_at, s.ends_at, s.trainer, s.location, s.online_url)
        for s in proposal.sessions
    ]
    if any(d.starts_at <= utcnow() for d in drafts):
        raise DomainError(
            _l(
                "Een sessie in dit voorstel ligt al in het verleden. Stuur ons een bericht, dan "
                "maken we een nieuw voorstel."
            )
        )
    try:
        refuse_trainer_conflicts(drafts)
    except DomainError as exc:
        # A trainer was booked elsewhere since the proposal went out.
        raise DomainError(
            _l(
                "Een van de voorgestelde sessies kan helaas niet meer doorgaan zoals voorgesteld "
                "(%(reason)s) Stuur ons een bericht, dan passen we het voorstel aan.",
                reason=str(exc),
            )
        ) from exc

    booking.po_number = po_number
    booking.billing_address = (billing_address or "").strip() or booking.billing_address
    booking.accepted_at = utcnow()
    booking.accepted_by = by
    proposal.status = ProposalStatus.ACCEPTED
    booking.move_to(
        InhouseStatus.ACCEPTED,
        by=by,
        note=_("Versie %(version)s, inkoopnummer %(po)s", version=proposal.version, po=po_number),
    )
    created = []
    for draft in drafts:
        session = TrainingSession(
            course=booking.course,
            edition_id=None,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            location=draft.location,
            online_url=draft.online_url,
            trainer=draft.trainer,
        )
        db.session.add(session)
        booking.session_links.append(InhouseSession(session=session))
        created.append(session)
    db.session.flush()
    for session in created:
        sync_session_invites(session)
    booking.move_to(
        InhouseStatus.SCHEDULED,
        by=by,
        note=ngettext("%(num)s sessie ingepland", "%(num)s sessies ingepland", len(created)),
    )
    mail_client_side(
        booking,
        subject=_l(
            "Bevestiging: %(course)s (%(ref)s)", course=booking.course.title, ref=booking.reference
        ),
        template="bookings/inhouse_accepted",
        context={"proposal": proposal},
    )
    mail_staff(
        booking,
        subject=_l(
            "Voorstel %(ref)s geaccepteerd door %(org)s",
            ref=booking.reference,
            org=booking.organisation.name,
        ),
        template="bookings/inhouse_accepted_staff",
        context={"proposal": proposal},
    )
    return created


def decline_proposal(
    booking: InhouseBooking, *, by: User, version: int | None, reason: str
) -> None:
    if not booking.is_client_of(by):
        raise NotAllowed(_l("Alleen de opdrachtgever kan dit voorstel afwijzen."))
    proposal = _open_proposal(booking, version)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Laat ons weten waarom u het voorstel afwijst."), field="reason")
    if len(reason) > MAX_TEXT:
        raise DomainError(_l("Houd uw tekst korter dan 5000 tekens."), field="reason")
    proposal.status = ProposalStatus.DECLINED
    booking.decline_reason = reason
    booking.move_to(InhouseStatus.DECLINED, by=by, note=reason)
    mail_staff(
        booking,
        subject=_l(
            "Voorstel %(ref)s afgewezen door %(org)s",
            ref=booking.reference,
            org=booking.organisation.name,
        ),
        template="bookings/inhouse_declined_staff",
        context={"reason": reason},
    )


def expire_proposal(booking: InhouseBooking, *, today: date | None = None) -> bool:
    """Mark the booking expired when its open proposal's validity date has passed."""
    proposal = booking.current_proposal
    if (
        booking.status != InhouseStatus.PROPOSAL_SENT
        or proposal is None
        or not proposal.is_expired(today)
    ):
        return False
    proposal.status = ProposalStatus.EXPIRED
    booking.move_to(
        InhouseStatus.EXPIRED,
        note=_("Geldig tot %(date)s", date=format_date(proposal.valid_until, "long")),
    )
    mail_client_side(
        booking,
        subject=_l("Het voorstel voor %(course)s is verlopen", course=booking.course.title),
        template="bookings/inhouse_expired",
        context={"proposal": proposal},
    )
    mail_staff(
        booking,
        subject=_l("Voorstel %(ref)s is verlopen", ref=booking.reference),
        template="bookings/inhouse_expired_staff",
        context={"proposal": proposal},
    )
    return True


def expire_due_proposals(today: date | None = None) -> int:
    today = today or today_amsterdam()
    bookings = db.session.scalars(
        select(InhouseBooking)
        .join(InhouseProposal, InhouseProposal.booking_id == InhouseBooking.id)
        .where(
            InhouseBooking.status == InhouseStatus.PROPOSAL_SENT,
            InhouseProposal.status == ProposalStatus.OPEN,
            InhouseProposal.valid_until < today,
        )
    ).unique()
    return sum(1 for booking in list(bookings) if expire_proposal(booking, today=today))


# == Cancellation ===============================================================================
def cancel_booking(booking: InhouseBooking, *, by: User, reason: str) -> None:
    """Cancel with a reason; a client may withdraw until they accepted, staff until delivered.
    Scheduled sessions are cancelled, which sends every attendee a calendar cancellation."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Geef een reden voor de annulering."), field="reason")
    if len(reason) > MAX_TEXT:
        raise DomainError(_l("Houd uw tekst korter dan 5000 tekens."), field="reason")
    as_staff = by.is_admin and not booking.is_client_of(by)
    if not as_staff:
        if not booking.is_client_of(by):
            raise NotAllowed(_l("U kunt deze aanvraag niet annuleren."))
        if booking.status not in CLIENT_CANCELLABLE:
            raise DomainError(
                _l(
                    "Deze boeking is al bevestigd. Stuur ons een bericht als u wilt annuleren; "
                    "we nemen dan contact met u op."
                )
            )
    booking.move_to(InhouseStatus.CANCELLED, by=by, note=reason)
    booking.cancel_reason = reason
    proposal = booking.current_proposal
    if proposal is not None and proposal.status == ProposalStatus.OPEN:
        proposal.status = ProposalStatus.WITHDRAWN
    for session in booking.active_sessions:
        session.cancel(note=reason)  # its signal sends the calendar cancellations
    context = {"reason": reason, "by_staff": as_staff}
    mail_client_side(
        booking,
        subject=_l(
            "Geannuleerd: %(course)s (%(ref)s)", course=booking.course.title, ref=booking.reference
        ),
        template="bookings/inhouse_cancelled",
        context=context,
    )
    mail_staff(
        booking,
        subject=_l("Inhouse-aanvraag %(ref)s geannuleerd", ref=booking.reference),
        template="bookings/inhouse_cancelled_staff",
        context=context,
    )


# == Sessions after acceptance ==================================================================
def _booking_session(booking: InhouseBooking, session_id: int) -> TrainingSession:
    for link in booking.session_links:
        if link.session_id == session_id:
            return link.session
    raise DomainError(_l("Deze sessie hoort niet bij deze boeking."))


def change_session(
    booking: InhouseBooking,
    session_id: int,
    *,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    trainer: User | None,
    location: str,
    online_url: str | None = None,
    note: str = "",
) -> TrainingSession:
    """Staff move a session or change its place or trainer; attendees get an updated invite."""
    if booking.status != InhouseStatus.SCHEDULED:
        raise DomainError(_l("Alleen sessies van een ingeplande boeking kunnen worden gewijzigd."))
    session = _booking_session(booking, session_id)
    if session.is_cancelled:
        raise DomainError(_l("Deze sessie is geannuleerd en kan niet meer worden gewijzigd."))
    draft = SessionDraft(starts_at, ends_at, trainer, location, online_url)
    check_sessions([draft])
    refuse_trainer_conflicts([draft], exclude_session_ids=[session.id])
    moved = (starts_at, ends_at) != (session.starts_at, session.ends_at)
    details = (
        trainer.id != session.trainer_id
        or location.strip() != (session.location or "")
        or ((online_url or "").strip() or None) != session.online_url
    )
    if not moved and not details:
        raise DomainError(_l("Er is niets gewijzigd aan deze sessie."))
    before = format_datetime(session.starts_at, "short")
    session.trainer = trainer
    session.location = location.strip()
    session.online_url = (online_url or "").strip() or None
    note = (note or "").strip()
    if moved:
        session.reschedule(starts_at, ends_at, note=note or None)
    else:
        session.change_details(note=note or None)
    booking.record_event(
        "session_moved",
        by=by,
        note=_(
            "Sessie van %(before)s: nu %(after)s, %(place)s, %(trainer)s. %(note)s",
            before=before,
            after=format_datetime(starts_at, "short"),
            place=session.location,
            trainer=trainer.name,
            note=note,
        ).strip(),
    )
    return session


# After acceptance a session may be added while the booking is still to be given; once given,
# invoiced or cancelled, the sessions are what they are.
SESSION_ADDABLE = frozenset({InhouseStatus.ACCEPTED, InhouseStatus.SCHEDULED})


def _refuse_adding(booking: InhouseBooking) -> None:
    if booking.status in SESSION_ADDABLE:
        return
    if booking.status == InhouseStatus.CANCELLED:
        message = _l("Deze boeking is geannuleerd; er kan geen sessie meer bij.")
    elif booking.status in (InhouseStatus.INVOICED, InhouseStatus.PAID, InhouseStatus.EVALUATED):
        message = _l(
            "Deze boeking is al gefactureerd; er kan geen sessie meer bij. Maak een nieuwe "
            "aanvraag voor een vervolgsessie."
        )
    elif booking.status == InhouseStatus.DELIVERED:
        message = _l(
            "Deze boeking is al gegeven; er kan geen sessie meer bij. Maak een nieuwe aanvraag "
            "voor een vervolgsessie."
        )
    else:
        message = _l(
            "Sessies komen er pas bij als de klant het voorstel heeft geaccepteerd; pas tot dan "
            "het voorstel aan."
        )
    raise DomainError(message)


def add_session(
    booking: InhouseBooking,
    *,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    trainer: User | None,
    location: str,
    online_url: str | None = None,
    note: str = "",
) -> TrainingSession:
    """Staff add a further session to an accepted booking: the trainer, the client contact and
    the participants get an invitation for it (a new UID); the timeline (and with it the audit
    log) records it."""
    _refuse_adding(booking)
    draft = SessionDraft(starts_at, ends_at, trainer, location, online_url)
    check_sessions([draft])
    refuse_trainer_conflicts([draft])
    note = (note or "").strip()
    session = TrainingSession(
        course=booking.course,
        edition_id=None,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location.strip(),
        online_url=(online_url or "").strip() or None,
        trainer=trainer,
        change_note=note or None,
    )
    db.session.add(session)
    booking.session_links.append(InhouseSession(session=session))
    db.session.flush()
    sync_session_invites(session)
    booking.record_event(
        "session_added",
        by=by,
        note=_(
            "%(when)s, %(place)s, %(trainer)s. %(note)s",
            when=format_datetime(starts_at, "short"),
            place=session.location,
            trainer=trainer.name,
            note=note,
        ).strip(),
    )
    return session


def cancel_session(booking: InhouseBooking, session_id: int, *, by: User, reason: str) -> None:
    if booking.status != InhouseStatus.SCHEDULED:
        raise DomainError(
            _l("Alleen sessies van een ingeplande boeking kunnen worden geannuleerd.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Geef een reden voor de annulering."), field="reason")
    session = _booking_session(booking, session_id)
    if session.is_cancelled:
        raise DomainError(_l("Deze sessie is al geannuleerd."))
    when = format_datetime(session.starts_at, "short")
    session.cancel(note=reason)
    booking.record_event("session_cancelled", by=by, note=f"{when}: {reason}")


def mark_delivered(
    booking: InhouseBooking, *, by: User | None = None, now: datetime | None = None
) -> None:
    now = now or utcnow()
    sessions = booking.active_sessions
    if booking.status == InhouseStatus.SCHEDULED:
        if not sessions:
            raise DomainError(
                _l("Alle sessies zijn geannuleerd; annuleer de boeking in plaats daarvan.")
            )
        unfinished = [s for s in sessions if s.ends_at > now]
        if unfinished:
            raise DomainError(
                _l(
                    "Nog niet alle sessies zijn voorbij (de laatste eindigt %(when)s).",
                    when=format_datetime(unfinished[-1].ends_at, "short"),
                )
            )
    booking.move_to(InhouseStatus.DELIVERED, by=by)


def deliver_finished_bookings(now: datetime | None = None) -> int:
    """Scheduled bookings whose sessions have all ended become delivered (beat task)."""
    now = now or utcnow()
    count = 0
    for booking in db.session.scalars(
        select(InhouseBooking).where(InhouseBooking.status == InhouseStatus.SCHEDULED)
    ).all():
        sessions = booking.active_sessions
        if sessions and all(s.ends_at <= now for s in sessions):
            mark_delivered(booking, now=now)
            count += 1
    return count


def mark_evaluated(booking: InhouseBooking, *, by: User, note: str = "") -> None:
    booking.move_to(InhouseStatus.EVALUATED, by=by, note=note)


# == Invoice and payment ========================================================================
def invoice_lines_from_proposal(booking: InhouseBooking) -> list[LineDraft]:
    proposal = booking.accepted_proposal
    if proposal is None:
        return []
    return [
        LineDraft(line.kind, line.description, line.quantity, line.unit_price)
        for line in proposal.lines
    ]


def issue_booking_invoice(
    booking: InhouseBooking,
    *,
    by: User,
    lines: Sequence[LineDraft],
    billing_address: str = "",
) -> Invoice:
    """A numbered invoice with the client's PO number, after delivery."""
    if not booking.can_move_to(InhouseStatus.INVOICED):
        raise DomainError(
            _l(
                "Een factuur maakt u na afloop; deze boeking heeft status ‘%(status)s’.",
                status=booking.status_label,
            )
        )
    if booking.invoice_id is not None:
        raise DomainError(_l("Voor deze boeking is al een factuur gemaakt."))
    check_lines(lines)
    proposal = booking.accepted_proposal
    vat_rate = proposal.vat_rate if proposal else booking.course.vat_rate
    billing_address = (billing_address or "").strip()
    booking.billing_address = billing_address or booking.billing_address
    invoice = issue_invoice(
        subject_type="inhouse",
        subject_id=booking.id,
        buyer_name=booking.organisation.name,
        buyer_address="\n".join(
            part
            for part in (
                _("t.a.v. %(name)s", name=booking.contact_name),
                booking.billing_address or booking.organisation.address or "",
            )
            if part
        ),
        buyer_email=booking.contact_email,
        buyer_user=booking.accepted_by or booking.requested_by,
        buyer_organisation=booking.organisation,
        reference=booking.po_number,
        lines=[MoneyLine(ln.description, ln.quantity, ln.unit_price, vat_rate) for ln in lines],
        by=by,
    )
    booking.invoice = invoice
    booking.move_to(InhouseStatus.INVOICED, by=by, note=invoice.number)
    mail_client_side(
        booking,
        subject=_l(
            "Factuur %(number)s voor %(course)s", number=invoice.number, course=booking.course.title
        ),
        template="bookings/inhouse_invoice",
        context={"invoice": invoice, "online": stripe_enabled()},
        attachments=[
            Attachment(f"factuur-{invoice.number}.pdf", "application/pdf", invoice_pdf(invoice))
        ],
    )
    return invoice


def booking_for_invoice(invoice: Invoice) -> InhouseBooking | None:
    if invoice.subject_type != "inhouse":
        return None
    return db.session.get(InhouseBooking, invoice.subject_id)


def _cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _stripe_object(kind: str, key: str, create) -> str:
    row = db.session.scalar(
        select(InhouseStripeObject).where(
            InhouseStripeObject.kind == kind, InhouseStripeObject.key == key
        )
    )
    if row is None:
        row = InhouseStripeObject(kind=kind, key=key, stripe_id=create().id)
        db.session.add(row)
        db.session.flush()
    return row.stripe_id


def push_invoice_to_stripe(invoice: Invoice) -> str | None:
    """Create the invoice at Stripe too (sent by Stripe, due in 30 days); returns its id.

    Runs in a task after the invoice was committed. Every call carries an idempotency key
    derived from our ids, so a retry after a crash finds the objects it already created instead
    of duplicating them (Stripe keeps keys for 24 hours; the sweep retries well within that).
    """
    if invoice.stripe_invoice_id or not stripe_enabled():
        return invoice.stripe_invoice_id
    booking = booking_for_invoice(invoice)
    if booking is None or invoice.status != InvoiceStatus.OPEN:
        return None
    client = get_client()
    key = f"bbt-inhouse-invoice-{invoice.id}"
    # One customer per organisation and contact: Stripe mails the invoice to the customer's
    # address, and the contact person is who should receive it.
    customer_key = f"{booking.organisation_id}:{booking.contact_email}"
    customer_id = _stripe_object(
        "customer",
        customer_key,
        lambda: client.v1.customers.create(
            params={
                "name": booking.organisation.name,
                "email": booking.contact_email,
                "preferred_locales": ["nl"],
                "metadata": {"bbtraining_organisation_id": str(booking.organisation_id)},
            },
            options={"idempotency_key": "bbt-customer-" + _digest(customer_key)},
        ),
    )
    tax_rates = {
        rate: _stripe_object(
            "tax_rate",
            str(rate),
            lambda rate=rate: client.v1.tax_rates.create(
                params={
                    "display_name": "btw",
                    "percentage": str(rate),
                    "inclusive": False,
                    "country": "NL",
                },
                options={"idempotency_key": f"bbt-tax-rate-{rate}"},
            ),
        )
        for rate in sorted({line.vat_rate for line in invoice.lines})
    }
    description = _("Factuur %(number)s", number=invoice.number)
    if invoice.reference:
        description += " · " + _("uw referentie %(po)s", po=invoice.reference)
    draft = client.v1.invoices.create(
        params={
            "customer": customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "currency": "eur",
            "description": description,
            "pending_invoice_items_behavior": "exclude",
            "metadata": {
                "bbtraining_invoice_id": str(invoice.id),
                "bbtraining_invoice_number": invoice.number,
                "inhouse_booking": booking.reference,
                "po_number": invoice.reference or "",
            },
        },
        options={"idempotency_key": key},
    )
    if draft.status == "draft":
        for line in invoice.lines:
            item = {
                "customer": customer_id,
                "invoice": draft.id,
                "currency": "eur",
                "description": line.description,
                "tax_rates": [tax_rates[line.vat_rate]],
            }
            if line.quantity == line.quantity.to_integral_value():
                item.update(
                    unit_amount_decimal=str(_cents(line.unit_price)),
                    quantity=int(line.quantity),
                )
            else:
                item["amount"] = _cents(line_amount(line.as_money_line()))
            client.v1.invoice_items.create(
                params=item, options={"idempotency_key": f"{key}-line-{line.id}"}
            )
        draft = client.v1.invoices.finalize_invoice(
            draft.id, options={"idempotency_key": f"{key}-finalize"}
        )
    client.v1.invoices.send_invoice(draft.id, options={"idempotency_key": f"{key}-send"})
    invoice.stripe_invoice_id = draft.id
    if draft.total != _cents(invoice.total):
        # Stripe rounds VAT per line, we per rate; our PDF is the legal invoice.
        log.warning(
            "stripe invoice %s total %s differs from %s", draft.id, draft.total, invoice.total
        )
    booking.record_event("stripe_invoice", note=invoice.number)
    audit.record("invoice.stripe_created", invoice, stripe_invoice_id=draft.id)
    return draft.id


def invoices_waiting_for_stripe() -> list[Invoice]:
    """Inhouse invoices that should be at Stripe but are not yet (the task was lost)."""
    if not stripe_enabled():
        return []
    return list(
        db.session.scalars(
            select(Invoice).where(
                Invoice.subject_type == "inhouse",
                Invoice.stripe_invoice_id.is_(None),
                Invoice.status == InvoiceStatus.OPEN,
                Invoice.credit_for_id.is_(None),
            )
        )
    )


@on_event("invoice.paid")
def stripe_invoice_paid(event, client) -> str:
    """Stripe says an invoice was paid: believe Stripe's current state of it, not the payload
    (events can arrive late or out of order), and mark ours paid once."""
    stripe_id = event.data.object.id
    invoice = db.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == stripe_id))
    if invoice is None:
        return "unknown invoice"
    fresh = client.v1.invoices.retrieve(stripe_id)
    if fresh.status != "paid":
        return f"not paid ({fresh.status})"
    try:
        invoice.mark_paid(PaymentMethod.STRIPE_INVOICE)
    except DomainError as exc:
        return f"refused: {exc}"
    return "paid"


@invoice_paid.connect
def booking_follows_its_invoice(invoice: Invoice, by=None, **_kwargs) -> None:
    """An inhouse invoice marked paid (staff's bank-transfer button, or the Stripe webhook)
    moves its booking to `paid`."""
    if invoice.subject_type != "inhouse":
        return
    booking = db.session.scalar(
        select(InhouseBooking).where(InhouseBooking.invoice_id == invoice.id)
    )
    if booking is not None and booking.status == InhouseStatus.INVOICED:
        booking.move_to(InhouseStatus.PAID, by=by or _signed_in_user(), note=invoice.number)


def _signed_in_user() -> User | None:
    """Whoever is signed in to the request at hand (staff's button), or None (a webhook)."""
    try:
        if current_user and current_user.is_authenticated:
            return current_user._get_current_object()
    except (RuntimeError, AttributeError):  # no request: worker, CLI
        return None
    return None


# == Messages and participants ==================================================================
def post_message(booking: InhouseBooking, *, by: User, body: str) -> InhouseMessage:
    body = (body or "").strip()
    if not body:
        raise DomainError(_l("Schrijf een bericht."), field="body")
    if len(body) > MAX_TEXT:
        raise DomainError(_l("Houd uw bericht korter dan 5000 tekens."), field="body")
    from_client = booking.is_client_of(by)
    if not from_client and not by.is_admin:
        raise NotAllowed(_l("U kunt bij deze aanvraag geen bericht plaatsen."))
    message = InhouseMessage(author=by, from_staff=not from_client, body=body)
    booking.messages.append(message)
    db.session.flush()
    audit.record("inhouse.message", booking, actor=by, message_id=message.id)
    subject = _l(
        "Nieuw bericht over %(ref)s (%(course)s)",
        ref=booking.reference,
        course=booking.course.title,
    )
    context = {"message": message}
    if from_client:
        mail_staff(booking, subject=subject, template="bookings/inhouse_message", context=context)
    else:
        mail_client_side(
            booking, subject=subject, template="bookings/inhouse_message", context=context
        )
    return message


def _check_participants_editable(booking: InhouseBooking, by: User) -> None:
    if not booking.is_client_of(by) and not by.is_admin:
        raise NotAllowed(_l("U kunt de deelnemers van deze aanvraag niet wijzigen."))
    if booking.status not in PARTICIPANT_EDITABLE_STATUSES:
        raise DomainError(
            _l(
                "De deelnemerslijst kan niet meer worden gewijzigd bij status ‘%(status)s’.",
                status=booking.status_label,
            )
        )


def _sync_booking_invites(booking: InhouseBooking) -> None:
    if booking.status == InhouseStatus.SCHEDULED:
        db.session.flush()
        for session in booking.active_sessions:
            sync_session_invites(session)


def add_participant(
    booking: InhouseBooking, *, by: User, name: str, email: str, role: str | None = None
) -> InhouseParticipant:
    _check_participants_editable(booking, by)
    name = " ".join((name or "").split())
    email = normalise_email(email)
    if not name or not email:
        raise DomainError(_l("Vul naam en e-mailadres van de deelnemer in."), field="name")
    if any(p.email == email for p in booking.participants):
        raise DomainError(_l("%(email)s staat al op de lijst.", email=email), field="email")
    if len(booking.participants) >= MAX_PARTICIPANTS:
        raise DomainError(_l("De deelnemerslijst is vol."))
    participant = InhouseParticipant(name=name, email=email, role=(role or "").strip() or None)
    booking.participants.append(participant)
    booking.record_event("participants_changed", by=by, note=_("%(name)s toegevoegd", name=name))
    _sync_booking_invites(booking)
    return participant


def remove_participant(booking: InhouseBooking, participant_id: int, *, by: User) -> None:
    _check_participants_editable(booking, by)
    participant = next((p for p in booking.participants if p.id == participant_id), None)
    if participant is None:
        raise DomainError(_l("Deze deelnemer staat niet op de lijst."))
    booking.participants.remove(participant)
    booking.record_event(
        "participants_changed", by=by, note=_("%(name)s verwijderd", name=participant.name)
    )
    _sync_booking_invites(booking)


@register_provider
def inhouse_session_participants(session: TrainingSession) -> list[Participant]:
    """The client's contact person and participant list take part in the booking's sessions."""
    if session.id is None or session.edition_id is not None:
        return []
    link = db.session.scalar(select(InhouseSession).where(InhouseSession.session_id == session.id))
    if link is None or link.booking.status == InhouseStatus.CANCELLED:
        return []
    booking = link.booking
    contact_user = User.by_email(booking.contact_email)
    people = [
        Participant(
            key=f"inhouse:{booking.id}:contact",
            email=booking.contact_email,
            name=booking.contact_name,
            role="client-contact",
            user_id=contact_user.id if contact_user else None,
            locale=contact_user.locale if contact_user else "nl",
            joined_at=booking.accepted_at,
        )
    ]
    for person in booking.participants:
        if person.email == booking.contact_email:
            continue
        people.append(
            Participant(
                key=f"inhouse:{booking.id}:{person.id}",
                email=person.email,
                name=person.name,
                role="participant",
                joined_at=person.created_at,
            )
        )
    return people


# == Lists: the client's portal and the staff pipeline ==========================================
def bookings_for_client(user: User) -> list[InhouseBooking]:
    conditions = [
        (InhouseBooking.requested_by_id == user.id) & InhouseBooking.membership_pending.is_(True)
    ]
    if user.is_client and user.organisation_id is not None:
        conditions.append(
            (InhouseBooking.organisation_id == user.organisation_id)
            & InhouseBooking.membership_pending.is_(False)
        )
    return list(
        db.session.scalars(
            select(InhouseBooking)
            .where(or_(*conditions))
            .order_by(InhouseBooking.created_at.desc())
            # The list shows each booking's course, requester and current proposal: those in
            # one query each, not one per booking; what the list does not show loads on use.
            .options(
                joinedload(InhouseBooking.course).lazyload(Course.phase_rows),
                lazyload(InhouseBooking.date_options),
                selectinload(InhouseBooking.requested_by).lazyload(User.role_rows),
                selectinload(InhouseBooking.proposals).options(
                    lazyload(InhouseProposal.sessions), lazyload(InhouseProposal.lines)
                ),
            )
        )
    )


def client_next_step(booking: InhouseBooking) -> str:
    status = InhouseStatus(booking.status)
    proposal = booking.current_proposal
    if status == InhouseStatus.PROPOSAL_SENT and proposal is not None:
        return _(
            "Bekijk het voorstel en reageer vóór %(date)s",
            date=format_date(proposal.valid_until, "long"),
        )
    steps = {
        InhouseStatus.SUBMITTED: _("Wij bekijken uw aanvraag en sturen een voorstel"),
        InhouseStatus.IN_REVIEW: _("Wij maken een voorstel"),
        InhouseStatus.SCHEDULED: _("De sessies staan gepland; vul de deelnemerslijst aan"),
        InhouseStatus.DELIVERED: _("De factuur volgt"),
        InhouseStatus.INVOICED: _("Betaal de factuur"),
        InhouseStatus.DECLINED: _("Stuur ons een bericht als u een nieuw voorstel wilt"),
        InhouseStatus.EXPIRED: _("Stuur ons een bericht als u een nieuw voorstel wilt"),
    }
    return steps.get(status, "")


@dataclass
class PipelineFilter:
    status: str = "open"  # "open", "all", or one status
    course_id: int | None = None
    q: str = ""
    min_age_days: int | None = None


@dataclass
class PipelineRow:
    booking: InhouseBooking
    age_days: int
    days_in_status: int
    next_action: str
    first_session: datetime | None = None
    extra: dict = field(default_factory=dict)


def staff_next_action(booking: InhouseBooking) -> str:
    status = InhouseStatus(booking.status)
    proposal = booking.current_proposal
    if booking.membership_pending and status in (InhouseStatus.SUBMITTED, InhouseStatus.IN_REVIEW):
        return _("Lidmaatschap organisatie bevestigen")
    if status == InhouseStatus.PROPOSAL_SENT and proposal is not None:
        return _(
            "Wacht op klant (geldig tot %(date)s)", date=format_date(proposal.valid_until, "short")
        )
    if status == InhouseStatus.SCHEDULED:
        sessions = booking.active_sessions
        if sessions:
            return _(
                "Sessies geven (laatste %(date)s)",
                date=format_date(sessions[-1].starts_at.astimezone(AMSTERDAM).date(), "short"),
            )
        return _("Alle sessies geannuleerd: boeking annuleren")
    if status == InhouseStatus.INVOICED and booking.invoice is not None:
        return _(
            "Wacht op betaling (vervalt %(date)s)",
            date=format_date(booking.invoice.due_date, "short"),
        )
    actions = {
        InhouseStatus.SUBMITTED: _("Beoordelen en voorstel maken"),
        InhouseStatus.IN_REVIEW: _("Voorstel maken"),
        InhouseStatus.ACCEPTED: _("Sessies inplannen"),
        InhouseStatus.DECLINED: _("Herzien voorstel sturen of afsluiten"),
        InhouseStatus.EXPIRED: _("Herzien voorstel sturen of afsluiten"),
        InhouseStatus.DELIVERED: _("Factuur maken"),
        InhouseStatus.PAID: _("Evaluatie vastleggen"),
    }
    return actions.get(status, "")


def pipeline(filters: PipelineFilter, now: datetime | None = None) -> list[PipelineRow]:
    now = now or utcnow()
    query = select(InhouseBooking).join(Organisation)
    if filters.status == "open":
        query = query.where(InhouseBooking.status.in_([s.value for s in OPEN_STATUSES]))
    elif filters.status in STATUS_LABELS:
        query = query.where(InhouseBooking.status == filters.status)
    if filters.course_id:
        query = query.where(InhouseBooking.course_id == filters.course_id)
    if filters.q.strip():
        pattern = f"%{filters.q.strip()}%"
        query = query.where(
            or_(
                Organisation.name.ilike(pattern),
                InhouseBooking.contact_name.ilike(pattern),
                InhouseBooking.contact_email.ilike(pattern),
                InhouseBooking.po_number.ilike(pattern),
            )
        )
    if filters.min_age_days:
        query = query.where(InhouseBooking.created_at <= now - timedelta(days=filters.min_age_days))
    rows = []
    for booking in db.session.scalars(query.order_by(InhouseBooking.created_at)).unique():
        sessions = booking.active_sessions
        rows.append(
            PipelineRow(
                booking=booking,
                age_days=(now - booking.created_at).days,
                days_in_status=(now - booking.status_changed_at).days,
                next_action=staff_next_action(booking),
                first_session=sessions[0].starts_at if sessions else None,
            )
        )
    return rows


def status_counts() -> dict[str, int]:
    return dict(
        db.session.execute(
            select(InhouseBooking.status, func.count(InhouseBooking.id)).group_by(
                InhouseBooking.status
            )
        ).all()
    )


def pipeline_csv(rows: Sequence[PipelineRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            _("Referentie"),
            _("Ingediend"),
            _("Organisatie"),
            _("Training"),
            _("Status"),
            _("Dagen oud"),
            _("Dagen in status"),
            _("Volgende stap"),
            _("Contactpersoon"),
            _("E-mail"),
            _("Deelnemers"),
            _("Eerste sessie"),
            _("Inkoopnummer"),
            _("Factuur"),
            _("Totaal excl. btw"),
        ]
    )
    for row in rows:
        b = row.booking
        proposal = b.accepted_proposal or b.current_proposal
        writer.writerow(
            [
                b.reference,
                b.created_at.astimezone(AMSTERDAM).strftime("%Y-%m-%d"),
                _csv_safe(b.organisation.name),
                _csv_safe(b.course.title),
                b.status_label,
                row.age_days,
                row.days_in_status,
                row.next_action,
                _csv_safe(b.contact_name),
                _csv_safe(b.contact_email),
                b.expected_participants,
                row.first_session.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M")
                if row.first_session
                else "",
                _csv_safe(b.po_number or ""),
                b.invoice.number if b.invoice else "",
                str(proposal.totals[0]) if proposal else "",
            ]
        )
    return out.getvalue()


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula in a spreadsheet: defuse what users typed.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# == Mail =======================================================================================
def _client_recipients(booking: InhouseBooking, extra_users: Iterable[User] = ()) -> list:
    """The contact person and the requester (once each), as users where they have an account."""
    seen: set[str] = set()
    recipients: list = []
    candidates = [User.by_email(booking.contact_email) or booking.contact_email]
    if booking.requested_by is not None:
        candidates.append(booking.requested_by)
    candidates.extend(extra_users)
    for person in candidates:
        email = person if isinstance(person, str) else person.email
        if email and email not in seen:
            seen.add(email)
            recipients.append(person)
    return recipients


def mail_client_side(
    booking: InhouseBooking,
    *,
    subject,
    template: str,
    context: dict | None = None,
    attachments: Sequence[Attachment] = (),
    extra_users: Iterable[User] = (),
) -> None:
    link = public_url("bookings.inhouse_detail", booking_id=booking.id)
    for person in _client_recipients(booking, extra_users):
        queue_mail(
            to=person,
            subject=subject,
            template=template,
            context={"booking": booking, "link": link, "for_staff": False, **(context or {})},
            attachments=list(attachments),
        )


def mail_staff(
    booking: InhouseBooking, *, subject, template: str, context: dict | None = None
) -> None:
    staff = current_app.config.get("STAFF_EMAIL")
    if not staff:
        return
    queue_mail(
        to=staff,
        subject=subject,
        template=template,
        context={
            "booking": booking,
            "link": public_url("bookings.inhouse_admin_detail", booking_id=booking.id),
            "for_staff": True,
            **(context or {}),
        },
    )


@register_sessions_provider
def inhouse_sessions_of(user) -> list[TrainingSession]:
    """Sessions of accepted bookings where the user is the contact or on the participant list."""
    booking_ids = select(InhouseParticipant.booking_id).where(
        InhouseParticipant.email == user.email
    )
    return list(
        db.session.scalars(
            select(TrainingSession)
            .join(InhouseSession, InhouseSession.session_id == TrainingSession.id)
            .join(InhouseBooking, InhouseBooking.id == InhouseSession.booking_id)
            .where(
                InhouseBooking.status != InhouseStatus.CANCELLED,
                or_(InhouseBooking.contact_email == user.email, InhouseBooking.id.in_(booking_ids)),
            )
            .order_by(TrainingSession.starts_at)
        )
    )
