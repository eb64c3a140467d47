"""Proposals: staff send (a new version of) a proposal with its PDF; the client accepts it (the
sessions are created and everyone invited) or declines it; an unanswered one expires.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from ... import audit, vat
from ...auth.models import User
from ...courses.models import AMSTERDAM, TrainingSession
from ...db_types import utcnow
from ...errors import DomainError, NotAllowed
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...notifications.services import Attachment
from ...pdf.layout import Party
from ...pdf.proposal import ProposalDoc, SessionLine, render_proposal
from ..billing.amounts import price_table
from ..billing.invoices import seller_party
from ..sessions.invites import sync_session_invites
from .drafts import LineDraft, SessionDraft, check_lines, check_sessions, refuse_trainer_conflicts
from .mail import mail_client_side, mail_staff
from .models import (
    MAX_TEXT,
    InhouseBooking,
    InhouseSession,
    InhouseStatus,
    ProposalStatus,
    today_amsterdam,
)
from .proposal_models import InhouseProposal, InhouseProposalLine, InhouseProposalSession

DEFAULT_VALIDITY_DAYS = 30
DEFAULT_TERMS = _l(
    "Prijzen zijn exclusief btw. Annuleren kan kosteloos tot vier weken voor de eerste sessie; "
    "daarna brengen we de helft van het sessiebedrag in rekening, binnen een week voor de sessie "
    "het volledige bedrag. Een sessie verplaatsen kan in overleg. De factuur volgt na afloop, "
    "met een betaaltermijn van 30 dagen, onder vermelding van uw inkoopordernummer."
)


# Where a (new version of the) proposal may be sent: before acceptance, or after a declined or
# expired one.
PROPOSABLE = frozenset(
    {
        InhouseStatus.SUBMITTED,
        InhouseStatus.IN_REVIEW,
        InhouseStatus.PROPOSAL_SENT,
        InhouseStatus.DECLINED,
        InhouseStatus.EXPIRED,
    }
)


class ProposalExpired(DomainError):
    """The client tried to accept a proposal whose validity date has passed."""


def default_terms() -> str:
    return current_app.config.get("INHOUSE_TERMS") or str(DEFAULT_TERMS)


def _refuse_proposing(booking: InhouseBooking) -> None:
    if booking.membership_pending:
        raise DomainError(
            _l(
                "Bevestig eerst dat %(name)s bij %(org)s hoort; daarna kunt u een voorstel sturen.",
                name=booking.contact_name,
                org=booking.organisation.name,
            )
        )
    if booking.status not in PROPOSABLE:
        raise DomainError(
            _l(
                "Voor een aanvraag met status ‘%(status)s’ kunt u geen voorstel meer sturen.",
                status=booking.status_label,
            )
        )


def _check_content(
    sessions: Sequence[SessionDraft], lines: Sequence[LineDraft], valid_until: date, vat_rate
) -> None:
    check_sessions(sessions)
    check_lines(lines)
    refuse_trainer_conflicts(sessions)
    if valid_until < today_amsterdam():
        raise DomainError(_l("De geldigheidsdatum ligt in het verleden."), field="valid_until")
    if not Decimal(0) <= vat_rate <= Decimal(100):
        raise DomainError(_l("Het btw-percentage ligt tussen 0 en 100."), field="vat_rate")


def save_draft(
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
    """Save (or overwrite) the booking's one draft: staff can preview and edit it; the client
    sees nothing of it until it is sent. It carries the number it will be sent under."""
    _refuse_proposing(booking)
    _check_content(sessions, lines, valid_until, vat_rate)
    organisation = booking.organisation
    # A business in another member state with a number VIES confirmed: no Dutch VAT.
    reverse_charge = vat.reverse_charge(organisation.country, organisation.vat_number)
    if reverse_charge:
        vat_rate = Decimal(0)
    draft = booking.draft_proposal
    if draft is None:
        previous = booking.current_proposal
        draft = InhouseProposal(
            version=(previous.version + 1) if previous else 1, status=ProposalStatus.DRAFT
        )
        booking.proposals.append(draft)
    draft.created_by = by
    draft.valid_until = valid_until
    draft.vat_rate = vat_rate
    draft.reverse_charge = reverse_charge
    draft.terms = terms.strip()
    draft.note = (note or "").strip()
    draft.sessions = [
        InhouseProposalSession(
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            trainer=s.trainer,
            location=s.location.strip(),
            online_url=(s.online_url or "").strip() or None,
        )
        for s in sorted(sessions, key=lambda s: s.starts_at)
    ]
    draft.lines = [
        InhouseProposalLine(
            position=i,
            kind=line.kind,
            description=line.description.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for i, line in enumerate(lines)
    ]
    db.session.flush()
    audit.record("inhouse.proposal_draft", booking, actor=by, version=draft.version)
    return draft


def send_draft(booking: InhouseBooking, *, by: User) -> InhouseProposal:
    """Send the draft as the next version: the previous open version is superseded, what the PDF
    prints is frozen, and the client gets it by mail."""
    proposal = booking.draft_proposal
    if proposal is None:
        raise DomainError(_l("Er is geen concept om te versturen. Sla eerst een concept op."))
    _refuse_proposing(booking)
    drafts = [
        SessionDraft(s.starts_at, s.ends_at, s.trainer, s.location, s.online_url)
        for s in proposal.sessions
    ]
    lines = [
        LineDraft(ln.kind, ln.description, ln.quantity, ln.unit_price) for ln in proposal.lines
    ]
    # Checked again: time passed, or a trainer was booked elsewhere, since the draft was saved.
    _check_content(drafts, lines, proposal.valid_until, proposal.vat_rate)

    previous = booking.current_proposal
    if previous is not None and previous.status == ProposalStatus.OPEN:
        previous.status = ProposalStatus.SUPERSEDED
    proposal.status = ProposalStatus.OPEN
    proposal.created_by = by
    proposal.sent_at = utcnow()
    proposal.snapshot = _snapshot(proposal)
    version = proposal.version
    version_note = _("Versie %(version)s", version=version)
    if booking.status == InhouseStatus.SUBMITTED:
        booking.move_to(InhouseStatus.IN_REVIEW, by=by)
    if booking.status == InhouseStatus.PROPOSAL_SENT:
        booking.record_event("proposal_revised", by=by, note=version_note)
    else:
        booking.move_to(InhouseStatus.PROPOSAL_SENT, by=by, note=version_note)
    booking.decline_reason = None
    db.session.flush()
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


def send_proposal(booking: InhouseBooking, *, by: User, **content) -> InhouseProposal:
    """Save a draft and send it at once (the demo data and scripts; staff go through the draft)."""
    save_draft(booking, by=by, **content)
    return send_draft(booking, by=by)


def _party_data(party: Party) -> dict:
    return {
        "name": party.name,
        "lines": list(party.lines),
        "vat_number": party.vat_number,
        "email": party.email,
    }


def _party(data: dict) -> Party:
    return Party(
        name=data["name"],
        lines=tuple(data.get("lines") or ()),
        vat_number=data.get("vat_number"),
        email=data.get("email"),
    )


def _snapshot(proposal: InhouseProposal) -> dict:
    """What the PDF prints that lives outside the proposal's own rows, as it is now."""
    booking = proposal.booking
    client_lines = [booking.contact_name]
    address = booking.billing_address or booking.organisation.address
    if address:
        client_lines.extend(line for line in address.splitlines() if line.strip())
    return {
        "reference": booking.reference,
        "course_title": booking.course.title,
        "seller": _party_data(seller_party()),
        "client": _party_data(
            Party(
                name=booking.organisation.name,
                lines=tuple(client_lines),
                vat_number=(booking.organisation.vat_number if proposal.reverse_charge else None),
                email=booking.contact_email,
            )
        ),
        "sessions": [
            {
                "start": s.starts_at.isoformat(),
                "end": s.ends_at.isoformat(),
                "location": s.location,
                "trainer": s.trainer.name if s.trainer else "",
            }
            for s in proposal.sessions
        ],
    }


def proposal_pdf(proposal: InhouseProposal) -> bytes:
    """The PDF of a version: a sent one from its snapshot, a draft (marked CONCEPT) as it would
    be sent now."""
    snap = proposal.snapshot or _snapshot(proposal)
    doc = ProposalDoc(
        reference=snap["reference"],
        version=proposal.version,
        issue_date=today_amsterdam() if proposal.is_draft else proposal.issue_date,
        valid_until=proposal.valid_until,
        seller=_party(snap["seller"]),
        client=_party(snap["client"]),
        course_title=snap["course_title"],
        sessions=tuple(
            SessionLine(
                start=datetime.fromisoformat(s["start"]),
                end=datetime.fromisoformat(s["end"]),
                location=s["location"],
                trainer=s["trainer"],
            )
            for s in snap["sessions"]
        ),
        prices=price_table(proposal.money_lines()),
        terms=proposal.terms,
        superseded=proposal.status == ProposalStatus.SUPERSEDED,
        draft=proposal.is_draft,
        accepted_on=(
            proposal.accepted_at.astimezone(AMSTERDAM).date() if proposal.accepted_at else None
        ),
        accepted_by=proposal.accepted_by_name or "",
        reverse_charge_note=str(vat.REVERSE_CHARGE_NOTE) if proposal.reverse_charge else None,
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
    # On the PDF from now on, instead of the request to sign (the snapshot keeps the rest).
    proposal.accepted_at = booking.accepted_at
    proposal.accepted_by_name = by.name
    stale = booking.draft_proposal  # a revision staff were writing is moot now
    if stale is not None:
        booking.proposals.remove(stale)
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
