"""The advies-strippenkaart's rules: selling (invoiced), logging in quarters, the balance that
never goes below zero (also under concurrent logging on PostgreSQL), overruns and corrections."""

import threading
import traceback
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bbtraining.advice import bundles
from bbtraining.advice.bundle_models import AdviceBundle, AdviceBundleEntry
from bbtraining.audit import AuditEntry
from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.advice.bundle_kit import BundleKit, counts
from tests.conftest import outbox_to


@pytest.fixture
def kit(make_user, make_organisation):
    return BundleKit(make_user, make_organisation)


def _refused(call, message: str):
    before = counts()
    with pytest.raises(DomainError) as refused:
        call()
    db.session.rollback()
    assert message in str(refused.value)
    assert counts() == before
    return refused.value


# -- selling ----------------------------------------------------------------------------------
def test_selling_a_bundle_invoices_it_and_mails_the_clients(kit):
    bundle = kit.bundle(hours=10, price="1500.00", valid_from=bundles.today())
    assert bundle.minutes_bought == 600 and bundle.balance_minutes == 600
    assert bundle.valid_until == bundles.add_months(bundles.today(), 12) - timedelta(days=1)
    invoice = bundle.invoice
    assert invoice.subject_type == "advice_bundle" and invoice.subject_id == bundle.id
    assert invoice.buyer_organisation_id == kit.org.id and invoice.buyer_name == "Gemeente Zeist"
    assert invoice.subtotal == Decimal("1500.00") and invoice.total == Decimal("1815.00")
    assert "10 uur" in invoice.lines[0].description
    assert invoice.can_view(kit.client) and not invoice.can_view(kit.other_client)
    (mail,) = outbox_to(kit.client.email)
    assert invoice.number in mail.subject and "10 uur" in mail.text_body
    assert mail.attachments[0]["filename"] == f"factuur-{invoice.number}.pdf"
    assert outbox_to(kit.other_client.email) == []
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"advice_bundle.sold", "invoice.issued"} <= actions


def test_default_validity_is_twelve_months_to_the_day_before():
    assert bundles.default_valid_until(bundles.date(2026, 12, 5)) == bundles.date(2027, 12, 4)
    assert bundles.default_valid_until(bundles.date(2028, 2, 29)) == bundles.date(2029, 2, 27)


@pytest.mark.parametrize(
    ("hours", "price", "until_days", "message"),
    [
        (0, "100", None, "meer dan nul"),
        (Decimal("1.1"), "100", None, "in kwartieren"),
        (-2, "100", None, "meer dan nul"),
        (10, "-5", None, "niet negatief"),
        (10, "veel", None, "geldig bedrag"),
        (10, "100", -1, "na de begindatum"),
        (501, "100", None, "hoogstens 500 uur"),
    ],
)
def test_selling_refuses_bad_input_in_dutch_and_changes_nothing(
    kit, hours, price, until_days, message
):
    start = bundles.today()
    _refused(
        lambda: bundles.sell_bundle(
            organisation=kit.org,
            hours=hours,
            price=price,
            by=kit.admin,
            valid_from=start,
            valid_until=start + timedelta(days=until_days) if until_days else None,
        ),
        message,
    )


# -- logging ----------------------------------------------------------------------------------
def test_logging_time_lowers_the_balance_and_is_audited(kit):
    bundle = kit.bundle()
    entry = kit.log(bundle, 90, topic="Loting en uitnodigingsbrief")
    db.session.expire_all()
    bundle = db.session.get(AdviceBundle, bundle.id)
    assert bundle.minutes_used == 90 and bundle.balance_minutes == 510
    assert entry.advisor_id == kit.advisor.id and entry.created_by_id == kit.advisor.id
    audit = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "advice_bundle.time_logged")
    )
    assert audit.object_id == bundle.id and audit.actor_id == kit.advisor.id
    assert audit.data["minutes"] == 90 and audit.data["balance"] == 510


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        (20, "per kwartier"),
        (50, "per kwartier"),
        (0, "minstens een kwartier"),
        (None, "minstens een kwartier"),
        (-15, "minstens een kwartier"),
        (13 * 60, "hoogstens 12 uur"),
    ],
)
def test_minutes_must_be_whole_quarters(kit, minutes, message):
    bundle = kit.bundle()
    _refused(lambda: kit.log(bundle, minutes), message)


def test_more_than_the_balance_is_refused_without_an_overrun(kit):
    bundle = kit.bundle(hours=2)
    kit.log(bundle, 90)
    error = _refused(lambda: kit.log(bundle, 45), "Er staat nog 0,5 uur op de strippenkaart")
    assert error.field == "minutes"
    kit.log(bundle, 30)  # exactly what is left is fine
    assert db.session.get(AdviceBundle, bundle.id).balance_minutes == 0
    _refused(lambda: kit.log(bundle, 15), "Er staat nog 0 uur op de strippenkaart")


def test_an_expired_bundle_takes_no_time(kit):
    start = bundles.today() - timedelta(days=400)
    bundle = kit.bundle(valid_from=start)
    assert bundle.expired(bundles.today())
    _refused(
        lambda: kit.log(bundle, 60, day=bundle.valid_until),
        f"verlopen op {bundle.valid_until:%d-%m-%Y}",
    )


def test_the_day_must_lie_in_the_validity_and_not_ahead(kit):
    bundle = kit.bundle(valid_from=bundles.today() - timedelta(days=3))
    _refused(
        lambda: kit.log(bundle, 60, day=bundles.today() - timedelta(days=4)),
        "buiten de geldigheid",
    )
    _refused(lambda: kit.log(bundle, 60, day=bundles.today() + timedelta(days=1)), "niet vooruit")


def test_topic_advisor_and_state_are_checked(kit):
    bundle = kit.bundle()
    _refused(lambda: kit.log(bundle, 60, topic="   "), "onderwerp")
    _refused(lambda: kit.log(bundle, 60, topic="x" * 201), "hoogstens 200 tekens")
    _refused(lambda: kit.log(bundle, 60, advisor=kit.client), "Kies de adviseur")
    bundles.close_bundle(bundle, by=kit.admin)
    db.session.commit()
    _refused(lambda: kit.log(bundle, 60), "gesloten")


def test_the_database_refuses_a_negative_balance_without_overrun(kit):
    bundle = kit.bundle(hours=1)
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(AdviceBundle).where(AdviceBundle.id == bundle.id).values(minutes_used=75)
        )
        db.session.flush()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.add(
            AdviceBundleEntry(bundle_id=bundle.id, day=bundles.today(), minutes=20, topic="x")
        )
        db.session.flush()
    db.session.rollback()


# -- overrun ----------------------------------------------------------------------------------
def test_an_allowed_overrun_is_logged_and_invoiced_once(kit):
    bundle = kit.bundle(hours=2, price="300.00")
    kit.log(bundle, 120)
    bundles.set_overrun(bundle, True, by=kit.admin)
    db.session.commit()
    kit.log(bundle, 45)
    bundle = db.session.get(AdviceBundle, bundle.id)
    assert bundle.balance_minutes == -45 and bundle.overrun_to_invoice == 45
    invoice = bundles.invoice_overrun(bundle, by=kit.admin)
    db.session.commit()
    assert invoice.subject_type == "advice_overrun" and invoice.subject_id == bundle.id
    (line,) = invoice.lines
    assert line.quantity == Decimal("0.75") and line.unit_price == Decimal("150.00")
    assert invoice.subtotal == Decimal("112.50") and invoice.total == Decimal("136.13")
    assert bundle.minutes_overrun_invoiced == 45 and bundle.overrun_to_invoice == 0
    assert any(invoice.number in m.subject for m in outbox_to(kit.client.email))
    assert bundles.overrun_invoices(bundle) == [invoice]
    _refused(lambda: bundles.invoice_overrun(bundle, by=kit.admin), "geen overschrijding")
    # Once hours beyond the bundle were used, the overrun cannot be switched off.
    _refused(lambda: bundles.set_overrun(bundle, False, by=kit.admin), "overschrijding kan niet")
    # Invoiced overrun time is not corrected away on the ledger (a credit invoice does that).
    last = db.session.scalars(
        select(AdviceBundleEntry).order_by(AdviceBundleEntry.id.desc())
    ).first()
    _refused(lambda: bundles.correct_entry(last, by=kit.admin, reason="fout"), "creditfactuur")


def test_allowing_and_stopping_an_overrun_is_audited(kit):
    bundle = kit.bundle(hours=1)
    bundles.set_overrun(bundle, True, by=kit.admin)
    bundles.set_overrun(bundle, False, by=kit.admin)
    db.session.commit()
    actions = list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("advice_bundle.overrun%"))
            .order_by(AuditEntry.id)
        )
    )
    assert actions == ["advice_bundle.overrun_allowed", "advice_bundle.overrun_stopped"]
    _refused(lambda: bundles.invoice_overrun(bundle, by=kit.admin), "geen overschrijding")


# -- corrections ------------------------------------------------------------------------------
def test_a_correction_reverses_an_entry_once_and_keeps_both(kit):
    bundle = kit.bundle(hours=2)
    entry = kit.log(bundle, 60)
    correction = bundles.correct_entry(entry, by=kit.admin, reason="Dubbel geboekt")
    db.session.commit()
    assert correction.minutes == -60 and correction.corrects_id == entry.id
    assert correction.topic.startswith("Correctie: ") and correction.note == "Dubbel geboekt"
    bundle = db.session.get(AdviceBundle, bundle.id)
    assert bundle.minutes_used == 0 and len(bundle.entries) == 2
    _refused(
        lambda: bundles.correct_entry(entry, by=kit.admin, reason="nog eens"), "al gecorrigeerd"
    )
    _refused(
        lambda: bundles.correct_entry(correction, by=kit.admin, reason="terug"),
        "niet zelf worden gecorrigeerd",
    )
    other = kit.log(bundle, 30)
    _refused(lambda: bundles.correct_entry(other, by=kit.admin, reason=" "), "reden")


def test_hours_per_advisor_per_month_count_net_time(kit):
    bundle = kit.bundle(valid_from=bundles.today() - timedelta(days=60))
    day = bundles.today()
    kit.log(bundle, 60, day=day)
    wrong = kit.log(bundle, 30, day=day)
    kit.log(bundle, 45, day=day, advisor=kit.advisor2)
    bundles.correct_entry(wrong, by=kit.admin, reason="verkeerde kaart")
    db.session.commit()
    rows = {(r.advisor, r.month): r for r in bundles.hours_per_advisor_per_month(day.year)}
    assert rows[("Anna Adviseur", day.month)].minutes == 60
    assert rows[("Anna Adviseur", day.month)].entries == 2
    assert rows[("Bram Berg", day.month)].minutes == 45


# -- concurrency ------------------------------------------------------------------------------
def test_concurrent_logging_never_takes_the_ledger_below_zero(app, kit):
    """Twelve advisors log two hours each at the same moment on a ten-hour bundle: five fit,
    seven are refused, and the ledger adds up to exactly the hours bought."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the row lock race runs on PostgreSQL (SQLite serialises writers anyway)")
    bundle = kit.bundle(hours=10)
    people = 12
    advisors = [kit.make_user("advisor") for _ in range(people)]
    ids = [(a.id, bundle.id) for a in advisors]
    start = threading.Barrier(people)
    results: list[str | None] = [None] * people

    def attempt(i: int) -> None:
        with app.app_context():
            try:
                from bbtraining.auth.models import User

                advisor = db.session.get(User, ids[i][0])
                target = db.session.get(AdviceBundle, ids[i][1])
                start.wait()
                bundles.log_time(
                    target,
                    day=bundles.today(),
                    minutes=120,
                    topic=f"Advies {i}",
                    advisor=advisor,
                    by=advisor,
                )
                db.session.commit()
                results[i] = "ok"
            except DomainError as exc:
                db.session.rollback()
                results[i] = f"refused: {exc}"
            except Exception:  # reported in the assertion below
                db.session.rollback()
                results[i] = traceback.format_exc()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ok = [r for r in results if r == "ok"]
    refused = [r for r in results if r and r.startswith("refused: Er staat nog 0 uur")]
    assert len(ok) == 5 and len(refused) == 7, results
    db.session.expire_all()
    fresh = db.session.get(AdviceBundle, bundle.id)
    ledger = db.session.scalar(
        select(func.sum(AdviceBundleEntry.minutes)).where(AdviceBundleEntry.bundle_id == bundle.id)
    )
    assert fresh.minutes_used == ledger == 600 and fresh.balance_minutes == 0
    assert db.session.scalar(select(func.count(Invoice.id))) == 1
