"""Enrollment, waiting list and their admin pages. Thin: the rules are in the rule modules."""

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from markupsafe import Markup
from sqlalchemy import select

from bbtraining.bookings.enrollment import cancellation, enrolling, overview, policy, queries, seats
from bbtraining.bookings.enrollment import waitlist as waitlist_rules

from ...auth.models import Role
from ...auth.services import register_user
from ...core.panels import account_panels, admin_panels
from ...courses import editions
from ...courses.models import AMSTERDAM, Edition
from ...errors import DomainError
from ...extensions import db, limiter
from ...permissions import admin_required, get_or_404, get_visible_or_404
from ...web import commit_or_flash
from .. import bp
from ..billing.stripe_client import stripe_enabled
from . import checkout
from .forms import (
    AdminCancelForm,
    BillingForm,
    ButtonForm,
    CancelForm,
    EditionCancelForm,
    NewAccountEnrollForm,
    NewAccountWaitlistForm,
    WaitlistForm,
)
from .models import (
    Enrollment,
    EnrollmentStatus,
    PayBy,
    PaymentStatus,
    WaitlistEntry,
    WaitlistStatus,
)


def _signup_limit() -> str:
    from flask import current_app

    return current_app.config["RESET_RATE_LIMIT"]


def _attach_error(form, exc: DomainError) -> bool:
    """Put a domain error on its field; False when it belongs to no field of this form."""
    field = getattr(form, exc.field, None) if exc.field and form is not None else None
    if field is None:
        return False
    field.errors = [*field.errors, str(exc)]
    return True


def _billing(form) -> policy.Billing:
    return policy.Billing(
        name=form.billing_name.data,
        organisation=form.billing_organisation.data,
        street=form.billing_street.data,
        postcode=form.billing_postcode.data,
        city=form.billing_city.data,
        country=form.billing_country.data,
        vat_number=form.vat_number.data,
        reference=form.reference.data,
    )


def _prefill_billing(form, user) -> None:
    """Start from what this person used last time, so a second enrollment is quick."""
    if request.method != "GET" or not user.is_authenticated:
        return
    last = db.session.scalar(
        select(Enrollment)
        .where(Enrollment.user_id == user.id)
        .order_by(Enrollment.created_at.desc())
        .limit(1)
    )
    form.billing_name.data = last.billing_name if last else user.name
    if last is not None:
        form.billing_organisation.data = last.billing_organisation
        form.billing_street.data = last.billing_street
        form.billing_postcode.data = last.billing_postcode
        form.billing_city.data = last.billing_city
        form.billing_country.data = last.billing_country
        form.vat_number.data = last.vat_number
    elif user.organisation is not None:
        form.billing_organisation.data = user.organisation.name


def _register_from(form, name: str):
    return register_user(
        name=name,
        email=form.email.data,
        password=form.password.data,
        roles=(Role.FACILITATOR,),
        locale=get_locale().language,
    )


def _edition_or_404(edition_id: int) -> Edition:
    edition = get_or_404(Edition, edition_id)
    if not edition.course.published and not (
        current_user.is_authenticated and current_user.is_admin
    ):
        abort(404)
    return edition


def _closed_reason(edition: Edition) -> str | None:
    try:
        enrolling._check_open(edition)
    except DomainError as exc:
        return str(exc)
    return None


def _render_enroll(edition: Edition, *, form=None, waitlist_form=None, error=None, status=200):
    signed_in = current_user.is_authenticated
    if form is None:
        form = BillingForm() if signed_in else NewAccountEnrollForm()
        form.use_payment_methods(stripe_enabled())
        if signed_in:
            _prefill_billing(form, current_user)
    if waitlist_form is None:
        waitlist_form = WaitlistForm() if signed_in else NewAccountWaitlistForm()
    existing = queries.active_enrollment(edition, current_user) if signed_in else None
    entry = queries.active_waitlist_entry(edition, current_user) if signed_in else None
    price = enrolling.price_preview(edition)
    return render_template(
        "bookings/enroll/enroll.html",
        edition=edition,
        course=edition.course,
        form=form,
        waitlist_form=waitlist_form,
        error=error,
        closed_reason=_closed_reason(edition),
        seats_free=seats.seats_free(edition),
        existing=existing,
        entry=entry,
        position=waitlist_rules.waitlist_position(entry) if entry else None,
        offer_url=(
            url_for("bookings.waitlist_offer", token=waitlist_rules.offer_token(entry))
            if entry is not None and entry.status == WaitlistStatus.OFFERED
            else None
        ),
        price_excl=price[0],
        price_vat=price[1],
        price_incl=price[2],
        cancel_deadline=policy.free_cancellation_deadline(edition),
        stripe_available=stripe_enabled(),
        course_url=_course_url(edition),
    ), status


def _course_url(edition: Edition) -> str | None:
    from flask import current_app

    if "courses.course_page" in current_app.view_functions:
        return url_for("courses.course_page", slug=edition.course.slug)
    return None


def _go_to_checkout(enrollment: Enrollment):
    """Second step of a Stripe enrollment, after the seat is committed: creating the Checkout
    Session is a network call, and the edition's row must not stay locked while it runs."""
    try:
        checkout_url = checkout.start_checkout(enrollment)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))
    db.session.commit()
    return redirect(checkout_url, code=303)


@bp.route("/editions/<int:edition_id>/enroll", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"], exempt_when=lambda: current_user.is_authenticated)
def enroll(edition_id: int):
    edition = _edition_or_404(edition_id)
    signed_in = current_user.is_authenticated
    form = BillingForm() if signed_in else NewAccountEnrollForm()
    form.use_payment_methods(stripe_enabled())
    if request.method == "GET":
        _prefill_billing(form, current_user)
        return _render_enroll(edition, form=form)
    if not form.validate_on_submit():
        return _render_enroll(edition, form=form, status=400)
    new_user = None
    try:
        user = current_user._get_current_object() if signed_in else None
        if user is None:
            new_user = user = _register_from(form, form.billing_name.data)
        enrollment = enrolling.enroll(edition, user, _billing(form), form.pay_by.data)
    except policy.EditionFull as exc:
        db.session.rollback()
        return _render_enroll(edition, error=str(exc), status=409)
    except DomainError as exc:
        db.session.rollback()
        if _attach_error(form, exc):
            return _render_enroll(edition, form=form, status=400)
        return _render_enroll(edition, form=form, error=str(exc), status=409)
    db.session.commit()
    if new_user is not None:
        login_user(new_user)
    if enrollment.status == EnrollmentStatus.HELD:
        return _go_to_checkout(enrollment)
    flash(
        _("U bent ingeschreven. De bevestiging en de factuur staan in uw e-mail.")
        if enrollment.pay_by == PayBy.INVOICE and enrollment.invoice_id
        else _("U bent ingeschreven. De bevestiging staat in uw e-mail."),
        "success",
    )
    return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))


@bp.route("/editions/<int:edition_id>/waitlist", methods=["POST"])
@limiter.limit(_signup_limit, exempt_when=lambda: current_user.is_authenticated)
def join_waitlist(edition_id: int):
    edition = _edition_or_404(edition_id)
    signed_in = current_user.is_authenticated
    form = WaitlistForm() if signed_in else NewAccountWaitlistForm()
    if not form.validate_on_submit():
        return _render_enroll(edition, waitlist_form=form, status=400)
    new_user = None
    try:
        user = current_user._get_current_object() if signed_in else None
        if user is None:
            new_user = user = _register_from(form, form.name.data)
        entry = waitlist_rules.join_waitlist(
            edition,
            user,
            seats=form.seats.data,
            any_edition=form.any_edition.data,
            note=form.note.data,
        )
    except DomainError as exc:
        db.session.rollback()
        if _attach_error(form, exc):
            return _render_enroll(edition, waitlist_form=form, status=400)
        return _render_enroll(edition, waitlist_form=form, error=str(exc), status=409)
    db.session.commit()
    if new_user is not None:
        login_user(new_user)
    if entry.status == WaitlistStatus.OFFERED:
        flash(_("Er is meteen plaats voor u. Accepteer het aanbod hieronder."), "success")
        return redirect(url_for("bookings.waitlist_offer", token=waitlist_rules.offer_token(entry)))
    flash(
        _(
            "U staat op de wachtlijst, op plaats %(position)s. Komt er een plaats vrij, dan "
            "mailen we u.",
            position=waitlist_rules.waitlist_position(entry),
        ),
        "success",
    )
    return redirect(url_for("bookings.enroll", edition_id=edition.id))


# -- one enrollment -------------------------------------------------------------------------------
@bp.route("/enrollments/<int:enrollment_id>")
@login_required
def enrollment_detail(enrollment_id: int):
    enrollment = get_visible_or_404(Enrollment, enrollment_id)
    return render_template(
        "bookings/enroll/detail.html",
        enrollment=enrollment,
        edition=enrollment.edition,
        may_cancel=policy.participant_may_cancel(enrollment),
        cancel_deadline=policy.free_cancellation_deadline(enrollment.edition),
        returned=request.args.get("betaling"),
        button_form=ButtonForm(),
    )


def _own_enrollment_or_404(enrollment_id: int) -> Enrollment:
    enrollment = get_or_404(Enrollment, enrollment_id)
    if enrollment.user_id != current_user.id:
        abort(404)
    return enrollment


@bp.route("/enrollments/<int:enrollment_id>/pay", methods=["POST"])
@login_required
def enrollment_pay(enrollment_id: int):
    enrollment = _own_enrollment_or_404(enrollment_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if enrollment.pay_by != PayBy.STRIPE or not stripe_enabled():
        flash(_("Voor deze inschrijving kunt u niet online betalen."), "error")
        return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))
    return _go_to_checkout(enrollment)


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
        try:
            outcome = cancellation.cancel_enrollment(
                enrollment, by=current_user, reason=form.reason.data, as_participant=True
            )
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))
        db.session.commit()
        if outcome.stripe_refunded:
            flash(
                _(
                    "Uw inschrijving is geannuleerd. We storten %(amount)s terug.",
                    amount=_money(outcome.stripe_refunded),
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


def _money(amount) -> str:
    from flask_babel import format_currency

    return format_currency(amount, "EUR")


# -- waiting list by link -------------------------------------------------------------------------
def _offer_page(entry, token, *, form=None, error=None, status=200):
    owner = current_user.is_authenticated and current_user.id == entry.user_id
    if form is None and owner:
        form = BillingForm()
        form.use_payment_methods(stripe_enabled())
        _prefill_billing(form, current_user)
    edition = entry.offered_edition or entry.edition
    price = enrolling.price_preview(edition, entry.seats)
    return render_template(
        "bookings/enroll/offer.html",
        entry=entry,
        edition=edition,
        token=token,
        form=form,
        owner=owner,
        error=error,
        price_excl=price[0],
        price_incl=price[2],
        cancel_deadline=policy.free_cancellation_deadline(edition),
        button_form=ButtonForm(),
    ), status


@bp.route("/waitlist/offer/<token>", methods=["GET", "POST"])
def waitlist_offer(token: str):
    try:
        entry = waitlist_rules.entry_for_offer_token(token)
    except DomainError as exc:
        return render_template("bookings/enroll/link_invalid.html", message=str(exc)), 410
    if request.method == "GET":
        return _offer_page(entry, token)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    if current_user.id != entry.user_id:
        abort(404)
    form = BillingForm()
    form.use_payment_methods(stripe_enabled())
    if not form.validate_on_submit():
        return _offer_page(entry, token, form=form, status=400)
    try:
        enrollment = waitlist_rules.accept_offer(
            entry, current_user, _billing(form), form.pay_by.data
        )
    except DomainError as exc:
        db.session.rollback()
        if _attach_error(form, exc):
            return _offer_page(entry, token, form=form, status=400)
        return _offer_page(entry, token, form=form, error=str(exc), status=409)
    db.session.commit()
    if enrollment.status == EnrollmentStatus.HELD:
        return _go_to_checkout(enrollment)
    flash(_("U bent ingeschreven. De bevestiging staat in uw e-mail."), "success")
    return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))


@bp.route("/waitlist/offer/<token>/decline", methods=["POST"])
def waitlist_decline(token: str):
    try:
        entry = waitlist_rules.entry_for_offer_token(token)
    except DomainError as exc:
        return render_template("bookings/enroll/link_invalid.html", message=str(exc)), 410
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        waitlist_rules.decline_offer(entry)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(
            _("U heeft het aanbod afgewezen. De plaats gaat naar de volgende op de lijst."),
            "info",
        )
    return redirect(url_for("bookings.waitlist_offer", token=token))


@bp.route("/waitlist/leave/<token>", methods=["GET", "POST"])
def waitlist_leave(token: str):
    try:
        entry = waitlist_rules.entry_for_leave_token(token)
    except DomainError as exc:
        return render_template("bookings/enroll/link_invalid.html", message=str(exc)), 410
    form = ButtonForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: waitlist_rules.leave_waitlist(entry), _("U staat niet meer op de wachtlijst.")
        )
        return redirect(url_for("bookings.waitlist_leave", token=token))
    return render_template(
        "bookings/enroll/leave.html",
        entry=entry,
        form=form,
        position=waitlist_rules.waitlist_position(entry),
    )


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@login_required
def waitlist_entry_leave(entry_id: int):
    entry = get_or_404(WaitlistEntry, entry_id)
    if entry.user_id != current_user.id:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    commit_or_flash(
        lambda: waitlist_rules.leave_waitlist(entry, by=current_user),
        _("U staat niet meer op de wachtlijst."),
    )
    return redirect(url_for("account.dashboard"))


# -- admin ----------------------------------------------------------------------------------------
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
    waitlist = waitlist_rules.edition_waitlist(edition)
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
        waitlist=waitlist,
        positions={entry.id: waitlist_rules.waitlist_position(entry) for entry in waitlist},
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
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with a byte order mark
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
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
    )
    for e in queries.edition_enrollments(edition):
        writer.writerow(
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
        )
    for entry in waitlist_rules.edition_waitlist(edition):
        writer.writerow(
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
                waitlist_rules.waitlist_position(entry) or "",
            ]
        )
    filename = f"inschrijvingen-editie-{edition.id}.csv"
    return Response(
        out.getvalue(),
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
    try:
        outcome = cancellation.cancel_enrollment(
            enrollment, by=current_user, reason=form.reason.data, refund=form.refund.data
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(
            _(
                "Inschrijving van %(name)s geannuleerd; terug: %(amount)s.",
                name=enrollment.user.name,
                amount=_money(outcome.refund_amount),
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
    try:
        count = sum(1 for e in queries.edition_enrollments(edition) if e.is_active)
        editions.cancel_edition(edition, form.reason.data, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(
            _(
                "De editie is geannuleerd; %(count)s deelnemers zijn bericht en terugbetaald.",
                count=count,
            ),
            "success",
        )
    return redirect(back)


# -- contributions to /account/ and /admin/ ------------------------------------------------------
@account_panels.register(20)
def _my_enrollments_panel(user) -> Markup | None:
    enrollments = queries.user_enrollments(user)
    entries = queries.user_waitlist_entries(user)
    if not enrollments and not entries:
        return None
    return Markup(  # noqa: S704 - our own template, autoescaped
        render_template(
            "bookings/enroll/_account_panel.html",
            enrollments=enrollments,
            entries=entries,
            positions={entry.id: waitlist_rules.waitlist_position(entry) for entry in entries},
            offer_tokens={
                entry.id: waitlist_rules.offer_token(entry)
                for entry in entries
                if entry.status == WaitlistStatus.OFFERED
            },
            may_cancel={e.id: policy.participant_may_cancel(e) for e in enrollments},
        )
    )


@admin_panels.register(20)
def _enrollments_tile(user) -> Markup | None:
    if not user.is_admin:
        return None
    return Markup(  # noqa: S704 - our own template, autoescaped
        render_template("bookings/enroll/_admin_tile.html", counts=overview.pipeline_counts())
    )
