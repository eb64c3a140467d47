"""The evaluation form behind the mailed link, and the results for staff and trainers."""

from flask import abort, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ...i18n import lazy_gettext as _l
from ...permissions import admin_required, get_or_404, get_visible_or_404
from ...web import commit_or_flash
from .. import bp
from . import answers, models, results
from .forms import EvaluationForm

_ALREADY_ANSWERED = _l("U heeft deze training al beoordeeld. Een tweede antwoord kan niet.")


@bp.app_template_filter("grade")
def grade_filter(value) -> str:
    """An average rapportcijfer the Dutch way: 7,8."""
    return "–" if value is None else format_decimal(value, format="0.0")


def _message(title, message, status: int):
    page = render_template(
        "bookings/evaluation/message.html", title=title, message=message, status=status
    )
    return page, status


@bp.route("/evaluation/<token>", methods=["GET", "POST"])
def evaluation_form(token: str):
    try:
        evaluation_request = answers.request_for_token(token, current_user)
    except answers.EvaluationLinkError as exc:
        return _message(_("Evaluatie"), exc.message, exc.status)
    form = EvaluationForm()
    if evaluation_request.response is not None:
        if form.is_submitted():
            return _message(_("Al beoordeeld"), _ALREADY_ANSWERED, 400)
        return _message(
            _("Bedankt!"), _("Bedankt voor uw beoordeling. We lezen alle antwoorden."), 200
        )
    if form.validate_on_submit():
        answered = commit_or_flash(
            lambda: answers.submit_evaluation(
                evaluation_request,
                grade=form.grade.data,
                went_well=form.went_well.data,
                could_be_better=form.could_be_better.data,
            ),
            _("Bedankt voor uw beoordeling!"),
            form=form,
            taken_message=_ALREADY_ANSWERED,  # the same form submitted twice at the same moment
        )
        if answered or answered.error.field is None:
            # Stored, or answered already (the flash says so): the link now shows the thanks.
            return redirect(url_for("bookings.evaluation_form", token=token))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "bookings/evaluation/form.html",
        form=form,
        request_=evaluation_request,
        round_=evaluation_request.round,
    ), status


# -- staff -------------------------------------------------------------------------------------
@bp.route("/admin/evaluations/")
@admin_required
def evaluations_admin():
    return render_template(
        "bookings/evaluation/admin.html",
        overall=results.overall(),
        by_course=results.summary_by_course(),
        by_round=results.summary_by_round(),
        by_trainer=results.summary_by_trainer(),
    )


@bp.route("/admin/evaluations/<int:round_id>")
@admin_required
def evaluation_round_admin(round_id: int):
    evaluation_round = get_or_404(models.EvaluationRound, round_id)
    responses = results.responses_for(evaluation_round)
    return render_template(
        "bookings/evaluation/round.html",
        round_=evaluation_round,
        responses=responses,
        distribution=results.grade_distribution(responses),
        show_names=True,
        back=url_for("bookings.evaluations_admin"),
    )


# -- trainers ----------------------------------------------------------------------------------
@bp.route("/account/evaluations/<int:round_id>")
@login_required
def evaluation_round_trainer(round_id: int):
    evaluation_round = get_visible_or_404(models.EvaluationRound, round_id, current_user)
    if not current_user.is_trainer and not current_user.is_admin:
        abort(404)
    responses = results.responses_for(evaluation_round)
    return render_template(
        "bookings/evaluation/round.html",
        round_=evaluation_round,
        responses=responses,
        distribution=results.grade_distribution(responses),
        show_names=False,  # trainers read the answers without names
        back=url_for("account.dashboard"),
    )


def trainer_evaluations_panel(user):
    if not user.is_trainer:
        return None
    rounds = results.summary_by_round(trainer=user, limit=20)
    if not rounds:
        return None
    # render_template has escaped everything already; Markup only stops a second escape.
    return Markup(  # noqa: S704
        render_template(
            "bookings/evaluation/_trainer_panel.html",
            rounds=rounds,
            overall=results.overall(trainer=user),
        )
    )


def evaluations_tile(user):
    return Markup(  # noqa: S704
        render_template(
            "bookings/evaluation/_admin_tile.html",
            overall=results.overall(),
            latest=results.summary_by_round(limit=3),
        )
    )
