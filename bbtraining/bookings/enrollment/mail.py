"""What enrollment mails to participants and to people on the waiting list."""

from __future__ import annotations

from ...notifications.services import queue_mail
from ...urls import public_url
from .models import (
    Enrollment,
)
from .policy import offered_free_cancellation


# -- mail -----------------------------------------------------------------------------------------
def long_date(value) -> str:
    from flask_babel import format_date

    return format_date(value, "long") if value else ""


def mail_enrollment(enrollment: Enrollment, template: str, subject, **context) -> None:
    edition = enrollment.edition
    queue_mail(
        to=enrollment.user,
        subject=subject,
        template=f"bookings/{template}",
        context={
            "enrollment": enrollment,
            "edition": edition,
            "course": edition.course,
            "sessions": edition.active_sessions,
            "detail_url": public_url("bookings.enrollment_detail", enrollment_id=enrollment.id),
            "invoice_url": public_url("bookings.invoice_download", invoice_id=enrollment.invoice_id)
            if enrollment.invoice_id
            else None,
            "credit_url": public_url(
                "bookings.invoice_download", invoice_id=enrollment.credit_invoice_id
            )
            if enrollment.credit_invoice_id
            else None,
            "enroll_url": public_url("bookings.enroll", edition_id=edition.id),
            "cancel_deadline": offered_free_cancellation(edition),
            **context,
        },
    )
