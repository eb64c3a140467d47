"""Staff pages of kennismakingsgesprekken: today's and this week's calls per advisor, the
no-shows, and one call with its outcome. Admins see every call, an advisor their own."""

from datetime import datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db_types import utcnow
from ..extensions import db
from ..permissions import get_or_404, roles_required
from ..web import commit_or_flash
from . import admin_bp, call_booking, outcome
from .advisors import active_advisors
from .call_forms import CallStatusForm, OutcomeForm, ReassignForm
from .models import AdviceCall, AdvisorProfile, CallStatus

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
staff_required = roles_required("admin", "advisor")


def _day_start(day) -> datetime:
    return datetime.combine(day, time(0), AMSTERDAM)


def _calls_between(start: datetime, end: datetime, statuses, *, own_only: bool):
    query = (
        select(AdviceCall)
        .join(AdvisorProfile, AdvisorProfile.id == AdviceCall.advisor_id)
        .where(
            AdviceCall.starts_at >= start,
            AdviceCall.starts_at < end,
            AdviceCall.status.in_(statuses),
        )
        .options(selectinload(AdviceCall.organisation), selectinload(AdviceCall.requester))
        .order_by(AdvisorProfile.id, AdviceCall.starts_at)
    )
    if own_only:
        query = query.where(AdvisorProfile.user_id == current_user.id)
    return list(db.session.scalars(query))


def _per_advisor(calls: list[AdviceCall]) -> list[tuple[AdvisorProfile, list[AdviceCall]]]:
    ordered = sorted(calls, key=lambda c: (c.advisor.user.name.casefold(), c.advisor_id))
    return [
        (group[0].advisor, sorted(group, key=lambda c: c.starts_at))
        for group in (list(g) for _k, g in groupby(ordered, key=lambda c: c.advisor_id))
    ]


@admin_bp.route("/gesprekken")
@staff_required
def calls():
    own_only = not current_user.is_admin
    today = utcnow().astimezone(AMSTERDAM).date()
    week_end = today + timedelta(days=7 - today.weekday())  # the Monday after
    planned = (CallStatus.BOOKED, CallStatus.HELD, CallStatus.NO_SHOW)
    today_calls = _calls_between(
        _day_start(today), _day_start(today + timedelta(days=1)), planned, own_only=own_only
    )
    week_calls = _calls_between(
        _day_start(today + timedelta(days=1)), _day_start(week_end), planned, own_only=own_only
    )
    no_shows = _calls_between(
        _day_start(today - timedelta(days=30)),
        _day_start(today + timedelta(days=1)),
        (CallStatus.NO_SHOW,),
        own_only=own_only,
    )
    return render_template(
        "advice/staff_calls.html",
        today=today,
        week_end=week_end - timedelta(days=1),
        today_groups=_per_advisor(today_calls),
        week_groups=_per_advisor(week_calls),
        no_shows=sorted(no_shows, key=lambda c: c.starts_at, reverse=True),
    )


def _staff_call_or_404(call_id: int) -> AdviceCall:
    call = get_or_404(AdviceCall, call_id)
    if not outcome.can_staff_handle(call, current_user):
        abort(404)
    return call


def _outcome_form(call: AdviceCall, formdata=None) -> OutcomeForm:
    form = OutcomeForm(formdata=formdata)
    phase = (form.outcome_phase.data if formdata else None) or call.outcome_phase or call.phase
    form.courses.choices = outcome.course_choices(phase)
    if formdata is None:
        form.outcome_phase.data = phase
        form.next_step.data = call.next_step or ""
        form.courses.data = [c.id for c in call.suggested_courses]
        form.outcome_notes.data = call.outcome_notes or ""
    return form


def _reassign_form(call: AdviceCall, formdata=None) -> ReassignForm:
    form = ReassignForm(formdata=formdata)
    form.advisor.choices = [
        (a.id, a.user.name) for a in active_advisors() if a.id != call.advisor_id
    ]
    return form


def _detail(call, outcome_form=None, reassign_form=None, status=200):
    return (
        render_template(
            "advice/staff_call.html",
            call=call,
            outcome_form=outcome_form or _outcome_form(call),
            reassign_form=reassign_form or _reassign_form(call),
            status_form=CallStatusForm(),
            has_passed=call.starts_at <= utcnow(),
            next_links=outcome.next_step_links(call),
            bundles_url=outcome.bundle_offer_url(call),
        ),
        status,
    )


@admin_bp.route("/gesprekken/<int:call_id>")
@staff_required
def call_detail(call_id: int):
    return _detail(_staff_call_or_404(call_id))


@admin_bp.route("/gesprekken/<int:call_id>/uitkomst", methods=["POST"])
@staff_required
def call_outcome(call_id: int):
    call = _staff_call_or_404(call_id)
    form = _outcome_form(call, request.form)
    if form.validate_on_submit() and commit_or_flash(
        lambda: outcome.record_outcome(
            call,
            by=current_user,
            phase=form.outcome_phase.data,
            next_step=form.next_step.data or "",
            course_ids=list(form.courses.data or []),
            notes=form.outcome_notes.data or "",
        ),
        _("De uitkomst is vastgelegd."),
        form=form,
    ):
        return redirect(url_for("advice_admin.call_detail", call_id=call.id), 303)
    return _detail(_staff_call_or_404(call_id), outcome_form=form, status=400)


@admin_bp.route("/gesprekken/<int:call_id>/status", methods=["POST"])
@staff_required
def call_status(call_id: int):
    call = _staff_call_or_404(call_id)
    form = CallStatusForm()
    if form.validate_on_submit():
        labels = {
            CallStatus.HELD.value: _("Het gesprek staat als gehouden."),
            CallStatus.NO_SHOW.value: _("Het gesprek staat als niet verschenen."),
        }
        commit_or_flash(
            lambda: outcome.mark(call, form.status.data, by=current_user),
            labels.get(form.status.data),
        )
    return redirect(url_for("advice_admin.call_detail", call_id=call_id), 303)


@admin_bp.route("/gesprekken/<int:call_id>/adviseur", methods=["POST"])
@roles_required("admin")
def call_reassign(call_id: int):
    call = _staff_call_or_404(call_id)
    form = _reassign_form(call, request.form)
    if form.validate_on_submit():
        advisor = db.session.get(AdvisorProfile, form.advisor.data)
        if advisor is not None and commit_or_flash(
            lambda: call_booking.reassign(call, advisor, by=current_user),
            _("Het gesprek is overgedragen; beide adviseurs en de klant zijn ingelicht."),
            form=form,
        ):
            return redirect(url_for("advice_admin.call_detail", call_id=call_id), 303)
    return _detail(_staff_call_or_404(call_id), reassign_form=form, status=400)
