"""Money arithmetic shared by every blueprint: prices are stored excluding VAT, in euros.

VAT rates are percentages (Decimal("21.00") for 21 %). Amounts are rounded to whole cents
half up, the way Dutch invoices round, never with float arithmetic.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal | int | str) -> Decimal:
    """An amount rounded to whole cents (half up)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def vat_amount(amount: Decimal | int | str, rate: Decimal | int | str) -> Decimal:
    """The VAT on an amount excluding VAT, rounded to cents."""
    return to_cents(to_cents(amount) * Decimal(rate) / Decimal(100))


def incl_vat(amount: Decimal | int | str, rate: Decimal | int | str) -> Decimal:
    """The amount including VAT: the rounded amount plus its rounded VAT, so that the parts
    shown on a page or invoice always add up to the total shown."""
    return to_cents(amount) + vat_amount(amount, rate)
