"""The public page of inhouse bookings: the request form on a course."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user

from ....errors import DomainError
from ....extensions import limiter
from ....web import commit_or_flash
from ... import bp
from .. import requests
from ..forms import RequestForm


def _request_limit() -> str:
    return current_app.config["CONTACT_RATE_LIMIT"]


@bp.route("/courses/<slug>/request", methods=["GET", "POST"])
@limiter.limit(_request_limit, methods=["POST"])
def inhouse_request(slug: str):
    course = requests.requestable_course(slug)
    if course is None:
        abort(404)
    user = current_user if current_user.is_authenticated else None
    form = RequestForm(
        needs_organisation=user is None or user.organisation is None,
        needs_account=user is None,
    )
    if request.method == "GET":
        form.prefill(request.args)
    if request.method == "GET" and user is not None:
        form.contact_name.data = form.contact_name.data or user.name
        form.contact_email.data = form.contact_email.data or user.email
        form.contact_phone.data = form.contact_phone.data or user.phone
    if form.validate_on_submit():
        data = requests.RequestData(
            contact_name=form.contact_name.data,
            contact_email=form.contact_email.data,
            contact_phone=form.contact_phone.data,
            expected_participants=form.expected_participants.data,
            delivery_mode=form.delivery_mode.data,
            venue=form.venue.data,
            date_options=form.date_options(),
            assembly_phase=form.assembly_phase.data,
            assembly_context=form.assembly_context.data,
            questions=form.questions.data,
            organisation_name=form.organisation_name.data if form.needs_organisation else None,
            organisation_kind=form.organisation_kind.data if form.needs_organisation else "",
        )
        account = None
        if user is None:
            account = requests.NewAccount(
                name=form.contact_name.data,
                email=form.contact_email.data,
                password=form.password.data,
                locale=get_locale().language,
            )

        def submit():
            try:
                return requests.submit_request(course, data, user=user, account=account)
            except DomainError as exc:
                # register_user names its fields after the account form ("email", "password").
                if exc.field == "email":
                    exc.field = "contact_email"
                raise

        outcome = commit_or_flash(submit, form=form)
        if outcome:
            booking, new_user = outcome.value
            if new_user is not None:
                login_user(new_user)
            if booking.membership_pending:
                flash(
                    _(
                        "Uw aanvraag is ontvangen. %(org)s had al een account bij ons: we "
                        "bevestigen eerst dat u erbij hoort en nemen daarna contact met u op.",
                        org=booking.organisation.name,
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "Uw aanvraag is ontvangen. U krijgt een bevestiging per e-mail; we sturen "
                        "u binnen enkele werkdagen een voorstel."
                    ),
                    "success",
                )
            return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id))
    status = 400 if request.method == "POST" else 200
    return render_template("bookings/inhouse/request.html", form=form, course=course), status
