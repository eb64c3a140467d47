"""Invoice arithmetic: line amounts, VAT per rate and totals, rounded as the documents print them.

Line amounts are rounded to cents first so the printed lines add up to the subtotal; VAT is
computed once per rate on that rate's summed base and rounded half up (away from zero, so a
credit line mirrors its debit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ...pdf.layout import PricedLine, PriceTable, VatLine

CENT = Decimal("0.01")


@dataclass(frozen=True)
class MoneyLine:
    description: str
    quantity: Decimal
    unit_price: Decimal  # excluding VAT
    vat_rate: Decimal  # percent, e.g. Decimal("21")


def _cents(amount: Decimal) -> Decimal:
    # ROUND_HALF_UP on Decimal rounds away from zero, so credit lines mirror their debits.
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(line: MoneyLine) -> Decimal:
    """Amount of one line excluding VAT, rounded to cents as printed on the document."""
    return _cents(Decimal(line.quantity) * Decimal(line.unit_price))


def vat_breakdown(lines: Iterable[MoneyLine]) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, base excl. VAT, VAT amount) per rate, lowest rate first."""
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = Decimal(line.vat_rate)
        bases[rate] = bases.get(rate, Decimal("0.00")) + line_amount(line)
    return [(rate, base, _cents(base * rate / 100)) for rate, base in sorted(bases.items())]


def line_totals(
    lines: Iterable[MoneyLine],
) -> tuple[Decimal, list[tuple[Decimal, Decimal]], Decimal]:
    """Return (subtotal excl. VAT, [(rate, VAT amount)] lowest rate first, total incl. VAT).

    Line amounts are rounded to cents first so the printed lines add up to the subtotal; VAT is
    then computed once per rate on that rate's summed base (not per line) and rounded half up.
    """
    breakdown = vat_breakdown(lines)
    subtotal = sum((base for _rate, base, _vat in breakdown), Decimal("0.00"))
    vat_total = sum((vat for _rate, _base, vat in breakdown), Decimal("0.00"))
    return subtotal, [(rate, vat) for rate, _base, vat in breakdown], subtotal + vat_total


def price_table(lines: Iterable[MoneyLine]) -> PriceTable:
    """The figures a document prints for these lines (the PDF code draws them, never sums)."""
    lines = list(lines)
    breakdown = vat_breakdown(lines)
    subtotal, _rates, total = line_totals(lines)
    return PriceTable(
        lines=tuple(
            PricedLine(
                line.description, line.quantity, line.unit_price, line.vat_rate, line_amount(line)
            )
            for line in lines
        ),
        subtotal=subtotal,
        vat=tuple(VatLine(rate, base, vat) for rate, base, vat in breakdown),
        total=total,
    )
