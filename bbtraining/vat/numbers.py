"""VAT numbers of EU business clients: the format per member state (python-stdnum), the check
against VIES (the EU's VAT database), and whether an invoice is reverse-charge ("btw verlegd").

A VIES answer is stored per number (`VatCheck`) with the moment it was given. VIES being down
never stops a booking: the number is kept as pending, the invoice carries Dutch VAT, and the beat
task (vat/tasks.py) asks again later. Only a number VIES confirmed makes an invoice
reverse-charge, and only for a client in another member state than ours.
"""

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, mapped_column
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from ..db_types import UTCDateTime, utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l

log = logging.getLogger(__name__)

SELLER_COUNTRY = "NL"

# The member states, by ISO code; a VAT number starts with the same code except Greece's (EL).
EU_COUNTRIES = {
    "AT": _l("Oostenrijk"),
    "BE": _l("België"),
    "BG": _l("Bulgarije"),
    "CY": _l("Cyprus"),
    "CZ": _l("Tsjechië"),
    "DE": _l("Duitsland"),
    "DK": _l("Denemarken"),
    "EE": _l("Estland"),
    "ES": _l("Spanje"),
    "FI": _l("Finland"),
    "FR": _l("Frankrijk"),
    "GR": _l("Griekenland"),
    "HR": _l("Kroatië"),
    "HU": _l("Hongarije"),
    "IE": _l("Ierland"),
    "IT": _l("Italië"),
    "LT": _l("Litouwen"),
    "LU": _l("Luxemburg"),
    "LV": _l("Letland"),
    "MT": _l("Malta"),
    "NL": _l("Nederland"),
    "PL": _l("Polen"),
    "PT": _l("Portugal"),
    "RO": _l("Roemenië"),
    "SE": _l("Zweden"),
    "SI": _l("Slovenië"),
    "SK": _l("Slowakije"),
}
VAT_PREFIX = {code: ("EL" if code == "GR" else code) for code in EU_COUNTRIES}
COUNTRY_OF_PREFIX = {prefix: code for code, prefix in VAT_PREFIX.items()}
EXAMPLES = {"NL": "NL123456789B01", "BE": "BE0123456789", "DE": "DE123456789"}
MAX_LENGTH = 20  # the columns' size; no member state's number is longer

# A confirmed number is trusted this long before VIES is asked again.
VALID_FOR = timedelta(days=30)
# A pending number is asked again after this long (the beat task runs every hour).
RETRY_AFTER = timedelta(minutes=50)


def country_choices() -> list[tuple[str, object]]:
    """Every member state for a form's select, the Netherlands first."""
    rest = sorted((c for c in EU_COUNTRIES if c != "NL"), key=lambda c: str(EU_COUNTRIES[c]))
    return [(code, EU_COUNTRIES[code]) for code in ("NL", *rest)]


def country_label(code: str | None) -> str:
    return str(EU_COUNTRIES.get(code or "", code or ""))


# -- format ----------------------------------------------------------------------------------------
def clean_vat_number(value: str | None, country: str | None = None) -> str | None:
    """The number in its compact form (BE0123456789), None when empty, or a DomainError in Dutch
    on field "vat_number". `country`: the client's country, which the number must belong to."""
    raw = (value or "").strip()
    if not raw:
        return None
    if len(raw) > 40:
        raise DomainError(_l("Dit btw-nummer is te lang."), field="vat_number")
    try:
        number = eu_vat.compact(raw)
    except StdnumError:
        number = raw.upper()
    prefix = number[:2]
    own = COUNTRY_OF_PREFIX.get(prefix)
    if own is None:
        raise DomainError(
            _l(
                "Dit btw-nummer klopt niet: een btw-nummer begint met de landcode van een "
                "EU-land, bijvoorbeeld NL123456789B01 of BE0123456789."
            ),
            field="vat_number",
        )
    if country and country in EU_COUNTRIES and own != country:
        raise DomainError(
            _l(
                "Dit btw-nummer is van %(vat_country)s, maar het gekozen land is %(country)s. "
                "Kies het juiste land of controleer het nummer.",
                vat_country=country_label(own),
                country=country_label(country),
            ),
            field="vat_number",
        )
    try:
        number = eu_vat.validate(number)
    except StdnumError:
        raise DomainError(
            _l(
                "Dit btw-nummer klopt niet voor %(country)s. Controleer de cijfers%(example)s.",
                country=country_label(own),
                example=_l(", bijvoorbeeld %(n)s", n=EXAMPLES[own]) if own in EXAMPLES else "",
            ),
            field="vat_number",
        ) from None
    if len(number) > MAX_LENGTH:
        raise DomainError(_l("Dit btw-nummer is te lang."), field="vat_number")
    return number


# -- VIES ------------------------------------------------------------------------------------------
class VatStatus(StrEnum):
    VALID = "valid"  # VIES confirmed it
    INVALID = "invalid"  # VIES answered that it does not exist
    PENDING = "pending"  # VIES could not be asked or did not answer; asked again later


class VatCheck(db.Model):
    """The last word of VIES on one number."""

    __tablename__ = "vat_check"
    __table_args__ = (
        CheckConstraint("status IN ('valid', 'invalid', 'pending')", name="status_known"),
    )

    number: Mapped[str] = mapped_column(String(MAX_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=VatStatus.PENDING)
    # When VIES last answered (valid or invalid); None while it never did.
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When we last tried, answered or not.
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The registered name VIES gives, for staff to compare.
    name: Mapped[str | None] = mapped_column(String(300))

    @property
    def is_valid(self) -> bool:
        return self.status == VatStatus.VALID


def _ask_vies(number: str) -> tuple[bool, str | None] | None:
    """(valid, registered name), or None when VIES cannot answer now."""
    base = (current_app.config.get("VIES_URL") or "").rstrip("/")
    if not base:
        return None
    if not base.startswith(("https://", "http://")):  # never file:// or another scheme
        log.warning("VIES_URL is not an http(s) address; VAT numbers stay pending")
        return None
    body = json.dumps({"countryCode": number[:2], "vatNumber": number[2:]}).encode()
    request = urllib.request.Request(  # noqa: S310 - the configured https endpoint
        f"{base}/check-vat-number",
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310  # nosec B310 - scheme checked above
            request, timeout=current_app.config.get("VIES_TIMEOUT", 4)
        ) as response:
            answer = json.loads(response.read(100_000))
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        log.warning("VIES not reachable for %s: %s", number[:2], exc)
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("valid"), bool):
        return None
    # VIES says VALID/INVALID here when it looked the number up; anything else (MS_UNAVAILABLE,
    # TIMEOUT, MS_MAX_CONCURRENT_REQ, ...) means the member state did not answer.
    user_error = answer.get("userError")
    if user_error not in (None, "VALID", "INVALID") or answer.get("errorWrappers"):
        return None
    name = answer.get("name")
    name = name.strip()[:300] if isinstance(name, str) and name.strip() not in ("", "---") else None
    return answer["valid"], name


def verify(number: str, *, now: datetime | None = None, force: bool = False) -> VatCheck:
    """Ask VIES about a compact, well-formed number (unless a recent answer is stored) and store
    the outcome; never raises for VIES being away."""
    now = now or utcnow()
    check = db.session.get(VatCheck, number)
    if check is None:
        check = VatCheck(number=number, status=VatStatus.PENDING, attempted_at=now)
        db.session.add(check)
    elif (
        not force
        and check.status != VatStatus.PENDING
        and check.checked_at is not None
        and now - check.checked_at < VALID_FOR
    ):
        return check
    check.attempted_at = now
    answer = _ask_vies(number)
    if answer is not None:
        valid, name = answer
        check.status = VatStatus.VALID if valid else VatStatus.INVALID
        check.checked_at = now
        check.name = name
    elif check.status != VatStatus.VALID:
        # A number VIES confirmed stays confirmed when VIES is away; anything else waits.
        check.status = VatStatus.PENDING
    db.session.flush()
    return check


def check_for_booking(value: str | None, country: str | None) -> str | None:
    """The compact number for a booking, asked at VIES; a DomainError when its format is wrong
    or VIES says it does not exist. VIES being away refuses nothing."""
    number = clean_vat_number(value, country)
    if number is None:
        return None
    if verify(number).status == VatStatus.INVALID:
        raise DomainError(
            _l(
                "Volgens de Europese btw-database (VIES) bestaat btw-nummer %(number)s niet. "
                "Controleer het nummer, of laat het veld leeg: dan rekenen we Nederlandse btw.",
                number=number,
            ),
            field="vat_number",
        )
    return number


def status_of(number: str | None) -> VatCheck | None:
    return db.session.get(VatCheck, number) if number else None


def reverse_charge(country: str | None, number: str | None) -> bool:
    """Whether an invoice to this client is reverse-charge: a business in another member state
    whose number VIES confirmed (and that belongs to that state)."""
    if not number or not country or country == SELLER_COUNTRY or country not in EU_COUNTRIES:
        return False
    if COUNTRY_OF_PREFIX.get(number[:2]) != country:
        return False
    check = status_of(number)
    return check is not None and check.is_valid


REVERSE_CHARGE_NOTE = _l(
    "Btw verlegd. De afnemer is ondernemer in een andere EU-lidstaat en draagt de btw af "
    "(artikel 44 en 196 Btw-richtlijn 2006/112/EG)."
)


# -- beat ------------------------------------------------------------------------------------------
def recheck_pending(*, now: datetime | None = None, limit: int = 50) -> int:
    """Ask VIES again about numbers it could not answer for; returns how many it now did."""
    now = now or utcnow()
    due = db.session.scalars(
        select(VatCheck)
        .where(VatCheck.status == VatStatus.PENDING, VatCheck.attempted_at <= now - RETRY_AFTER)
        .order_by(VatCheck.attempted_at)
        .limit(limit)
    ).all()
    answered = 0
    for check in due:
        if verify(check.number, now=now, force=True).status != VatStatus.PENDING:
            answered += 1
    return answered
