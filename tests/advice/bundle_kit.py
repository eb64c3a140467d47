"""The people and bundles the strippenkaart tests share (h17c): two councils with a client each,
a staff member and an advisor; bundles are sold and time logged through the services."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from bbtraining.advice import bundles
from bbtraining.advice.bundle_models import AdviceBundle, AdviceBundleEntry
from bbtraining.audit import AuditEntry
from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage


class BundleKit:
    def __init__(self, make_user, make_organisation):
        self.make_user = make_user
        self.org = make_organisation("Gemeente Zeist")
        self.other_org = make_organisation("Gemeente Baarn")
        self.admin = make_user("admin", email="staf@example.nl", name="Sanne Staf")
        self.advisor = make_user("advisor", email="adviseur@example.nl", name="Anna Adviseur")
        self.advisor2 = make_user("advisor", "trainer", email="bram@example.nl", name="Bram Berg")
        self.client = make_user(
            "client", organisation=self.org, email="griffie@zeist.example", name="Gea Griffier"
        )
        self.other_client = make_user(
            "client", organisation=self.other_org, email="griffie@baarn.example"
        )

    def bundle(
        self,
        *,
        hours=10,
        price="1500.00",
        org=None,
        valid_from: date | None = None,
        valid_until: date | None = None,
    ) -> AdviceBundle:
        bundle = bundles.sell_bundle(
            organisation=org or self.org,
            hours=hours,
            price=Decimal(price),
            by=self.admin,
            valid_from=valid_from or bundles.today() - timedelta(days=30),
            valid_until=valid_until,
        )
        db.session.commit()
        return bundle

    def log(self, bundle, minutes=60, *, day=None, topic="Opzet van de loting", advisor=None):
        entry = bundles.log_time(
            bundle,
            day=day or bundles.today(),
            minutes=minutes,
            topic=topic,
            advisor=advisor or self.advisor,
            by=advisor or self.advisor,
        )
        db.session.commit()
        return entry


def counts() -> dict[str, int]:
    """What a refused change must leave as it was."""
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (AdviceBundle, AdviceBundleEntry, Invoice, AuditEntry, OutboxMessage)
    } | {"minutes_used": db.session.scalar(select(func.sum(AdviceBundle.minutes_used))) or 0}
