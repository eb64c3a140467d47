"""Lists: the client's portal of bookings with their next step, and the staff pipeline with its
filters, counts and CSV export.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from ...auth.models import Organisation, User
from ...courses.models import AMSTERDAM, Course
from ...db_types import utcnow
from ...exports import csv_bytes
from ...extensions import db
from .models import OPEN_STATUSES, STATUS_LABELS, InhouseBooking, InhouseStatus
from .proposal_models import InhouseProposal


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
            # The list shows each booking's course, requester, current proposal and whether an
            # addendum waits: those in one query each, not one per booking; what the list does
            # not show loads on use.
            .options(
                joinedload(InhouseBooking.course).lazyload(Course.phase_rows),
                lazyload(InhouseBooking.date_options),
                selectinload(InhouseBooking.requested_by).lazyload(User.role_rows),
                selectinload(InhouseBooking.proposals).options(
                    lazyload(InhouseProposal.sessions), lazyload(InhouseProposal.lines)
                ),
                selectinload(InhouseBooking.addenda),
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
    waiting = next((a for a in booking.addenda if a.is_open), None)
    if waiting is not None:
        return _("Geef uw akkoord op aanvulling %(number)s (extra sessie)", number=waiting.number)
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


def pipeline_csv(rows: Sequence[PipelineRow]) -> bytes:
    headers = [
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
    lines = []
    for row in rows:
        b = row.booking
        proposal = b.accepted_proposal or b.current_proposal
        lines.append(
            [
                b.reference,
                b.created_at.astimezone(AMSTERDAM).strftime("%Y-%m-%d"),
                b.organisation.name,
                b.course.title,
                b.status_label,
                row.age_days,
                row.days_in_status,
                row.next_action,
                b.contact_name,
                b.contact_email,
                b.expected_participants,
                row.first_session.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M")
                if row.first_session
                else "",
                b.po_number or "",
                b.invoice.number if b.invoice else "",
                str(proposal.totals[0]) if proposal else "",
            ]
        )
    return csv_bytes(headers, lines)
