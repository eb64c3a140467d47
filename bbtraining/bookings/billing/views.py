"""Invoice pages: the PDF for whoever may see it, and staff registering a bank payment."""

from flask import Response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...permissions import admin_required, get_or_404, get_visible_or_404
from ...web import commit_or_flash
from .. import bp
from .invoices import Invoice, PaymentMethod, invoice_pdf


@bp.route("/invoices/<int:invoice_id>.pdf")
@login_required
def invoice_download(invoice_id: int):
    invoice = get_visible_or_404(Invoice, invoice_id, current_user)
    return Response(
        invoice_pdf(invoice),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="factuur-{invoice.number}.pdf"'},
    )


@bp.route("/admin/invoices/<int:invoice_id>/paid", methods=["POST"])
@admin_required
def invoice_mark_paid(invoice_id: int):
    invoice = get_or_404(Invoice, invoice_id)
    commit_or_flash(
        lambda: invoice.mark_paid(PaymentMethod.BANK_TRANSFER, by=current_user),
        _("Factuur %(number)s is als betaald gemarkeerd.", number=invoice.number),
    )
    return redirect(request.referrer or url_for("admin.dashboard"))
