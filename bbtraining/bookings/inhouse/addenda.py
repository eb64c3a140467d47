"""Addenda: a session staff add after the client accepted the proposal has a price the client
did not agree to yet. It comes with an addendum the client accepts in the portal, like a
proposal; or staff mark it as included (no extra charge) with a reason.

Invoicing: a booking has one invoice, made after delivery, and no session can be added after
delivery; so an accepted addendum is a line on that invoice, and the invoice is not made while
an addendum still waits for the client.
"""

from datetime import datetime
from decimal import Decimal

from flask_babel import format_datetime
from flask_babel import gettext as _

from ...auth.models import User
from ...errors import DomainError, NotAllowed
from ...i18n import lazy_gettext as _l
from . import delivery
from .drafts import LineDraft
from .mail import mail_client_side, mail_staff
from .models import MAX_TEXT, InhouseBooking
from .proposal_models import AddendumStatus, InhouseAddendum


def _reason(reason: str | None, field: str = "included_reason") -> str:
    reason = (reason or "").strip()
    if len(reason) > MAX_TEXT:
        raise DomainError(_l("Houd uw tekst korter dan 5000 tekens."), field=field)
    return reason


def add_priced_session(
    booking: InhouseBooking,
    *,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    trainer: User | None,
    location: str,
    online_url: str | None = None,
    note: str = "",
    price: Decimal | None,
    included_reason: str = "",
) -> InhouseAddendum:
    """Add a session (everyone invited) with its addendum: a price the client is asked to accept,
    or, with a reason, included at no extra charge."""
    reason = _reason(included_reason)
    if not reason:
        if price is None:
            raise DomainError(
                _l(
                    "Vul de meerprijs in, of geef een reden om de sessie zonder meerprijs te geven."
                ),
                field="price",
            )
        if price <= 0:
            raise DomainError(
                _l(
                    "De meerprijs is groter dan nul; geef anders een reden om de sessie zonder "
                    "meerprijs te geven."
                ),
                field="price",
            )
    session = delivery.add_session(
        booking,
        by=by,
        starts_at=starts_at,
        ends_at=ends_at,
        trainer=trainer,
        location=location,
        online_url=online_url,
        note=note,
    )
    proposal = booking.accepted_proposal
    addendum = InhouseAddendum(
        number=len(booking.addenda) + 1,
        status=AddendumStatus.OPEN,
        session=session,
        description=_("Extra sessie %(when)s", when=format_datetime(session.starts_at, "short")),
        quantity=Decimal(1),
        unit_price=Decimal(0) if reason else price,
        vat_rate=proposal.vat_rate if proposal else booking.course.vat_rate,
        created_by_id=by.id,
    )
    booking.addenda.append(addendum)
    if reason:
        _include(booking, addendum, by=by, reason=reason)
        return addendum
    booking.record_event("addendum_sent", by=by, note=addendum.summary)
    mail_client_side(
        booking,
        subject=_l("Aanvulling op %(ref)s: extra sessie, akkoord gevraagd", ref=booking.reference),
        template="bookings/inhouse_addendum",
        context={"addendum": addendum},
    )
    return addendum


def _open_addendum(booking: InhouseBooking, number: int) -> InhouseAddendum:
    addendum = next((a for a in booking.addenda if a.number == number), None)
    if addendum is None:
        raise DomainError(_l("Deze aanvulling hoort niet bij deze boeking."))
    return addendum


def accept_addendum(booking: InhouseBooking, number: int, *, by: User) -> InhouseAddendum:
    """The client agrees to the extra session's price; it goes on the booking's invoice."""
    if not booking.is_client_of(by):
        raise NotAllowed(_l("Alleen de opdrachtgever kan deze aanvulling accepteren."))
    addendum = _open_addendum(booking, number)
    addendum.decide(AddendumStatus.ACCEPTED, by=by)
    booking.record_event("addendum_accepted", by=by, note=addendum.summary)
    mail_staff(
        booking,
        subject=_l(
            "Aanvulling %(number)s op %(ref)s geaccepteerd door %(org)s",
            number=addendum.number,
            ref=booking.reference,
            org=booking.organisation.name,
        ),
        template="bookings/inhouse_addendum_accepted_staff",
        context={"addendum": addendum},
    )
    return addendum


def include_addendum(
    booking: InhouseBooking, number: int, *, by: User, reason: str
) -> InhouseAddendum:
    """Staff decide the extra session is not charged; the reason is on the timeline and in the
    audit log."""
    addendum = _open_addendum(booking, number)
    reason = _reason(reason, field="reason")
    if not reason:
        raise DomainError(
            _l("Geef een reden om de sessie zonder meerprijs te geven."), field="reason"
        )
    _include(booking, addendum, by=by, reason=reason)
    return addendum


def _include(booking: InhouseBooking, addendum: InhouseAddendum, *, by: User, reason: str) -> None:
    addendum.decide(AddendumStatus.INCLUDED, by=by, reason=reason)
    booking.record_event(
        "addendum_included",
        by=by,
        note=_(
            "Aanvulling %(number)s: %(description)s. %(reason)s",
            number=addendum.number,
            description=addendum.description,
            reason=reason,
        ),
    )


def open_addenda(booking: InhouseBooking) -> list[InhouseAddendum]:
    return [a for a in booking.addenda if a.is_open]


def invoice_lines(booking: InhouseBooking) -> list[LineDraft]:
    """The accepted addenda as invoice lines (an included one costs nothing, so it has none)."""
    return [
        LineDraft("session-fee", a.description, a.quantity, a.unit_price)
        for a in booking.addenda
        if a.status == AddendumStatus.ACCEPTED
    ]
