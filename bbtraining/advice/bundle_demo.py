"""Demo strippenkaart: Gemeente Utrecht has a ten-hour advies-strippenkaart, half used, with
entries by the demo advisor.

Runs after the accounts seeder and after the advisors' demo (bbtraining.advice.demo, which
creates adviseur@example.nl); without that advisor any advisor is used, and without any advisor
the bundle is sold but no time is logged (this seeder creates no advisor accounts). Safe to run
again: an organisation that has a bundle gets no second one.
"""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from ..auth.models import Organisation, Role, User, UserRole
from ..extensions import db
from . import bundles
from .bundle_models import AdviceBundle

DEMO_ORGANISATION = "Gemeente Utrecht"
DEMO_ADVISOR_EMAIL = "adviseur@example.nl"
DEMO_STAFF_EMAIL = "beheer@example.nl"
# (days ago, minutes, topic): five of the ten hours.
DEMO_ENTRIES = (
    (52, 90, "Kennismaking en plan van aanpak voor het burgerberaad"),
    (40, 60, "Opzet van de loting en de gestratificeerde steekproef"),
    (27, 45, "Uitnodigingsbrief en werving van deelnemers"),
    (15, 60, "Vraagstelling en opdracht van de gemeenteraad"),
    (6, 45, "Voorbereiding van de eerste bijeenkomst"),
)


def _advisor() -> User | None:
    advisor = User.by_email(DEMO_ADVISOR_EMAIL)
    if advisor is not None and advisor.is_advisor:
        return advisor
    return db.session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADVISOR)
        .order_by(User.id)
    ).first()


def seed() -> None:
    organisation = db.session.scalars(
        select(Organisation).where(Organisation.name == DEMO_ORGANISATION)
    ).first()
    staff = User.by_email(DEMO_STAFF_EMAIL)
    if organisation is None or staff is None:
        return
    exists = db.session.scalar(
        select(AdviceBundle.id).where(AdviceBundle.organisation_id == organisation.id).limit(1)
    )
    if exists is not None:
        return
    today = bundles.today()
    bundle = bundles.sell_bundle(
        organisation=organisation,
        hours=10,
        price=Decimal("1450.00"),
        by=staff,
        valid_from=today - timedelta(days=60),
        reference="PO-2026-0412",
    )
    advisor = _advisor()
    if advisor is None:
        return
    for days_ago, minutes, topic in DEMO_ENTRIES:
        bundles.log_time(
            bundle,
            day=today - timedelta(days=days_ago),
            minutes=minutes,
            topic=topic,
            advisor=advisor,
            by=advisor,
        )
    db.session.commit()
