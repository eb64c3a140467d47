"""Staff page of one match request: who answered what, and the follow-up while answers are
open (remind, close with a reason, forward to other alumni; rules in match_followup)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..permissions import admin_required, get_or_404
from ..web import commit_or_flash
from . import admin_bp, match_followup
from .forms import ButtonForm, CloseMatchForm, ForwardMatchForm
from .match_models import MatchRecipient, MatchRequest


def _render(match: MatchRequest, status: int = 200, **forms):
    q = request.args.get("q", "")
    return render_template(
        "alumni/admin/match_detail.html",
        req=match,
        q=q,
        candidates=[] if match.is_closed else match_followup.candidates(match, q),
        button_form=ButtonForm(),
        close_form=forms.get("close_form") or CloseMatchForm(formdata=None),
        forward_form=forms.get("forward_form") or ForwardMatchForm(formdata=None),
    ), status


def _back(match: MatchRequest):
    return redirect(url_for("alumni_admin.match_detail", request_id=match.id))


@admin_bp.route("/matches/<int:request_id>")
@admin_required
def match_detail(request_id: int):
    return _render(get_or_404(MatchRequest, request_id))


@admin_bp.route("/matches/<int:request_id>/recipients/<int:recipient_id>/remind", methods=["POST"])
@admin_required
def match_remind(request_id: int, recipient_id: int):
    match = get_or_404(MatchRequest, request_id)
    recipient = get_or_404(MatchRecipient, recipient_id)
    if recipient.request_id != match.id:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    name = recipient.profile.display_name if recipient.profile else recipient.alumnus.name
    if commit_or_flash(
        lambda: match_followup.remind(recipient, by=current_user),
        _("%(name)s krijgt een herinnering per e-mail.", name=name),
    ):
        return _back(match)
    return _render(match, 400)


@admin_bp.route("/matches/<int:request_id>/close", methods=["POST"])
@admin_required
def match_close(request_id: int):
    match = get_or_404(MatchRequest, request_id)
    form = CloseMatchForm()
    if form.validate_on_submit() and commit_or_flash(
        lambda: match_followup.close(match, form.reason.data, by=current_user),
        _("Het verzoek is gesloten; de opdrachtgever krijgt de reden per e-mail."),
        form=form,
    ):
        return _back(match)
    return _render(match, 400, close_form=form)


@admin_bp.route("/matches/<int:request_id>/forward", methods=["POST"])
@admin_required
def match_forward(request_id: int):
    match = get_or_404(MatchRequest, request_id)
    form = ForwardMatchForm()
    outcome = form.validate_on_submit() and commit_or_flash(
        lambda: match_followup.forward(match, form.profiles.data or [], by=current_user),
        form=form,
    )
    if outcome:
        added = len(outcome.value)
        message = ngettext(
            "Het verzoek is doorgestuurd naar %(num)d gespreksbegeleider.",
            "Het verzoek is doorgestuurd naar %(num)d gespreksbegeleiders.",
            added,
        )
        flash(message, "success")
        return _back(match)
    return _render(match, 400, forward_form=form)
