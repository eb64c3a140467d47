"""The participant's own enrollments: detail, pay online or switch to an invoice, cancel, leave
a waiting list, and the enrollments panel on /account/.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ....extensions import db
from ....permissions import get_or_404, get_visible_or_404
from ....web import commit_or_flash
from ... import bp
from ...billing.stripe_client import stripe_enabled
from .. import cancellation, enrolling, named_seats, policy, queries, waitlist
from ..forms import (
    ButtonForm,
    CancelForm,
    SeatForm,
)
from ..models import (
    Enrollment,
    EnrollmentStatus,
    PayBy,
    WaitlistEntry,
    WaitlistStatus,
)
from .public import go_to_checkout


# -- one enrollment -------------------------------------------------------------------------------
@bp.route("/enrollments/<int:enrollment_id>")
@login_required
def enrollment_detail(enrollment_id: int):
    enrollment = get_visible_or_404(Enrollment, enrollment_id)
    return _render_detail(enrollment)


def _render_detail(enrollment: Enrollment, *, failed: tuple[int, SeatForm] | None = None):
    """The enrollment page; `failed` is a seat form sent with errors, shown on its own row."""
    seat_forms = {}
    for seat in enrollment.active_seats:
        form = SeatForm(formdata=None, prefix=f"seat{seat.position}")
        form.name.data, form.email.data = seat.name, seat.email
        seat_forms[seat.position] = form
    if failed is not None:
        seat_forms[failed[0]] = failed[1]
    return render_template(
        "bookings/enroll/detail.html",
        enrollment=enrollment,
        edition=enrollment.edition,
        may_cancel=policy.participant_may_cancel(enrollment),
        cancel_deadline=policy.free_cancellation_deadline(enrollment.edition),
        returned=request.args.get("betaling"),
        button_form=ButtonForm(),
        seat_forms=seat_forms,
        seat_credits=[
            invoice
            for invoice in queries.enrollment_credit_invoices(enrollment)
            if invoice.id != enrollment.credit_invoice_id
        ],
        seats_open=named_seats.seat_changes_open(enrollment),
        seats_close_at=named_seats.seat_changes_close_at(enrollment),
    ), (400 if failed is not None else 200)


@bp.route("/enrollments/<int:enrollment_id>/seats/<int:position>", methods=["POST"])
@login_required
def enrollment_seat(enrollment_id: int, position: int):
    """The booker fills in a colleague's name, or replaces the colleague, until the start."""
    enrollment = _own_enrollment_or_404(enrollment_id)
    if not enrollment.is_group:
        abort(404)
    form = SeatForm(prefix=f"seat{position}")
    if not form.validate_on_submit():
        return _render_detail(enrollment, failed=(position, form))
    outcome = commit_or_flash(
        lambda: named_seats.name_seat(
            enrollment,
            position,
            named_seats.seat_holder(form.name.data, form.email.data),
            by=current_user,
        ),
        form=form,
    )
    if not outcome:
        db.session.expire_all()
        return _render_detail(enrollment, failed=(position, form))
    flash(
        _(
            "%(name)s staat op plaats %(num)s en krijgt een uitnodiging.",
            name=outcome.value.name,
            num=position,
        )
        if enrollment.status == EnrollmentStatus.CONFIRMED
        else _("%(name)s staat op plaats %(num)s.", name=outcome.value.name, num=position),
        "success",
    )
    return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))


def _own_enrollment_or_404(enrollment_id: int) -> Enrollment:
    enrollment = get_or_404(Enrollment, enrollment_id)
    if enrollment.user_id != current_user.id:
        abort(404)
    return enrollment


@bp.route("/enrollments/<int:enrollment_id>/seats/<int:position>/cancel", methods=["POST"])
@login_required
def enrollment_seat_cancel(enrollment_id: int, position: int):
    """The booker gives back one seat of a group (before the free-cancellation deadline)."""
    enrollment = _own_enrollment_or_404(enrollment_id)
    if not enrollment.is_group:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    outcome = commit_or_flash(
        lambda: cancellation.cancel_seat(enrollment, position, by=current_user)
    )
    if outcome:
        settled = outcome.value
        if settled.stripe_refunded:
            message = _(
                "De plaats is geannuleerd. We storten %(amount)s terug.",
                amount=format_currency(settled.stripe_refunded, "EUR"),
            )
        elif settled.credit_invoice is not None:
            message = _(
                "De plaats is geannuleerd. U krijgt creditfactuur %(number)s.",
                number=settled.credit_invoice.number,
            )
        else:
            message = _("De plaats is geannuleerd.")
        flash(message, "success")
    return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))


@bp.route("/enrollments/<int:enrollment_id>/pay", methods=["POST"])
@login_required
def enrollment_pay(enrollment_id: int):
    enrollment = _own_enrollment_or_404(enrollment_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if enrollment.pay_by != PayBy.STRIPE or not stripe_enabled():
        flash(_("Voor deze inschrijving kunt u niet online betalen."), "error")
        return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))
    return go_to_checkout(enrollment)


@bp.route("/enrollments/<int:enrollment_id>/invoice", methods=["POST"])
@login_required
def enrollment_pay_by_invoice(enrollment_id: int):
    enrollment = _own_enrollment_or_404(enrollment_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    commit_or_flash(
        lambda: enrolling.switch_to_invoice(enrollment, by=current_user),
        _("U betaalt op factuur. Uw inschrijving is bevestigd."),
    )
    return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))


@bp.route("/enrollments/<int:enrollment_id>/cancel", methods=["GET", "POST"])
@login_required
def enrollment_cancel(enrollment_id: int):
    enrollment = _own_enrollment_or_404(enrollment_id)
    form = CancelForm()
    if form.validate_on_submit():
        outcome = commit_or_flash(
            lambda: cancellation.cancel_enrollment(
                enrollment, by=current_user, reason=form.reason.data, as_participant=True
            )
        )
        if not outcome:
            return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))
        settled = outcome.value
        if settled.stripe_refunded:
            flash(
                _(
                    "Uw inschrijving is geannuleerd. We storten %(amount)s terug.",
                    amount=format_currency(settled.stripe_refunded, "EUR"),
                ),
                "success",
            )
        else:
            flash(_("Uw inschrijving is geannuleerd."), "success")
        return redirect(url_for("account.dashboard"))
    status = 400 if form.errors else 200
    return render_template(
        "bookings/enroll/cancel.html",
        enrollment=enrollment,
        edition=enrollment.edition,
        form=form,
        may_cancel=policy.participant_may_cancel(enrollment),
        cancel_deadline=policy.free_cancellation_deadline(enrollment.edition),
    ), status


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@login_required
def waitlist_entry_leave(entry_id: int):
    entry = get_or_404(WaitlistEntry, entry_id)
    if entry.user_id != current_user.id:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    commit_or_flash(
        lambda: waitlist.leave_waitlist(entry, by=current_user),
        _("U staat niet meer op de wachtlijst."),
    )
    return redirect(url_for("account.dashboard"))


# -- the panel on /account/ (registered in the package's __init__) ------------------------------
def enrollments_panel(user) -> Markup | None:
    """The person's enrollments and waiting-list places, or None when they have neither."""
    enrollments = queries.user_enrollments(user)
    entries = queries.user_waitlist_entries(user)
    if not enrollments and not entries:
        return None
    return Markup(  # noqa: S704 - our own template, autoescaped
        render_template(
            "bookings/enroll/_account_panel.html",
            enrollments=enrollments,
            entries=entries,
            positions=waitlist.waitlist_positions(entries),
            offer_tokens={
                entry.id: waitlist.offer_token(entry)
                for entry in entries
                if entry.status == WaitlistStatus.OFFERED
            },
            may_cancel={e.id: policy.participant_may_cancel(e) for e in enrollments},
        )
    )
