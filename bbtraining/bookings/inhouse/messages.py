"""Messages between the client and staff on a booking's page, each mailed to the other side."""

from ... import audit
from ...auth.models import User
from ...errors import DomainError, NotAllowed
from ...extensions import db
from ...i18n import lazy_gettext as _l
from .mail import mail_client_side, mail_staff
from .models import MAX_TEXT, InhouseBooking, InhouseMessage


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
