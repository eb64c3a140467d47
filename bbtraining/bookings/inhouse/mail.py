"""What an inhouse booking sends: mail to the client side (contact person and requester) and to
staff.
"""

from collections.abc import Iterable, Sequence

from flask import current_app

from ...auth.models import User
from ...notifications.services import Attachment, queue_mail
from ...urls import public_url
from .models import InhouseBooking


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
