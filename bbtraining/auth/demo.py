"""Demo accounts, one per role, printed by `make run`."""

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
)


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
