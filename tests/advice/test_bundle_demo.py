"""The demo strippenkaart: Gemeente Utrecht's half-used ten-hour bundle, logged by the demo
advisor, seeded once however often the seeders run."""

from sqlalchemy import func, select

from bbtraining.advice import bundle_demo
from bbtraining.advice.bundle_models import AdviceBundle, AdviceBundleEntry
from bbtraining.auth import demo as auth_demo
from bbtraining.cli import DEMO_SEEDERS
from bbtraining.extensions import db


def test_the_demo_bundle_is_half_used_by_the_demo_advisor(make_user):
    auth_demo.seed()
    db.session.commit()
    advisor = make_user("advisor", email="adviseur@example.nl", name="Demo Adviseur")
    make_user("advisor", email="ander@example.nl")
    for _ in range(2):
        bundle_demo.seed()
        db.session.commit()
    bundle = db.session.scalars(select(AdviceBundle)).one()
    assert bundle.organisation.name == "Gemeente Utrecht"
    assert bundle.minutes_bought == 600 and bundle.minutes_used == 300
    assert bundle.invoice is not None and not bundle.expired(bundle_demo.bundles.today())
    advisors = set(db.session.scalars(select(AdviceBundleEntry.advisor_id)))
    assert advisors == {advisor.id}
    assert db.session.scalar(select(func.sum(AdviceBundleEntry.minutes))) == 300


def test_without_any_advisor_the_bundle_is_sold_but_nothing_logged():
    auth_demo.seed()
    db.session.commit()
    bundle_demo.seed()
    db.session.commit()
    bundle = db.session.scalars(select(AdviceBundle)).one()
    assert bundle.minutes_used == 0 and bundle.entries == []


def test_the_bundle_demo_runs_last():
    assert DEMO_SEEDERS[-1] == "bbtraining.advice.bundle_demo"
