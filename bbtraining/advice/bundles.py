"""The rules of the advies-strippenkaart: sell a bundle (invoiced through the invoices of
bookings/billing), log advice time in quarters of an hour, correct an entry, allow an overrun and
invoice it, close a bundle. Every change is audited; services flush, never commit.

Race safety: every change of a bundle's ledger first takes the bundle's row lock
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers already), then
reads the fresh balance, then writes the entry and the new `minutes_used` in one transaction. Two
advisors logging the last hour at the same moment therefore queue; the second sees the first's
entry and is refused. The CHECK `balance_not_negative` is the backstop in the database.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask_babel import format_decimal
from sqlalchemy import extract, func, select
from sqlalchemy.orm import joinedload, selectinload

from .. import audit, vat
from ..auth.models import Organisation, Role, User, UserRole
from ..bookings.billing.amounts import MoneyLine
from ..bookings.billing.invoices import Invoice, issue_invoice
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..money import to_cents
from .bundle_models import QUARTER, AdviceBundle, AdviceBundleEntry, BundleState

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DEFAULT_VAT_RATE = Decimal("21")
VALID_MONTHS = 12
MAX_HOURS = 500
MAX_ENTRY_MINUTES = 12 * 60  # one entry is at most a long working day
TOPIC_MAX = 200
INVOICE_SUBJECT = "advice_bundle"
OVERRUN_SUBJECT = "advice_overrun"


def today() -> date:
    """Today on the Dutch calendar: validity and entry days are Dutch dates."""
    return utcnow().astimezone(AMSTERDAM).date()


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def default_valid_until(valid_from: date) -> date:
    """Twelve months: from 5 December up to and including 4 December a year later."""
    return add_months(valid_from, VALID_MONTHS) - timedelta(days=1)


def hours_text(minutes: int) -> str:
    """Minutes as hours for people: 90 -> '1,5 uur' (in the user's locale)."""
    hours = Decimal(minutes) / 60
    return str(_l("%(hours)s uur", hours=format_decimal(hours.normalize(), format="#,##0.##")))


# -- reading ----------------------------------------------------------------------------------
def clients_of(organisation_id: int) -> list[User]:
    """The organisation's clients: who sees its bundles and receives their mail."""
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                User.organisation_id == organisation_id,
                UserRole.role == Role.CLIENT,
                User.is_active_account.is_(True),
                User.deleted_at.is_(None),
            )
            .order_by(User.id)
        )
    )


def bundles_of(organisation_id: int) -> list[AdviceBundle]:
    return list(
        db.session.scalars(
            select(AdviceBundle)
            .where(AdviceBundle.organisation_id == organisation_id)
            .options(selectinload(AdviceBundle.entries).joinedload(AdviceBundleEntry.advisor))
            .order_by(AdviceBundle.valid_until.desc(), AdviceBundle.id.desc())
        )
    )


def all_bundles(*, include_closed: bool = False) -> list[AdviceBundle]:
    """Staff's list: every bundle with its organisation, the ones running out first."""
    query = select(AdviceBundle).options(
        joinedload(AdviceBundle.organisation), joinedload(AdviceBundle.invoice)
    )
    if not include_closed:
        query = query.where(AdviceBundle.state == BundleState.ACTIVE)
    return list(db.session.scalars(query.order_by(AdviceBundle.valid_until, AdviceBundle.id)))


def loggable_bundles(on: date | None = None) -> list[AdviceBundle]:
    """Bundles an advisor can log time on today: active and within their validity."""
    on = on or today()
    return list(
        db.session.scalars(
            select(AdviceBundle)
            .options(joinedload(AdviceBundle.organisation))
            .where(
                AdviceBundle.state == BundleState.ACTIVE,
                AdviceBundle.valid_from <= on,
                AdviceBundle.valid_until >= on,
            )
            .join(Organisation, Organisation.id == AdviceBundle.organisation_id)
            .order_by(Organisation.name, AdviceBundle.valid_until)
        )
    )


def advisors() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == Role.ADVISOR,
                User.is_active_account.is_(True),
                User.deleted_at.is_(None),
            )
            .order_by(User.name)
        )
    )


@dataclass(frozen=True)
class AdvisorMonth:
    advisor: str
    year: int
    month: int
    minutes: int
    entries: int


def hours_per_advisor_per_month(year: int) -> list[AdvisorMonth]:
    """Net advice minutes per advisor per month of `year` (corrections count in the month of
    the entry they correct, so a month's figure is what was really spent that month)."""
    month = extract("month", AdviceBundleEntry.day)
    rows = db.session.execute(
        select(
            User.name,
            month.label("month"),
            func.sum(AdviceBundleEntry.minutes),
            func.count().filter(AdviceBundleEntry.minutes > 0),
        )
        .join(User, User.id == AdviceBundleEntry.advisor_id)
        .where(
            AdviceBundleEntry.day >= date(year, 1, 1),
            AdviceBundleEntry.day <= date(year, 12, 31),
        )
        .group_by(User.name, month)
        .order_by(month, User.name)
    )
    return [
        AdvisorMonth(name, year, int(m), int(minutes or 0), int(count or 0))
        for name, m, minutes, count in rows
        if minutes
    ]


# -- selling ----------------------------------------------------------------------------------
def parse_price(text: str | Decimal) -> Decimal:
    try:
        price = to_cents(Decimal(str(text).strip().replace(",", ".")))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(
            _l("Vul een geldig bedrag in, bijvoorbeeld 1250,00."), field="price"
        ) from exc
    if price < 0:
        raise DomainError(_l("Een prijs kan niet negatief zijn."), field="price")
    return price


def sell_bundle(
    *,
    organisation: Organisation,
    hours: Decimal | int,
    price: Decimal,
    by: User,
    valid_from: date | None = None,
    valid_until: date | None = None,
    reference: str | None = None,
) -> AdviceBundle:
    """A bundle of advice hours for an organisation, invoiced at once."""
    minutes = Decimal(hours) * 60
    if minutes <= 0 or minutes != minutes.to_integral_value() or int(minutes) % QUARTER:
        raise DomainError(
            _l("Een strippenkaart heeft een aantal uren in kwartieren, meer dan nul."),
            field="hours",
        )
    if minutes > MAX_HOURS * 60:
        raise DomainError(
            _l("Een strippenkaart heeft hoogstens %(max)s uur.", max=MAX_HOURS), field="hours"
        )
    price = parse_price(price)
    valid_from = valid_from or today()
    valid_until = valid_until or default_valid_until(valid_from)
    if valid_until <= valid_from:
        raise DomainError(
            _l("De einddatum van de geldigheid ligt na de begindatum."), field="valid_until"
        )
    reverse_charge = bool(organisation.vat_number) and vat.reverse_charge(
        organisation.country, organisation.vat_number
    )
    bundle = AdviceBundle(
        organisation=organisation,
        minutes_bought=int(minutes),
        price=price,
        vat_rate=Decimal(0) if reverse_charge else DEFAULT_VAT_RATE,
        valid_from=valid_from,
        valid_until=valid_until,
        reference=(reference or "").strip() or None,
        created_by_id=by.id,
    )
    db.session.add(bundle)
    db.session.flush()
    bundle.invoice = _invoice(
        bundle,
        INVOICE_SUBJECT,
        reverse_charge=reverse_charge,
        by=by,
        line=(
            MoneyLine(
                str(
                    _l(
                        "Advies-strippenkaart: %(hours)s advies, geldig t/m %(until)s",
                        hours=hours_text(bundle.minutes_bought),
                        until=valid_until.strftime("%d-%m-%Y"),
                    )
                ),
                Decimal(1),
                price,
                bundle.vat_rate,
            )
        ),
    )
    audit.record(
        "advice_bundle.sold",
        bundle,
        actor=by,
        organisation=organisation.name,
        minutes=bundle.minutes_bought,
        price=str(price),
        valid_until=valid_until.isoformat(),
        invoice=bundle.invoice.number,
    )
    from . import bundle_mail

    bundle_mail.bundle_sold(bundle)
    return bundle


# -- the ledger -------------------------------------------------------------------------------
def lock(bundle: AdviceBundle) -> AdviceBundle:
    """The bundle's row, locked for this transaction and read fresh."""
    return db.session.execute(
        select(AdviceBundle)
        .where(AdviceBundle.id == bundle.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _check_minutes(minutes: int | None) -> int:
    if minutes is None or minutes <= 0:
        raise DomainError(_l("Vul een duur in van minstens een kwartier."), field="minutes")
    if minutes % QUARTER:
        raise DomainError(
            _l("Adviestijd wordt per kwartier geboekt: 15, 30, 45, 60 minuten enzovoort."),
            field="minutes",
        )
    if minutes > MAX_ENTRY_MINUTES:
        raise DomainError(
            _l("Eén regel is hoogstens 12 uur; boek langere tijd per dag."), field="minutes"
        )
    return minutes


def log_time(
    bundle: AdviceBundle,
    *,
    day: date | None,
    minutes: int | None,
    topic: str,
    advisor: User | None,
    by: User,
    note: str = "",
    on: date | None = None,
) -> AdviceBundleEntry:
    """Log advice time on the bundle; refuses what would take the balance below zero."""
    minutes = _check_minutes(minutes)
    topic = " ".join((topic or "").split())
    if not topic:
        raise DomainError(_l("Vul het onderwerp van het advies in."), field="topic")
    if len(topic) > TOPIC_MAX:
        raise DomainError(
            _l("Het onderwerp is hoogstens %(max)s tekens.", max=TOPIC_MAX), field="topic"
        )
    if advisor is None or not advisor.is_advisor:
        raise DomainError(_l("Kies de adviseur die het advies gaf."), field="advisor")
    on = on or today()
    if day is None:
        raise DomainError(_l("Vul de datum van het advies in."), field="day")
    if day > on:
        raise DomainError(
            _l("Boek adviestijd op of na de dag van het advies, niet vooruit."), field="day"
        )
    bundle = lock(bundle)
    if bundle.state != BundleState.ACTIVE:
        raise DomainError(_l("Deze strippenkaart is gesloten; er kan geen tijd meer op."))
    if bundle.expired(on):
        raise DomainError(
            _l(
                "Deze strippenkaart is verlopen op %(date)s; er kan geen tijd meer op worden "
                "geboekt.",
                date=bundle.valid_until.strftime("%d-%m-%Y"),
            )
        )
    if not bundle.valid_from <= day <= bundle.valid_until:
        raise DomainError(
            _l(
                "De datum valt buiten de geldigheid van de strippenkaart (%(start)s t/m %(end)s).",
                start=bundle.valid_from.strftime("%d-%m-%Y"),
                end=bundle.valid_until.strftime("%d-%m-%Y"),
            ),
            field="day",
        )
    if not bundle.allow_overrun and minutes > bundle.balance_minutes:
        raise DomainError(
            _l(
                "Er staat nog %(left)s op de strippenkaart; %(asked)s past er niet op. Boek "
                "minder, of vraag het secretariaat de overschrijding toe te staan (die wordt "
                "gefactureerd).",
                left=hours_text(max(bundle.balance_minutes, 0)),
                asked=hours_text(minutes),
            ),
            field="minutes",
        )
    entry = AdviceBundleEntry(
        bundle=bundle,
        day=day,
        minutes=minutes,
        topic=topic,
        note=(note or "").strip(),
        advisor_id=advisor.id,
        created_by_id=by.id,
    )
    db.session.add(entry)
    bundle.minutes_used += minutes
    db.session.flush()
    audit.record(
        "advice_bundle.time_logged",
        bundle,
        actor=by,
        entry=entry.id,
        day=day.isoformat(),
        minutes=minutes,
        advisor=advisor.email,
        balance=bundle.balance_minutes,
    )
    return entry


def correct_entry(entry: AdviceBundleEntry, *, by: User, reason: str) -> AdviceBundleEntry:
    """Reverse a logged entry with a negative one (the ledger keeps both). Log the right time
    as a new entry afterwards."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(_l("Geef de reden van de correctie op."), field="reason")
    bundle = lock(entry.bundle)
    if entry.is_correction:
        raise DomainError(_l("Een correctie kan niet zelf worden gecorrigeerd."))
    already = db.session.scalar(
        select(AdviceBundleEntry.id).where(AdviceBundleEntry.corrects_id == entry.id)
    )
    if already is not None:
        raise DomainError(_l("Deze regel is al gecorrigeerd."))
    left_over = bundle.minutes_used - entry.minutes - bundle.minutes_bought
    if bundle.minutes_overrun_invoiced and left_over < bundle.minutes_overrun_invoiced:
        raise DomainError(
            _l(
                "Deze tijd is al als overschrijding gefactureerd; corrigeer die met een "
                "creditfactuur."
            )
        )
    correction = AdviceBundleEntry(
        bundle=bundle,
        day=entry.day,
        minutes=-entry.minutes,
        topic=str(_l("Correctie: %(topic)s", topic=entry.topic))[:TOPIC_MAX],
        note=reason,
        advisor_id=entry.advisor_id,
        corrects_id=entry.id,
        created_by_id=by.id,
    )
    db.session.add(correction)
    bundle.minutes_used -= entry.minutes
    db.session.flush()
    audit.record(
        "advice_bundle.entry_corrected",
        bundle,
        actor=by,
        entry=entry.id,
        correction=correction.id,
        minutes=-entry.minutes,
        reason=reason,
        balance=bundle.balance_minutes,
    )
    return correction


def set_overrun(bundle: AdviceBundle, allowed: bool, *, by: User) -> None:
    """Staff allow (or stop) logging beyond the hours bought; the overrun is invoiced."""
    bundle = lock(bundle)
    if bundle.allow_overrun == allowed:
        return
    if not allowed and bundle.minutes_used > bundle.minutes_bought:
        raise DomainError(
            _l(
                "Er is al meer tijd geboekt dan gekocht; overschrijding kan niet meer uit. "
                "Factureer de overschrijding."
            )
        )
    if allowed and bundle.state != BundleState.ACTIVE:
        raise DomainError(_l("Deze strippenkaart is gesloten; er kan geen tijd meer op."))
    bundle.allow_overrun = allowed
    bundle.overrun_allowed_by_id = by.id if allowed else None
    bundle.overrun_allowed_at = utcnow() if allowed else None
    db.session.flush()
    audit.record("advice_bundle.overrun_" + ("allowed" if allowed else "stopped"), bundle, actor=by)


def invoice_overrun(bundle: AdviceBundle, *, by: User) -> Invoice:
    """Invoice the overrun not yet invoiced, at the bundle's hourly rate."""
    bundle = lock(bundle)
    minutes = bundle.overrun_to_invoice
    if minutes <= 0:
        raise DomainError(_l("Er is geen overschrijding die nog gefactureerd moet worden."))
    reverse_charge = bundle.vat_rate == 0 and bool(bundle.organisation.vat_number)
    invoice = _invoice(
        bundle,
        OVERRUN_SUBJECT,
        reverse_charge=reverse_charge,
        by=by,
        line=(
            MoneyLine(
                str(
                    _l(
                        "Advies boven de strippenkaart van %(hours)s (uren)",
                        hours=hours_text(bundle.minutes_bought),
                    )
                ),
                Decimal(minutes) / 60,
                bundle.hourly_rate,
                bundle.vat_rate,
            )
        ),
    )
    bundle.minutes_overrun_invoiced += minutes
    db.session.flush()
    audit.record(
        "advice_bundle.overrun_invoiced",
        bundle,
        actor=by,
        minutes=minutes,
        invoice=invoice.number,
    )
    from . import bundle_mail

    bundle_mail.overrun_invoiced(bundle, invoice)
    return invoice


def overrun_invoices(bundle: AdviceBundle) -> list[Invoice]:
    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.subject_type == OVERRUN_SUBJECT, Invoice.subject_id == bundle.id)
            .order_by(Invoice.id)
        )
    )


def close_bundle(bundle: AdviceBundle, *, by: User) -> None:
    bundle = lock(bundle)
    if bundle.state == BundleState.CLOSED:
        return
    bundle.close()
    db.session.flush()
    audit.record("advice_bundle.closed", bundle, actor=by, balance=bundle.balance_minutes)


def _invoice(bundle: AdviceBundle, subject_type: str, *, reverse_charge: bool, line, by):
    """An invoice to the bundle's organisation, addressed to its first client."""
    organisation = bundle.organisation
    clients = clients_of(organisation.id)
    return issue_invoice(
        subject_type=subject_type,
        subject_id=bundle.id,
        buyer_name=organisation.name,
        buyer_address=organisation.address or "",
        buyer_email=clients[0].email if clients else None,
        buyer_vat_number=organisation.vat_number if reverse_charge else None,
        reverse_charge=reverse_charge,
        buyer_user=clients[0] if clients else None,
        buyer_organisation=organisation,
        reference=bundle.reference,
        lines=[line],
        by=by,
    )
