"""Cancelling an inhouse booking: the client until they accepted, staff until it was given; its
sessions are cancelled with it.
"""

from ...auth.models import User
from ...errors import DomainError, NotAllowed
from ...i18n import lazy_gettext as _l
from .mail import mail_client_side, mail_staff
from .models import CLIENT_CANCELLABLE, MAX_TEXT, InhouseBooking, InhouseStatus, ProposalStatus
from .proposal_models import AddendumStatus


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
    draft = booking.draft_proposal  # a revision staff were writing will not be sent
    if draft is not None:
        booking.proposals.remove(draft)
    for addendum in booking.addenda:  # an extra session's price is no longer asked for
        if addendum.is_open:
            addendum.decide(AddendumStatus.WITHDRAWN, by=by)
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
