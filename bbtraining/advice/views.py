"""Public and client pages of kennismakingsgesprekken: booking one at /advies/kennismaking, the
signed link to move or cancel it, and the client's own view of a call and what was agreed."""

from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from ..bookings.inhouse.requests import NewAccount
from ..courses.models import PHASE_LABELS
from ..errors import DomainError
from ..extensions import limiter
from ..permissions import get_or_404
from ..web import commit_or_flash
from . import bp, call_booking, calls, outcome
from .advisors import active_advisors
from .call_forms import BookCallForm, CancelCallForm, MoveCallForm, time_zone_or_default
from .mail import when
from .models import CALL_STATUS_LABELS, NEXT_STEP_LABELS, AdviceCall, AdvisorProfile


def _public_post_limit() -> str:
    return current_app.config["CONTACT_RATE_LIMIT"]


def _chosen_advisor() -> AdvisorProfile | None:
    """The advisor picked on the page (`?adviseur=<id>`), if they can be booked."""
    raw = request.values.get("adviseur", "")
    if not raw.isdigit():
        return None
    wanted = int(raw)
    return next((a for a in active_advisors() if a.id == wanted), None)


def _from_day() -> date | None:
    try:
        return date.fromisoformat(request.args.get("vanaf", ""))
    except ValueError:
        return None


def _slot_field_error(exc: DomainError) -> DomainError:
    """A refusal of the slot (taken meanwhile, too soon) is shown on the slot list."""
    if exc.field in (None, "starts_at"):
        exc.field = "slot"
    elif exc.field == "email":  # register_user names the account form's field
        exc.field = "contact_email"
    return exc


@bp.route("/kennismaking", methods=["GET", "POST"])
@limiter.limit(_public_post_limit, methods=["POST"])
def book():
    user = current_user if current_user.is_authenticated else None
    form = BookCallForm(
        needs_organisation=user is None or user.organisation is None,
        needs_account=user is None,
    )
    advisor = _chosen_advisor()
    if request.method == "GET":
        form.tz.data = time_zone_or_default(request.args.get("tz"))
        if request.args.get("fase") in dict(form.phase.choices):
            form.phase.data = request.args["fase"]
        if user is not None:
            form.phone.data = form.phone.data or user.phone
    if form.validate_on_submit():
        data = call_booking.CallRequest(
            starts_at=form.starts_at,
            mode=form.mode.data,
            phone=form.phone.data,
            phase=form.phase.data,
            question=form.question.data or "",
            time_zone=form.time_zone,
            organisation_name=form.organisation_name.data if form.needs_organisation else None,
            organisation_kind=form.organisation_kind.data if form.needs_organisation else "",
        )
        account = None
        if user is None:
            account = NewAccount(
                name=form.contact_name.data,
                email=form.contact_email.data,
                password=form.password.data,
                locale=get_locale().language,
            )

        def submit():
            try:
                return call_booking.book(data, user=user, account=account, advisor=advisor)
            except DomainError as exc:
                raise _slot_field_error(exc) from None

        result = commit_or_flash(submit, form=form)
        if result:
            call, new_user = result.value
            if new_user is not None:
                login_user(new_user)
            flash(
                _("Uw gesprek is ingepland. De bevestiging met agenda-uitnodiging is onderweg."),
                "success",
            )
            return redirect(url_for("advice.manage", token=calls.manage_token(call)), 303)
    page = call_booking.offered_slots(form.time_zone, advisor=advisor, from_day=_from_day())
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "advice/book.html",
            form=form,
            page=page,
            advisor=advisor,
            advisors=active_advisors(),
        ),
        status,
    )


def _call_for_token_or_404(token: str) -> AdviceCall:
    if len(token) > 300:
        abort(404)
    call = calls.call_for_token(token)
    if call is None:
        abort(404)
    return call


@bp.route("/gesprek/<token>", methods=["GET"])
def manage(token: str):
    call = _call_for_token_or_404(token)
    return _manage_page(call, token, MoveCallForm(), CancelCallForm())


def _manage_page(call, token, move_form, cancel_form, status: int = 200):
    page = None
    if call.is_booked:
        page = call_booking.offered_slots(
            call.time_zone, advisor=call.advisor, from_day=_from_day()
        )
    return (
        render_template(
            "advice/manage.html",
            call=call,
            token=token,
            page=page,
            move_form=move_form,
            cancel_form=cancel_form,
            can_change=outcome.can_client_change(call),
        ),
        status,
    )


@bp.route("/gesprek/<token>/verzetten", methods=["POST"])
@limiter.limit(_public_post_limit)
def move(token: str):
    call = _call_for_token_or_404(token)
    form = MoveCallForm()
    if form.validate_on_submit():
        starts_at = form.starts_at

        def submit():
            try:
                return call_booking.move(call, starts_at)
            except DomainError as exc:
                raise _slot_field_error(exc) from None

        if commit_or_flash(
            submit, _("Uw gesprek is verzet. U krijgt een nieuwe uitnodiging."), form=form
        ):
            return redirect(url_for("advice.manage", token=token), 303)
        call = _call_for_token_or_404(token)  # reloaded after the rollback
    return _manage_page(call, token, form, CancelCallForm(), 400)


@bp.route("/gesprek/<token>/annuleren", methods=["POST"])
@limiter.limit(_public_post_limit)
def cancel(token: str):
    call = _call_for_token_or_404(token)
    form = CancelCallForm()
    if form.validate_on_submit() and commit_or_flash(
        lambda: call_booking.cancel(call),
        _("Uw gesprek is geannuleerd. De afspraak verdwijnt uit uw agenda."),
    ):
        return redirect(url_for("advice.manage", token=token), 303)
    call = _call_for_token_or_404(token)
    return _manage_page(call, token, MoveCallForm(), form, 400)


# -- the client's portal -------------------------------------------------------------------------
@bp.route("/gesprekken/<int:call_id>")
@login_required
def call_detail(call_id: int):
    call = get_or_404(AdviceCall, call_id)
    if not outcome.client_can_view(call, current_user):
        abort(404)
    return render_template(
        "advice/call.html",
        call=call,
        manage_token=calls.manage_token(call) if call.requester_id == current_user.id else None,
        next_links=outcome.next_step_links(call),
    )


@bp.app_context_processor
def call_helpers() -> dict:
    """Helpers for the pages and panels that show a call (client, portal and staff)."""

    def call_when(call: AdviceCall, time_zone: str | None = None):
        return when(
            call.starts_at,
            call.ends_at,
            time_zone or call.time_zone,
            get_locale().language if get_locale() else "nl",
        )

    return {
        "call_when": call_when,
        "call_status_label": lambda call: CALL_STATUS_LABELS.get(call.status, call.status),
        "call_phase_label": lambda phase: PHASE_LABELS.get(phase or "", phase or ""),
        "call_next_step_label": lambda step: (
            NEXT_STEP_LABELS.get(step, _("Nog geen vervolg")) if step else _("Nog geen vervolg")
        ),
    }
