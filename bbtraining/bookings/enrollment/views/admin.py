"""Staff pages for enrollments: the overview, one edition's enrollments and waiting list (also
as CSV), cancelling an enrollment or the whole edition, and the tile on /admin/.
"""

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ....courses import editions
from ....courses.models import AMSTERDAM, Edition
from ....exports import csv_bytes
from ....permissions import admin_required, get_or_404
from ....web import commit_or_flash
from ... import bp
from .. import cancellation, overview, queries, seats, waitlist
from ..forms import (
    AdminCancelForm,
    ButtonForm,
    EditionCancelForm,
)
from ..models import (
    Enrollment,
    EnrollmentStatus,
    PaymentStatus,
)


@bp.route("/admin/enrollments")
@admin_required
def admin_enrollments():
    return render_template(
        "bookings/enroll/admin_overview.html",
        editions=overview.upcoming_editions_with_counts(),
        counts=overview.pipeline_counts(),
    )


@bp.route("/admin/editions/<int:edition_id>/enrollments")
@admin_required
def admin_edition_enrollments(edition_id: int):
    edition = get_or_404(Edition, edition_id)
    enrollments = queries.edition_enrollments(edition)
    queue = waitlist.edition_waitlist(edition)
    return render_template(
        "bookings/enroll/admin_edition.html",
        edition=edition,
        enrollments=enrollments,
        confirmed=[e for e in enrollments if e.status == EnrollmentStatus.CONFIRMED],
        holds=[e for e in enrollments if e.status == EnrollmentStatus.HELD],
        ended=[e for e in enrollments if not e.is_active],
        due=[
            e
            for e in enrollments
            if e.status == EnrollmentStatus.CONFIRMED and e.payment_status == PaymentStatus.DUE
        ],
        waitlist=queue,
        positions=waitlist.waitlist_positions(queue),
        seats_free=seats.seats_free(edition),
        cancel_form=AdminCancelForm(),
        edition_cancel_form=EditionCancelForm(),
        button_form=ButtonForm(),
    )


def _local(value) -> str:
    return value.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.route("/admin/editions/<int:edition_id>/enrollments.csv")
@admin_required
def admin_edition_enrollments_csv(edition_id: int):
    edition = get_or_404(Edition, edition_id)
    headers = [
        _("Soort"),
        _("Nummer"),
        _("Naam"),
        _("E-mailadres"),
        _("Organisatie"),
        _("Plaatsen"),
        _("Status"),
        _("Betaalwijze"),
        _("Betaling"),
        _("Bedrag incl. btw"),
        _("Factuur"),
        _("Kenmerk"),
        _("Aangemeld op"),
        _("Wachtlijstplaats"),
    ]
    rows = [
        [
            _("inschrijving"),
            e.id,
            e.user.name,
            e.user.email,
            e.billing_organisation or "",
            e.seats,
            e.status_label,
            e.pay_by_label,
            e.payment_label,
            f"{e.total:.2f}".replace(".", ","),
            e.invoice.number if e.invoice else "",
            e.reference or "",
            _local(e.created_at),
            "",
        ]
        for e in queries.edition_enrollments(edition)
    ]
    queue = waitlist.edition_waitlist(edition)
    positions = waitlist.waitlist_positions(queue)
    rows += [
        [
            _("wachtlijst"),
            entry.id,
            entry.user.name,
            entry.user.email,
            "",
            entry.seats,
            entry.status_label,
            "",
            "",
            "",
            "",
            entry.note or "",
            _local(entry.created_at),
            positions[entry.id] or "",
        ]
        for entry in queue
    ]
    filename = f"inschrijvingen-editie-{edition.id}.csv"
    return Response(
        csv_bytes(headers, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/admin/enrollments/<int:enrollment_id>/cancel", methods=["POST"])
@admin_required
def admin_enrollment_cancel(enrollment_id: int):
    enrollment = get_or_404(Enrollment, enrollment_id)
    form = AdminCancelForm()
    back = url_for("bookings.admin_edition_enrollments", edition_id=enrollment.edition_id)
    if not form.validate_on_submit():
        flash(_("Controleer het annuleringsformulier."), "error")
        return redirect(back)
    outcome = commit_or_flash(
        lambda: cancellation.cancel_enrollment(
            enrollment, by=current_user, reason=form.reason.data, refund=form.refund.data
        )
    )
    if outcome:
        flash(
            _(
                "Inschrijving van %(name)s geannuleerd; terug: %(amount)s.",
                name=enrollment.user.name,
                amount=format_currency(outcome.value.refund_amount, "EUR"),
            ),
            "success",
        )
    return redirect(back)


@bp.route("/admin/editions/<int:edition_id>/cancel-enrollments", methods=["POST"])
@admin_required
def admin_edition_cancel(edition_id: int):
    edition = get_or_404(Edition, edition_id)
    form = EditionCancelForm()
    back = url_for("bookings.admin_edition_enrollments", edition_id=edition.id)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(back)

    def cancel() -> int:
        """The catalog's one edition cancel; returns how many enrollments it ended."""
        active = sum(1 for e in queries.edition_enrollments(edition) if e.is_active)
        editions.cancel_edition(edition, form.reason.data, by=current_user)
        return active

    outcome = commit_or_flash(cancel)
    if outcome:
        flash(
            _(
                "De editie is geannuleerd; %(count)s deelnemers zijn bericht en terugbetaald.",
                count=outcome.value,
            ),
            "success",
        )
    return redirect(back)


# -- the tile on /admin/ (registered in the package's __init__) ----------------------------------
def enrollments_tile(user) -> Markup | None:
    """Staff's counts of the enrollment pipeline (holds, payments due, waiting lists)."""
    if not user.is_admin:
        return None
    return Markup(  # noqa: S704 - our own template, autoescaped
        render_template("bookings/enroll/_admin_tile.html", counts=overview.pipeline_counts())
    )
