"""Demo enrollments: every taken seat in the demo is a participant who enrolled.

Lotte has an open invoice (billing's demo makes it overdue), Amira paid by
bank transfer, a council clerk enrolled three colleagues (one seat still to be named), and demo
participants fill each catalog edition to the number the catalog's demo gives
(`courses.demo.EDITIONS`), so "14 van 16" means fourteen names on the edition's list.

Runs after the catalog's seeder; does nothing when there are no open editions yet. Idempotent:
a person who already has an enrollment for the edition is left as they are, and an edition is
filled only up to its number.
"""

from sqlalchemy import select

from ...auth.demo import DEMO_PASSWORD
from ...auth.models import Role, User
from ...courses import demo as catalog_demo
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

# Participants who fill the editions (all with the demo password, facilitator role).
DEMO_PARTICIPANTS = (
    ("Bram Hoekstra", "Leeuwarden"),
    ("Yasmina Bouzid", "Rotterdam"),
    ("Joris van Leeuwen", "Gouda"),
    ("Ingrid Smit", "Deventer"),
    ("Mehmet Yilmaz", "Arnhem"),
    ("Evelien de Graaf", "Haarlem"),
    ("Koen Brouwer", "Tilburg"),
    ("Sophie Vermeulen", "Middelburg"),
    ("Thijs Mulder", "Zwolle"),
    ("Anouk Kramer", "Groningen"),
    ("Rachid Amrani", "Utrecht"),
    ("Marloes Willems", "Maastricht"),
    ("Wouter Pronk", "Alkmaar"),
    ("Dewi Santoso", "Delft"),
)


def participant_email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@example.nl"


def _open_editions() -> list[Edition]:
    editions = db.session.scalars(
        select(Edition).where(Edition.status == EditionStatus.SCHEDULED).order_by(Edition.id)
    ).all()
    now = utcnow()
    return [e for e in editions if e.unit_price is not None and e.enrollment_open(now)]


def _participants() -> list[User]:
    people = []
    for name, _city in DEMO_PARTICIPANTS:
        user = User.by_email(participant_email(name))
        if user is None:
            user = User(email=participant_email(name), name=name)
            user.set_password(DEMO_PASSWORD)
            user.mark_email_verified()
            user.add_role(Role.FACILITATOR)
            db.session.add(user)
        people.append(user)
    db.session.flush()
    return people


def _billing(user: User) -> policy.Billing:
    city = dict(DEMO_PARTICIPANTS).get(user.name, "Utrecht")
    return policy.Billing(name=user.name, street="Stationsplein 1", postcode="1000 AA", city=city)


def _fill(edition: Edition, target: int, people: list[User]) -> None:
    for user in people:
        if edition.seats_taken >= min(target, edition.capacity):
            return
        if queries.active_enrollment(edition, user) is None and seats.seats_free(edition) > 0:
            enrolling.enroll(edition, user, _billing(user), "invoice", by=user)
            db.session.refresh(edition)


def seed() -> None:
    editions = _open_editions()
    if not editions:
        return
    lotte = User.by_email("begeleider@example.nl")
    amira = User.by_email("trainer2@example.nl")
    if lotte is None or amira is None:
        return
    first = editions[0]
    # Lotte: enrolled in the first open edition, invoice still to pay (billing's demo makes it
    # overdue).
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
    # The catalog's editions, filled by participants up to the catalog demo's number.
    targets = {place: taken for _s, _w, _d, _o, place, _c, taken, _t in catalog_demo.EDITIONS}
    people = None
    for edition in editions:
        target = targets.get(edition.location)
        if target:
            people = people if people is not None else _participants()
            _fill(edition, target, people)
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
