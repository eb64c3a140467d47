"""What the advies-strippenkaart sends: to every client of the organisation that bought it."""

from flask_babel import format_decimal

from ..bookings.billing.invoices import Invoice, invoice_pdf
from ..i18n import lazy_gettext as _l
from ..notifications.services import Attachment, queue_mail
from ..urls import public_url
from .bundle_models import AdviceBundle


def _mail_clients(
    bundle: AdviceBundle,
    *,
    subject,
    template: str,
    dedupe: str | None = None,
    context: dict | None = None,
    attachments=(),
) -> int:
    from .bundles import clients_of, hours_text

    link = public_url("advice.bundle_detail", bundle_id=bundle.id)
    clients = clients_of(bundle.organisation_id)
    for person in clients:
        queue_mail(
            to=person,
            subject=subject,
            template=f"advice/{template}",
            context={
                "bundle": bundle,
                "link": link,
                "left": hours_text(max(bundle.balance_minutes, 0)),
                "bought": hours_text(bundle.minutes_bought),
                **(context or {}),
            },
            attachments=list(attachments),
            dedupe_key=f"{dedupe}:{person.id}" if dedupe else None,
        )
    return len(clients)


def _invoice_attachment(invoice: Invoice) -> Attachment:
    return Attachment(f"factuur-{invoice.number}.pdf", "application/pdf", invoice_pdf(invoice))


def bundle_sold(bundle: AdviceBundle) -> int:
    return _mail_clients(
        bundle,
        subject=_l("Uw advies-strippenkaart en factuur %(number)s", number=bundle.invoice.number),
        template="bundle_sold",
        context={"invoice": bundle.invoice},
        attachments=[_invoice_attachment(bundle.invoice)],
    )


def overrun_invoiced(bundle: AdviceBundle, invoice: Invoice) -> int:
    return _mail_clients(
        bundle,
        subject=_l("Factuur %(number)s voor advies boven uw strippenkaart", number=invoice.number),
        template="bundle_overrun_invoice",
        context={"invoice": invoice},
        attachments=[_invoice_attachment(invoice)],
    )


def usage_notice(bundle: AdviceBundle) -> int:
    """80 % of the hours used: once per bundle (the dedupe key makes a re-run harmless)."""
    return _mail_clients(
        bundle,
        subject=_l(
            "U heeft %(percent)s%% van uw advies-strippenkaart gebruikt",
            percent=format_decimal(bundle.used_percent),
        ),
        template="bundle_usage_notice",
        dedupe=f"advice-bundle-80:{bundle.id}",
    )


def expiry_notice(bundle: AdviceBundle) -> int:
    """30 days before the bundle expires: once per bundle."""
    return _mail_clients(
        bundle,
        subject=_l("Uw advies-strippenkaart verloopt over 30 dagen"),
        template="bundle_expiry_notice",
        dedupe=f"advice-bundle-expiry:{bundle.id}",
    )
