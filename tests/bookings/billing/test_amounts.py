"""Invoice arithmetic: line amounts, VAT per rate, totals, and the figures a PDF prints."""

from decimal import Decimal

from bbtraining.bookings.billing.amounts import MoneyLine, line_amount, line_totals, price_table
from bbtraining.pdf.layout import PricedLine, VatLine

D = Decimal


# --- line_totals ------------------------------------------------------------------------------


def test_line_totals_rounds_vat_to_cents() -> None:
    subtotal, vat, total = line_totals([MoneyLine("Dag", D("3"), D("33.33"), D("21"))])

    assert subtotal == D("99.99")
    assert vat == [(D("21"), D("21.00"))]  # 20.9979
    assert total == D("120.99")


def test_line_totals_groups_rates_lowest_first() -> None:
    lines = [
        MoneyLine("Training", D("2"), D("450.00"), D("21")),
        MoneyLine("Boek", D("3"), D("24.95"), D("9")),
        MoneyLine("Examen (vrijgesteld)", D("1"), D("50.00"), D("0")),
        MoneyLine("Reiskosten", D("1"), D("84.50"), D("21.0")),
    ]

    subtotal, vat, total = line_totals(lines)

    assert subtotal == D("1109.35")
    # 9 % of 74.85 = 6.7365; 21 % of 984.50 = 206.745, rounded half up.
    assert vat == [(D("0"), D("0.00")), (D("9"), D("6.74")), (D("21"), D("206.75"))]
    assert total == D("1322.84")


def test_vat_is_computed_on_the_summed_base_per_rate() -> None:
    # Per line 0.07 * 21 % = 0.0147 would round to 0.01 three times; on the base 0.21 it is 0.04.
    _subtotal, vat, total = line_totals([MoneyLine("Kopie", D("1"), D("0.07"), D("21"))] * 3)

    assert vat == [(D("21"), D("0.04"))]
    assert total == D("0.25")


def test_rounding_is_half_up_and_symmetric_for_credits() -> None:
    # 0.50 * 21 % = 0.105 exactly: banker's rounding would give 0.10.
    assert line_totals([MoneyLine("x", D("1"), D("0.50"), D("21"))])[1] == [(D("21"), D("0.11"))]
    assert line_totals([MoneyLine("x", D("-1"), D("0.50"), D("21"))])[1] == [(D("21"), D("-0.11"))]
    assert line_amount(MoneyLine("x", D("3"), D("0.335"), D("21"))) == D("1.01")
    assert line_amount(MoneyLine("x", D("1.5"), D("33.335"), D("21"))) == D("50.00")


def test_line_totals_of_nothing_is_zero() -> None:
    assert line_totals([]) == (D("0.00"), [], D("0.00"))


def test_price_table_carries_the_printed_figures() -> None:
    table = price_table(
        [
            MoneyLine("Training", D("2"), D("450.00"), D("21")),
            MoneyLine("Boek", D("3"), D("24.95"), D("9")),
        ]
    )

    assert table.lines[1] == PricedLine("Boek", D("3"), D("24.95"), D("9"), D("74.85"))
    assert table.vat == (
        VatLine(D("9"), D("74.85"), D("6.74")),
        VatLine(D("21"), D("900.00"), D("189.00")),
    )
    assert (table.subtotal, table.total) == (D("974.85"), D("1170.59"))
