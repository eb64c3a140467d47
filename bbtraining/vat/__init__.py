"""EU VAT numbers of business clients: format, the VIES check, and reverse charge.

Wiring: `numbers` holds the rules and the `VatCheck` model (table `vat_check`); `tasks` the
hourly beat task that asks VIES again about pending numbers (loaded by the worker through
`bbtraining.vat.tasks`). Callers use the names below as `vat.<name>`.
"""

from .numbers import (
    COUNTRY_OF_PREFIX,
    EU_COUNTRIES,
    EXAMPLES,
    MAX_LENGTH,
    REVERSE_CHARGE_NOTE,
    SELLER_COUNTRY,
    VAT_PREFIX,
    VatCheck,
    VatStatus,
    check_for_booking,
    clean_vat_number,
    country_choices,
    country_label,
    recheck_pending,
    reverse_charge,
    status_of,
    verify,
)

__all__ = [
    "COUNTRY_OF_PREFIX",
    "EU_COUNTRIES",
    "EXAMPLES",
    "MAX_LENGTH",
    "REVERSE_CHARGE_NOTE",
    "SELLER_COUNTRY",
    "VAT_PREFIX",
    "VatCheck",
    "VatStatus",
    "check_for_booking",
    "clean_vat_number",
    "country_choices",
    "country_label",
    "recheck_pending",
    "reverse_charge",
    "status_of",
    "verify",
]
