"""Demo accounts, one per role, printed by `make run`."""

from .. import vat
from ..db_types import utcnow
from ..extensions import db
from .models import OrganisationKind, Role, User
from .services import find_or_create_organisation

DEMO_PASSWORD = "burgerberaad-demo"  # noqa: S105 - demo data only, printed on purpose
DEMO_ACCOUNTS = (
    ("beheer@example.nl", "Sanne de Vries", ("admin",), None),
    ("trainer@example.nl", "Joost Bakker", ("trainer",), None),
    ("trainer2@example.nl", "Amira El Idrissi", ("trainer", "facilitator"), None),
    ("begeleider@example.nl", "Lotte Jansen", ("facilitator",), None),
    ("griffie@example.nl", "Pieter van Dijk", ("client",), ("Gemeente Utrecht", "gemeente")),
    (
        "projectleider@example.nl",
        "Fatima Ouali",
        ("client",),
        ("Provincie Gelderland", "provincie"),
    ),
    ("gent@example.be", "Wout Peeters", ("client",), ("Participatiehuis Gent vzw", "other")),
)
# A business in another member state: its enrollments and proposals are reverse-charge.
DEMO_EU_ORGANISATION = ("Participatiehuis Gent vzw", "BE", "BE0412345614")


def seed() -> None:
    for email, name, roles, org in DEMO_ACCOUNTS:
        user = User.by_email(email)
        if user is None:
            user = User(email=email, name=name)
            user.set_password(DEMO_PASSWORD)
            user.mark_email_verified()
            db.session.add(user)
        for role in roles:
            user.add_role(Role(role))
        if org and user.organisation is None:
            organisation, _created = find_or_create_organisation(org[0], OrganisationKind(org[1]))
            user.organisation = organisation
    db.session.flush()
    _seed_eu_organisation()


def _seed_eu_organisation() -> None:
    name, country, number = DEMO_EU_ORGANISATION
    organisation, _created = find_or_create_organisation(name, OrganisationKind.OTHER)
    organisation.country, organisation.vat_number = country, number
    # The demo runs offline and the number is made up (its check digits are right, VIES does not
    # know it): recorded as VIES confirmed it, so the reverse-charge prices and invoices show.
    if db.session.get(vat.VatCheck, number) is None:
        now = utcnow()
        db.session.add(
            vat.VatCheck(
                number=number,
                status=vat.VatStatus.VALID,
                checked_at=now,
                attempted_at=now,
                name=name,
            )
        )
    db.session.flush()
