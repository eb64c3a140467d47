"""Demo enrollments: a confirmed participant with an open invoice, one who paid by bank
transfer, and a council clerk who enrolled three colleagues (one seat still to be named), so the
account panel, the named seats and the admin pages show something real.

Runs after the catalog's seeder; does nothing when there are no open editions yet. Idempotent:
a person who already has an enrollment or entry for the edition is left as they are.
"""

from sqlalchemy import select

from ...auth.models import User
from ...courses.models import Edition, EditionStatus
from ...db_types import utcnow
from ...extensions import db
from ..billing.invoices import PaymentMethod
from . import enrolling, named_seats, policy, queries, seats
from .models import PaymentStatus

DEMO_BILLING = {
    "begeleider@example.nl": policy.Billing(
        name="Lotte Jansen", street="Oudegracht 112", postcode="3511 AX", city="Utrecht"
    ),
    "griffie@example.nl": policy.Billing(
        name="Gerda Griffier",
        organisation="Gemeente Utrecht",
        street="Stadsplateau 1",
        postcode="3521 AZ",
        city="Utrecht",
        reference="BB-2026-07",
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
    _seed_group(first)
    db.session.flush()


DEMO_COLLEAGUES = [
    ("Sanne de Wit", "sanne.dewit@utrecht.example.nl"),
    ("Yusuf Kaya", "yusuf.kaya@utrecht.example.nl"),
]


def _seed_group(edition: Edition) -> None:
    """The clerk of Utrecht enrolled three colleagues, not herself; the third seat she names
    later from her account."""
    clerk = User.by_email("griffie@example.nl")
    if clerk is None or queries.active_enrollment(edition, clerk) is not None:
        return
    if seats.seats_free(edition) < 3:
        return
    holders = [named_seats.seat_holder(name, email) for name, email in DEMO_COLLEAGUES]
    enrolling.enroll(
        edition, clerk, DEMO_BILLING[clerk.email], "invoice", by=clerk, holders=holders, seats=3
    )
