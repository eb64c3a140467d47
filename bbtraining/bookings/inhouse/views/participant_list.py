"""The client adds many participants at once: paste a list or choose a CSV/Excel file, check the
preview row by row, confirm. Only the confirmation writes (bulk.confirm)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from ....errors import DomainError
from ....web import answers_too_large, attach_error, commit_or_flash
from ... import bp
from .. import bulk
from ..models import PARTICIPANT_EDITABLE_STATUSES
from ..participant_list_forms import ParticipantListConfirmForm, ParticipantListForm
from .account import _client_booking, _client_only


def _editable_booking(booking_id: int):
    booking = _client_booking(booking_id)
    _client_only(booking)
    if booking.status not in PARTICIPANT_EDITABLE_STATUSES:
        flash(
            _(
                "De deelnemerslijst kan niet meer worden gewijzigd bij status ‘%(status)s’.",
                status=booking.status_label,
            ),
            "error",
        )
        return booking, False
    return booking, True


def _detail(booking):
    return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id) + "#deelnemers")


def _render(booking, form, preview=None, confirm_form=None, status=200):
    return render_template(
        "bookings/inhouse/participant_list.html",
        booking=booking,
        form=form,
        preview=preview,
        confirm_form=confirm_form,
    ), status


def _file_too_large():
    """The import page with the refusal on the file field, for an upload over the request limit
    (MAX_CONTENT_LENGTH): its body was never read."""
    if not current_user.is_authenticated or not request.view_args:
        return None
    try:
        booking, editable = _editable_booking(request.view_args["booking_id"])
    except HTTPException:
        return None  # not theirs: the general page says no more than that
    if not editable:
        return None
    form = ParticipantListForm(formdata=None)
    form.upload.errors = [_("Dit bestand is groter dan 1 MB.")]
    return _render(booking, form, status=413)


@bp.route("/account/inhouse/<int:booking_id>/participants/import", methods=["GET", "POST"])
@answers_too_large(_file_too_large)
@login_required
def inhouse_participant_list(booking_id: int):
    booking, editable = _editable_booking(booking_id)
    if not editable:
        return _detail(booking)
    form = ParticipantListForm()
    if not form.validate_on_submit():
        return _render(booking, form, status=400 if form.is_submitted() else 200)
    try:
        text = form.text.data or ""
        upload = form.upload.data
        if upload and getattr(upload, "filename", ""):
            text = bulk.text_from_file(upload.filename, upload.read(bulk.MAX_FILE_BYTES + 1))
        preview = bulk.judge(booking, text)
    except DomainError as exc:
        if not attach_error(form, exc):
            form.form_errors.append(str(exc))
        return _render(booking, form, status=400)
    form.text.data = preview.text  # a file's rows become editable text for a second try
    confirm_form = ParticipantListConfirmForm(formdata=None, text=preview.text)
    return _render(booking, form, preview, confirm_form)


@bp.route("/account/inhouse/<int:booking_id>/participants/import/confirm", methods=["POST"])
@login_required
def inhouse_participant_list_confirm(booking_id: int):
    booking, editable = _editable_booking(booking_id)
    if not editable:
        return _detail(booking)
    confirm_form = ParticipantListConfirmForm()
    if not confirm_form.validate_on_submit():
        return _render(booking, ParticipantListForm(formdata=None), status=400)
    outcome = commit_or_flash(
        lambda: bulk.confirm(booking, confirm_form.text.data, by=current_user),
        form=confirm_form,
    )
    if not outcome:
        form = ParticipantListForm(formdata=None, text=confirm_form.text.data)
        return _render(booking, form, status=400)
    preview = outcome.value
    added = len(preview.ok_rows)
    flash(
        ngettext("%(num)d deelnemer toegevoegd.", "%(num)d deelnemers toegevoegd.", added),
        "success",
    )
    if preview.skipped:
        flash(
            ngettext(
                "%(num)d adres stond al op de lijst en is overgeslagen: %(emails)s.",
                "%(num)d adressen stonden al op de lijst en zijn overgeslagen: %(emails)s.",
                len(preview.skipped),
                emails=", ".join(r.email for r in preview.skipped),
            ),
            "info",
        )
    if preview.errors:
        flash(
            ngettext(
                "%(num)d regel met een fout is niet toegevoegd.",
                "%(num)d regels met een fout zijn niet toegevoegd.",
                len(preview.errors),
            ),
            "warning",
        )
    return _detail(booking)
