"""Invoice pages: the PDF for whoever may see it; for staff the open invoices (receivables),
registering a bank payment (amount and date, then a confirmation) and sending a reminder."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...errors import DomainError
from ...exports import csv_bytes, xlsx_bytes
from ...permissions import admin_required, get_or_404, get_visible_or_404
from ...web import attach_error, commit_or_flash
from .. import bp
from . import receivables as rec
from .forms import ButtonForm, PaymentForm
from .invoices import Invoice, InvoiceStatus, invoice_pdf


@bp.route("/invoices/<int:invoice_id>.pdf")
@login_required
def invoice_download(invoice_id: int):
    invoice = get_visible_or_404(Invoice, invoice_id, current_user)
    return Response(
        invoice_pdf(invoice),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="factuur-{invoice.number}.pdf"'},
    )


def _overdue_only() -> bool:
    return request.args.get("overdue") == "1"


@bp.route("/admin/receivables")
@admin_required
def receivables():
    overdue_only = _overdue_only()
    items = rec.receivables(overdue_only=overdue_only)
    return render_template(
        "bookings/billing/receivables.html",
        items=items,
        overdue_only=overdue_only,
        total_open=sum((r.invoice.open_amount for r in items), 0),
        today=rec.today(),
        button_form=ButtonForm(),
    )


@bp.route("/admin/receivables.<any(csv, xlsx):fmt>")
@admin_required
def receivables_export(fmt: str):
    headers, rows = rec.export_table(
        rec.receivables(overdue_only=_overdue_only()), comma_decimals=fmt == "csv"
    )
    stem = f"openstaande-facturen-{rec.today().isoformat()}"
    if fmt == "csv":
        data, mimetype = csv_bytes(headers, rows), "text/csv"
    else:
        data = xlsx_bytes(headers, rows, _("Openstaande facturen"))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


@bp.route("/admin/invoices/<int:invoice_id>/payment", methods=["GET", "POST"])
@admin_required
def invoice_payment(invoice_id: int):
    invoice = get_or_404(Invoice, invoice_id)
    form = PaymentForm()
    if request.method == "GET":
        form.paid_on.data = rec.today()
        form.amount.data = invoice.open_amount if invoice.open_amount > 0 else None
    confirming = False
    if invoice.status == InvoiceStatus.OPEN and form.validate_on_submit():
        if form.confirmed.data == "1":
            done = commit_or_flash(
                lambda: rec.register_payment(
                    invoice, form.amount.data, form.paid_on.data, by=current_user
                ),
                _("De betaling op factuur %(number)s is geregistreerd.", number=invoice.number),
                form=form,
            )
            if done:
                return redirect(url_for("bookings.invoice_payment", invoice_id=invoice.id))
        else:
            try:
                rec.check_payment(invoice, form.amount.data, form.paid_on.data)
                confirming = True
            except DomainError as exc:
                if not attach_error(form, exc):
                    flash(str(exc), "error")
    form.confirmed.data = "1" if confirming else ""
    return render_template(
        "bookings/billing/payment.html",
        invoice=invoice,
        form=form,
        confirming=confirming,
        remaining=(invoice.open_amount - form.amount.data) if confirming else None,
        payments=rec.payments_of(invoice),
        reminders=rec.reminders_of(invoice),
        button_form=ButtonForm(),
    )


@bp.route("/admin/invoices/<int:invoice_id>/reminder", methods=["POST"])
@admin_required
def invoice_reminder(invoice_id: int):
    invoice = get_or_404(Invoice, invoice_id)
    form = ButtonForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: rec.send_reminder(invoice, by=current_user),
            _(
                "Er is een betalingsherinnering voor factuur %(number)s verstuurd.",
                number=invoice.number,
            ),
        )
    back = request.form.get("next")
    if back not in ("receivables", "payment"):
        back = "payment"
    if back == "receivables":
        return redirect(url_for("bookings.receivables"))
    return redirect(url_for("bookings.invoice_payment", invoice_id=invoice.id))
