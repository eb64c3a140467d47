"""Registering a bank payment the way staff do: the form, then its confirmation."""

from datetime import date

from bbtraining.bookings.billing.receivables import today


def payment_url(invoice_id: int) -> str:
    return f"/admin/invoices/{invoice_id}/payment"


def register_payment(client, invoice_id: int, amount: str, paid_on: date | None = None, **kw):
    """POST the confirmed payment form (the confirmation page's second POST)."""
    return client.post(
        payment_url(invoice_id),
        data={
            "amount": amount,
            "paid_on": (paid_on or today()).isoformat(),
            "confirmed": "1",
        },
        **kw,
    )


def pay_in_full(client, invoice) -> object:
    return register_payment(client, invoice.id, f"{invoice.open_amount:.2f}")
