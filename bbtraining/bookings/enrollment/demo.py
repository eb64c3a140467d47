"""Demo enrollments: a confirmed participant with an open invoice and one who paid by bank
transfer, so the account panel and the admin pages show something real.

Runs after the catalog's seeder; does nothing when there are no open editions yet. Idempotent:
a person who already has an enrollment or entry for the edition is left as they are.
"""

from sqlalchemy import select

from ...auth.models import User
from ...courses.models import Edition, EditionStatus
from ...db_types import utcnow
from ...extensions import db
from ..billing.invoices import PaymentMethod
from . import enrolling, policy, queries, seats
from .models import PaymentStatus

DEMO_BILLING = {
    "begeleider@example.nl": policy.Billing(
        name="Lotte Jansen", street="Oudegracht 112", postcode="3511 AX", city="Utrecht"
    ),
    "trainer2@example.nl": policy.Billing(
        name="Amira El Idrissi",
        organisation="Bureau Samenspraak",
        street="Keizersgracht 8",
        postcode="1015 CN",
        city="Amsterdam",
        vat_number="NL812345678B01",
        reference="INK-2026-041",
    ),
}


def _open_editions() -> list[Edition]:
    editions = db.session.scalars(
        select(Edition).where(Edition.status == EditionStatus.SCHEDULED).order_by(Edition.id)
    ).all()
    now = utcnow()
    return [e for e in editions if e.unit_price is not None and e.enrollment_open(now)]


def seed() -> None:
    editions = _open_editions()
    if not editions:
        return
    lotte = User.by_email("begeleider@example.nl")
    amira = User.by_email("trainer2@example.nl")
    if lotte is None or amira is None:
        return
    first = editions[0]
    # Lotte: enrolled in the first open edition, invoice still to pay.
    if queries.active_enrollment(first, lotte) is None and seats.seats_free(first) > 0:
        enrolling.enroll(first, lotte, DEMO_BILLING[lotte.email], "invoice", by=lotte)
    # Amira: enrolled in the next edition and paid by bank transfer.
    second = editions[1] if len(editions) > 1 else None
    if (
        second is not None
        and queries.active_enrollment(second, amira) is None
        and seats.seats_free(second) > 0
    ):
        enrollment = enrolling.enroll(second, amira, DEMO_BILLING[amira.email], "invoice", by=amira)
        if enrollment.payment_status == PaymentStatus.DUE:
            enrollment.invoice.mark_paid(PaymentMethod.BANK_TRANSFER)
    db.session.flush()
