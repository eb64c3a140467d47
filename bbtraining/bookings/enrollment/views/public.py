"""Public enrollment pages: enroll in an edition (with or without an account), join its waiting
list, and the waiting-list links mailed to people (accept or decline an offer, leave the list).
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from .... import vat
from ....auth.models import Role
from ....auth.services import register_user
from ....courses.models import Course, Edition, TrainingSession
from ....errors import DomainError
from ....extensions import db, limiter
from ....permissions import get_or_404
from ....web import commit_or_flash
from ... import bp
from ...billing.stripe_client import stripe_enabled
from .. import checkout, enrolling, named_seats, policy, queries, seats, waitlist
from ..forms import (
    BillingForm,
    ButtonForm,
    EnrollForm,
    NewAccountEnrollForm,
    NewAccountWaitlistForm,
    WaitlistForm,
)
from ..models import (
    Enrollment,
    EnrollmentStatus,
    PayBy,
    WaitlistStatus,
)


def _signup_limit() -> str:
    from flask import current_app

    return current_app.config["RESET_RATE_LIMIT"]


def _refusal_status(form, error: DomainError) -> int:
    """400 when the refusal sits on a field of the form (correct it and send again), else 409."""
    return 400 if error.field and getattr(form, error.field, None) is not None else 409


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
        form.billing_country.data = user.organisation.country
        form.vat_number.data = user.organisation.vat_number


def _reverse_charge_shown(form) -> bool:
    """Whether the billing details on the form (prefilled or sent) are those of a business in
    another member state whose number VIES confirmed: then prices show without Dutch VAT."""
    return vat.reverse_charge(form.billing_country.data, form.vat_number.data)


def _register_from(form, name: str):
    return register_user(
        name=name,
        email=form.email.data,
        password=form.password.data,
        roles=(Role.FACILITATOR,),
        locale=get_locale().language,
    )


def _seat_holders(form, user) -> list[named_seats.SeatHolder] | None:
    """None when the booker enrolls only themselves; else who takes the seats, in order."""
    if not form.is_group():
        return None
    holders = []
    if form.attend_myself:
        holders.append(named_seats.seat_holder(user.name, user.email, field="group_size"))
    for name, email in form.colleague_entries():
        holders.append(named_seats.seat_holder(name, email, field="group_size"))
    return holders


# What a POST reads of an edition: its course and its sessions' dates (open or not), not the
# trainers or the course's phases. The busiest request of the site (a training opens) loads
# them for nothing otherwise; the page shown after a refusal loads what it needs when it needs it.
_POST_LOAD = (
    lazyload(Edition.trainers),
    joinedload(Edition.course).lazyload(Course.phase_rows),
    selectinload(Edition.sessions).options(
        lazyload(TrainingSession.course), lazyload(TrainingSession.trainer)
    ),
)


def _edition_or_404(edition_id: int, *, post: bool = False) -> Edition:
    edition = get_or_404(Edition, edition_id, options=_POST_LOAD if post else ())
    if not edition.course.published and not (
        current_user.is_authenticated and current_user.is_admin
    ):
        abort(404)
    return edition


def _closed_reason(edition: Edition) -> str | None:
    try:
        enrolling.check_enrollment_open(edition)
    except DomainError as exc:
        return str(exc)
    return None


def _render_enroll(edition: Edition, *, form=None, waitlist_form=None, status=200):
    signed_in = current_user.is_authenticated
    if form is None:
        form = EnrollForm() if signed_in else NewAccountEnrollForm()
        form.use_payment_methods(stripe_enabled())
        if signed_in:
            _prefill_billing(form, current_user)
    if waitlist_form is None:
        waitlist_form = WaitlistForm() if signed_in else NewAccountWaitlistForm()
    existing = queries.active_enrollment(edition, current_user) if signed_in else None
    entry = queries.active_waitlist_entry(edition, current_user) if signed_in else None
    reverse_charge = signed_in and _reverse_charge_shown(form)
    price = enrolling.price_preview(edition, reverse_charge=reverse_charge)
    return render_template(
        "bookings/enroll/enroll.html",
        edition=edition,
        course=edition.course,
        form=form,
        waitlist_form=waitlist_form,
        closed_reason=_closed_reason(edition),
        seats_free=seats.seats_free(edition),
        existing=existing,
        entry=entry,
        position=waitlist.waitlist_position(entry) if entry else None,
        offer_url=(
            url_for("bookings.waitlist_offer", token=waitlist.offer_token(entry))
            if entry is not None and entry.status == WaitlistStatus.OFFERED
            else None
        ),
        price_excl=price[0],
        price_vat=price[1],
        price_incl=price[2],
        reverse_charge=reverse_charge,
        vat_country=vat.country_label(form.billing_country.data),
        cancel_deadline=policy.offered_free_cancellation(edition),
        stripe_available=stripe_enabled(),
        course_url=_course_url(edition),
    ), status


def _course_url(edition: Edition) -> str | None:
    from flask import current_app

    if "courses.course_page" in current_app.view_functions:
        return url_for("courses.course_page", slug=edition.course.slug)
    return None


def go_to_checkout(enrollment: Enrollment):
    """Second step of a Stripe enrollment, after the seat is committed: creating the Checkout
    Session is a network call, and the edition's row must not stay locked while it runs."""
    outcome = commit_or_flash(lambda: checkout.start_checkout(enrollment))
    if not outcome:
        return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))
    return redirect(outcome.value, code=303)


@bp.route("/editions/<int:edition_id>/enroll", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"], exempt_when=lambda: current_user.is_authenticated)
def enroll(edition_id: int):
    edition = _edition_or_404(edition_id, post=request.method == "POST")
    signed_in = current_user.is_authenticated
    form = EnrollForm() if signed_in else NewAccountEnrollForm()
    form.use_payment_methods(stripe_enabled())
    if request.method == "GET":
        _prefill_billing(form, current_user)
        return _render_enroll(edition, form=form)
    if not form.validate_on_submit():
        return _render_enroll(edition, form=form, status=400)

    def enroll_someone():
        new_user = None if signed_in else _register_from(form, form.billing_name.data)
        user = new_user or current_user._get_current_object()
        holders = _seat_holders(form, user)
        enrollment = enrolling.enroll(
            edition,
            user,
            _billing(form),
            form.pay_by.data,
            holders=holders,
            seats=form.seat_count if holders is not None else 1,
        )
        # What the answer needs, read before the commit expires it: reloading the enrollment
        # would bring its edition, sessions and trainers back with it.
        invoiced = enrollment.pay_by == PayBy.INVOICE and enrollment.invoice_id is not None
        return new_user, enrollment, enrollment.id, enrollment.status, invoiced

    outcome = commit_or_flash(enroll_someone, form=form)
    if isinstance(outcome.error, policy.EditionFull):
        return _render_enroll(edition, status=409)
    if not outcome:
        return _render_enroll(edition, form=form, status=_refusal_status(form, outcome.error))
    new_user, enrollment, enrollment_id, status, invoiced = outcome.value
    if new_user is not None:
        login_user(new_user)
    if status == EnrollmentStatus.HELD:
        return go_to_checkout(enrollment)
    flash(
        # The mail links to the invoice (it is not attached); this page links to it too.
        _(
            "U bent ingeschreven. De bevestiging staat in uw e-mail; uw factuur downloadt u "
            "hieronder of via de link in die e-mail."
        )
        if invoiced
        else _("U bent ingeschreven. De bevestiging staat in uw e-mail."),
        "success",
    )
    return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment_id))


@bp.route("/editions/<int:edition_id>/waitlist", methods=["POST"])
@limiter.limit(_signup_limit, exempt_when=lambda: current_user.is_authenticated)
def join_waitlist(edition_id: int):
    edition = _edition_or_404(edition_id, post=True)
    signed_in = current_user.is_authenticated
    form = WaitlistForm() if signed_in else NewAccountWaitlistForm()
    if not form.validate_on_submit():
        return _render_enroll(edition, waitlist_form=form, status=400)

    def join():
        new_user = None if signed_in else _register_from(form, form.name.data)
        entry = waitlist.join_waitlist(
            edition,
            new_user or current_user._get_current_object(),
            seats=form.seats.data,
            any_edition=form.any_edition.data,
            note=form.note.data,
        )
        # Read before the commit expires the entry (a reload brings its edition back in).
        if entry.status == WaitlistStatus.OFFERED:
            return new_user, waitlist.offer_token(entry), None
        return new_user, None, waitlist.waitlist_position(entry)

    outcome = commit_or_flash(join, form=form)
    if not outcome:
        return _render_enroll(
            edition, waitlist_form=form, status=_refusal_status(form, outcome.error)
        )
    new_user, offer_token, position = outcome.value
    if new_user is not None:
        login_user(new_user)
    if offer_token is not None:
        flash(_("Er is meteen plaats voor u. Accepteer het aanbod hieronder."), "success")
        return redirect(url_for("bookings.waitlist_offer", token=offer_token))
    flash(
        _(
            "U staat op de wachtlijst, op plaats %(position)s. Komt er een plaats vrij, dan "
            "mailen we u.",
            position=position,
        ),
        "success",
    )
    return redirect(url_for("bookings.enroll", edition_id=edition_id))


# -- waiting list by link -------------------------------------------------------------------------
def _offer_page(entry, token, *, form=None, status=200):
    owner = current_user.is_authenticated and current_user.id == entry.user_id
    if form is None and owner:
        form = BillingForm()
        form.use_payment_methods(stripe_enabled())
        _prefill_billing(form, current_user)
    edition = entry.offered_edition or entry.edition
    reverse_charge = form is not None and _reverse_charge_shown(form)
    price = enrolling.price_preview(edition, entry.seats, reverse_charge=reverse_charge)
    return render_template(
        "bookings/enroll/offer.html",
        entry=entry,
        edition=edition,
        token=token,
        form=form,
        owner=owner,
        price_excl=price[0],
        price_incl=price[2],
        reverse_charge=reverse_charge,
        cancel_deadline=policy.offered_free_cancellation(edition),
        button_form=ButtonForm(),
    ), status


@bp.route("/waitlist/offer/<token>", methods=["GET", "POST"])
def waitlist_offer(token: str):
    try:
        entry = waitlist.entry_for_offer_token(token)
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
    outcome = commit_or_flash(
        lambda: waitlist.accept_offer(entry, current_user, _billing(form), form.pay_by.data),
        form=form,
    )
    if not outcome:
        return _offer_page(entry, token, form=form, status=_refusal_status(form, outcome.error))
    enrollment = outcome.value
    if enrollment.status == EnrollmentStatus.HELD:
        return go_to_checkout(enrollment)
    flash(_("U bent ingeschreven. De bevestiging staat in uw e-mail."), "success")
    return redirect(url_for("bookings.enrollment_detail", enrollment_id=enrollment.id))


@bp.route("/waitlist/offer/<token>/decline", methods=["POST"])
def waitlist_decline(token: str):
    try:
        entry = waitlist.entry_for_offer_token(token)
    except DomainError as exc:
        return render_template("bookings/enroll/link_invalid.html", message=str(exc)), 410
    if not ButtonForm().validate_on_submit():
        abort(400)
    if commit_or_flash(lambda: waitlist.decline_offer(entry)):
        flash(
            _("U heeft het aanbod afgewezen. De plaats gaat naar de volgende op de lijst."),
            "info",
        )
    return redirect(url_for("bookings.waitlist_offer", token=token))


@bp.route("/waitlist/leave/<token>", methods=["GET", "POST"])
def waitlist_leave(token: str):
    try:
        entry = waitlist.entry_for_leave_token(token)
    except DomainError as exc:
        return render_template("bookings/enroll/link_invalid.html", message=str(exc)), 410
    form = ButtonForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: waitlist.leave_waitlist(entry), _("U staat niet meer op de wachtlijst.")
        )
        return redirect(url_for("bookings.waitlist_leave", token=token))
    return render_template(
        "bookings/enroll/leave.html",
        entry=entry,
        form=form,
        position=waitlist.waitlist_position(entry),
    )
