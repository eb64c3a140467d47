"""The trainer's attendance sheet (made for a phone), self check-in, exports and completion.

Every sheet URL answers only to the session's trainers and staff; anyone else gets a 404, so a
session id reveals nothing. The sheet's forms are plain POSTs that work without JavaScript;
static/js/attendance.js sends the same forms with fetch (Accept: application/json) and gets the
sheet's state back instead of a redirect.
"""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import segno
from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_time, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup

from ...courses.models import Edition, TrainingSession
from ...db_types import utcnow
from ...errors import DomainError
from ...exports import csv_bytes, xlsx_bytes
from ...extensions import db
from ...permissions import admin_required, get_or_404
from ...web import Outcome, commit, commit_or_flash
from .. import bp
from ..sessions.groups import group_for_key, session_group
from . import access, check_in, exports, guests, marking, overviews
from .completion import group_completions, override_completion
from .forms import (
    ButtonForm,
    CheckInForm,
    ConfirmForm,
    DetailsForm,
    GuestForm,
    MarkForm,
    OverrideForm,
    SessionNoteForm,
)
from .models import Completion
from .sheet import SheetRow, build_sheet

T = TypeVar("T")
POLL_MILLISECONDS = 5000
QR_REFRESH_MILLISECONDS = 20000


# == helpers =====================================================================================
def _sheet_session_or_404(session_id: int) -> TrainingSession:
    session = db.session.get(TrainingSession, session_id)
    if session is None or not access.can_manage_sheet(current_user, session):
        abort(404)
    return session


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def counts_text(counts: dict[str, int]) -> str:
    parts = [
        _("%(n)s aanwezig", n=counts["present"]),
        _("%(n)s afwezig", n=counts["absent"]),
        _("%(n)s afgemeld", n=counts["excused"]),
    ]
    if counts["unmarked"]:
        parts.append(_("%(n)s nog niet genoteerd", n=counts["unmarked"]))
    if counts["awaiting"]:
        parts.append(
            ngettext(
                "%(num)s wacht op bevestiging", "%(num)s wachten op bevestiging", counts["awaiting"]
            )
        )
    return " · ".join(parts)


def _row_state(row: SheetRow) -> dict:
    record = row.record
    return {
        "key": row.key,
        "status": row.status or "",
        "pending": row.awaiting_confirmation,
        "arrival": format_time(record.arrived_at, "short") if record and record.arrived_at else "",
        "note": (record.note or "") if record else "",
    }


def _state(session: TrainingSession, message: str | None = None) -> dict:
    sheet = build_sheet(session)
    return {
        "rows": [_row_state(row) for row in sheet.rows],
        "counts": sheet.counts,
        "counts_text": counts_text(sheet.counts),
        "check_in_text": _(
            "Zelf aangemeld: %(n)s · nog te bevestigen: %(m)s",
            n=sheet.counts["self_checked_in"],
            m=sheet.counts["awaiting"],
        ),
        "message": message,
    }


def _render_sheet(session: TrainingSession, *, status: int = 200, forms: dict | None = None):
    sheet = build_sheet(session)
    now = utcnow()
    forms = forms or {}
    group = session_group(session)
    return (
        render_template(
            "bookings/attendance/sheet.html",
            session=session,
            sheet=sheet,
            counts_text=counts_text(sheet.counts),
            now=now,
            running=marking.session_running(session, now),
            markable=not session.is_cancelled and now >= marking.check_in_window(session)[0],
            group=group,
            group_ended=group.has_ended(now),
            # formdata=None: after another form was refused, these show what is stored.
            note_form=forms.get("note")
            or SessionNoteForm(formdata=None, text=sheet.note.text if sheet.note else ""),
            guest_form=forms.get("guest") or GuestForm(formdata=None),
            button_form=ButtonForm(),
            poll_ms=POLL_MILLISECONDS,
        ),
        status,
    )


def _save(action: Callable[[], T], *, form=None) -> Outcome:
    """Run one change to the sheet and commit it through web.py. A browser gets a refusal as
    `commit_or_flash` gives it (a flash, or on the form's field); the sheet's script gets it in
    its JSON answer (see `_refused`), so nothing is flashed for a later page."""
    if not _wants_json():
        return commit_or_flash(action, form=form)
    try:
        value = action()
    except DomainError as exc:
        return Outcome(False, error=exc)  # not committed: the request's session is discarded
    commit()
    return Outcome(True, value=value)


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return _("Controleer wat u invulde.")


def _done(session: TrainingSession, message: str | None = None, *, key: str | None = None):
    if _wants_json():
        return jsonify(_state(session, message))
    if message:
        flash(message, "success")
    anchor = f"p-{key}" if key else None
    return redirect(url_for(".attendance_sheet", session_id=session.id, _anchor=anchor))


def _refuse(session: TrainingSession, message, *, forms: dict | None = None):
    """Bad input: a message, status 400, nothing changed."""
    if _wants_json():
        return jsonify(error=str(message)), 400
    flash(str(message), "error")
    return _render_sheet(session, status=400, forms=forms)


def _refused(session: TrainingSession, outcome: Outcome, *, forms: dict | None = None):
    """The service refused and nothing was kept (a browser was shown why by `_save`): 400."""
    if _wants_json():
        return jsonify(error=str(outcome.error)), 400
    return _render_sheet(session, status=400, forms=forms)


# == the sheet ===================================================================================
@bp.route("/attendance/sessions/<int:session_id>")
@login_required
def attendance_sheet(session_id: int):
    return _render_sheet(_sheet_session_or_404(session_id))


@bp.route("/attendance/sessions/<int:session_id>/state")
@login_required
def attendance_state(session_id: int):
    """Polled by the sheet to show self check-ins as they arrive."""
    response = jsonify(_state(_sheet_session_or_404(session_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/attendance/sessions/<int:session_id>/mark", methods=["POST"])
@login_required
def attendance_mark(session_id: int):
    session = _sheet_session_or_404(session_id)
    form = MarkForm()
    if not form.validate_on_submit():
        return _refuse(session, _first_error(form))
    outcome = _save(lambda: marking.mark(session, form.key.data, form.status.data, by=current_user))
    if not outcome:
        return _refused(session, outcome)
    return _done(session, key=form.key.data)


@bp.route("/attendance/sessions/<int:session_id>/everyone-present", methods=["POST"])
@login_required
def attendance_everyone_present(session_id: int):
    session = _sheet_session_or_404(session_id)
    if not ButtonForm().validate_on_submit():
        return _refuse(session, _("Het formulier is verlopen. Probeer het opnieuw."))
    outcome = _save(lambda: marking.mark_everyone_present(session, by=current_user))
    if not outcome:
        return _refused(session, outcome)
    changed = outcome.value
    if changed:
        message = ngettext(
            "%(num)s deelnemer als aanwezig genoteerd.",
            "%(num)s deelnemers als aanwezig genoteerd.",
            changed,
        )
    else:
        message = _("Iedereen was al genoteerd; er is niets veranderd.")
    return _done(session, message)


@bp.route("/attendance/sessions/<int:session_id>/confirm", methods=["POST"])
@login_required
def attendance_confirm(session_id: int):
    session = _sheet_session_or_404(session_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _refuse(session, _first_error(form))
    outcome = _save(lambda: marking.confirm_check_in(session, form.key.data, by=current_user))
    if not outcome:
        return _refused(session, outcome)
    return _done(session, key=form.key.data)


@bp.route("/attendance/sessions/<int:session_id>/details", methods=["POST"])
@login_required
def attendance_details(session_id: int):
    session = _sheet_session_or_404(session_id)
    form = DetailsForm()
    if not form.validate_on_submit():
        return _refuse(session, _first_error(form))
    outcome = _save(
        lambda: marking.set_details(
            session,
            form.key.data,
            arrival=form.arrival.data,
            note=form.note.data,
            by=current_user,
        )
    )
    if not outcome:
        return _refused(session, outcome)
    return _done(session, _("Opgeslagen."), key=form.key.data)


@bp.route("/attendance/sessions/<int:session_id>/note", methods=["POST"])
@login_required
def attendance_session_note(session_id: int):
    session = _sheet_session_or_404(session_id)
    form = SessionNoteForm()
    if not form.validate_on_submit():
        return _refuse(session, _first_error(form), forms={"note": form})
    outcome = _save(
        lambda: marking.set_session_note(session, form.text.data, by=current_user), form=form
    )
    if not outcome:
        return _refused(session, outcome, forms={"note": form})
    return _done(session, _("De sessienotities zijn opgeslagen."))


@bp.route("/attendance/sessions/<int:session_id>/guests", methods=["POST"])
@login_required
def attendance_add_guest(session_id: int):
    session = _sheet_session_or_404(session_id)
    form = GuestForm()
    if not form.validate_on_submit():
        return _refuse(session, _first_error(form), forms={"guest": form})
    outcome = _save(
        lambda: guests.add_guest(
            session,
            name=form.name.data,
            email=form.email.data,
            role=form.role.data,
            by=current_user,
        ),
        form=form,
    )
    if not outcome:
        return _refused(session, outcome, forms={"guest": form})
    guest = outcome.value
    # A new row: the page (not just the state) must show it.
    flash(_("%(name)s staat nu op de lijst.", name=guest.name), "success")
    return redirect(
        url_for(".attendance_sheet", session_id=session.id, _anchor=f"p-{guest.participant_key}")
    )


@bp.route("/attendance/sessions/<int:session_id>/guests/<int:guest_id>/remove", methods=["POST"])
@login_required
def attendance_remove_guest(session_id: int, guest_id: int):
    session = _sheet_session_or_404(session_id)
    if not ButtonForm().validate_on_submit():
        return _refuse(session, _("Het formulier is verlopen. Probeer het opnieuw."))
    outcome = _save(lambda: guests.remove_guest(session, guest_id, by=current_user))
    if not outcome:
        return _refused(session, outcome)
    flash(_("De deelnemer is van de lijst gehaald."), "success")
    return redirect(url_for(".attendance_sheet", session_id=session.id))


# == self check-in: the trainer's QR code ========================================================
def _check_in_svg(session: TrainingSession, now: datetime) -> Markup:
    url = url_for(
        ".check_in_scan",
        session_id=session.id,
        token=check_in.check_in_token(session, now),
        _external=True,
    )
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(
        scale=1,
        border=4,  # the quiet zone the QR standard asks for
        omitsize=True,
        dark="#000",
        light="#fff",
        title=_("QR-code om u aan te melden"),
    )
    # segno's output is an SVG we asked for, with only our own URL in it.
    return Markup(svg)  # noqa: S704


@bp.route("/attendance/sessions/<int:session_id>/check-in-code")
@login_required
def attendance_check_in_code(session_id: int):
    session = _sheet_session_or_404(session_id)
    now = utcnow()
    running = marking.session_running(session, now)
    return render_template(
        "bookings/attendance/check_in_code.html",
        session=session,
        running=running,
        svg=_check_in_svg(session, now) if running else None,
        opens_at=marking.check_in_window(session)[0],
        refresh_ms=QR_REFRESH_MILLISECONDS,
        poll_ms=POLL_MILLISECONDS,
    ), (200 if running else 409)


@bp.route("/attendance/sessions/<int:session_id>/check-in-code.svg")
@login_required
def attendance_check_in_svg(session_id: int):
    session = _sheet_session_or_404(session_id)
    now = utcnow()
    if not marking.session_running(session, now):
        abort(409)
    response = Response(str(_check_in_svg(session, now)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


# == self check-in: the participant ==============================================================
def _grant_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="attendance-check-in")


def _grant_valid(grant: str | None, session_id: int) -> bool:
    if not grant:
        return False
    try:
        data = _grant_serializer().loads(
            grant, max_age=int(check_in.CHECK_IN_GRANT.total_seconds())
        )
    except (BadSignature, SignatureExpired):
        return False
    return data == {"session": session_id}


def _check_in_refused(session: TrainingSession | None, message):
    return render_template(
        "bookings/attendance/check_in.html", session=session, error=message, form=None
    ), 400


@bp.route("/check-in/<int:session_id>/<token>")
def check_in_scan(session_id: int, token: str):
    """The QR code's address: a valid scan grants a few minutes to log in and confirm (the
    grant travels in the URL, as logging in starts a fresh session)."""
    session = get_or_404(TrainingSession, session_id)
    now = utcnow()
    if not marking.session_running(session, now):
        return _check_in_refused(session, check_in.check_in_closed_message())
    if not check_in.check_in_token_valid(session, token, now):
        return _check_in_refused(
            session,
            _(
                "Deze QR-code is verlopen of ongeldig. Scan de code op het scherm van de "
                "trainer opnieuw."
            ),
        )
    grant = _grant_serializer().dumps({"session": session.id})
    return redirect(url_for(".check_in_confirm", session_id=session.id, grant=grant))


@bp.route("/check-in/<int:session_id>", methods=["GET", "POST"])
@login_required
def check_in_confirm(session_id: int):
    session = get_or_404(TrainingSession, session_id)
    form = CheckInForm(grant=request.args.get("grant"))
    grant = form.grant.data if request.method == "POST" else request.args.get("grant")
    if not _grant_valid(grant, session.id):
        return _check_in_refused(
            session,
            _(
                "Deze aanmeldlink is verlopen. Scan de QR-code op het scherm van de trainer "
                "opnieuw."
            ),
        )
    if request.method == "GET":
        try:  # told here, before they tap "Ik ben aanwezig"
            check_in.may_check_in(session, current_user)
        except DomainError as refused:
            return _check_in_refused(session, refused.message)
        return render_template("bookings/attendance/check_in.html", session=session, form=form)
    if not form.validate_on_submit():
        return _check_in_refused(session, _("Het formulier is verlopen. Probeer het opnieuw."))
    outcome = commit_or_flash(lambda: check_in.check_in(session, current_user))
    if not outcome:  # the refusal is flashed on the page
        return _check_in_refused(session, None)
    _record, changed = outcome.value
    return render_template(
        "bookings/attendance/check_in.html", session=session, form=None, done=True, changed=changed
    )


# == exports =====================================================================================
def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/attendance/sessions/<int:session_id>/attendance.csv")
@login_required
def attendance_export_csv(session_id: int):
    session = _sheet_session_or_404(session_id)
    data = csv_bytes(*exports.session_table(session))
    return _download(data, "text/csv; charset=utf-8", exports.filename(session, "csv"))


@bp.route("/attendance/sessions/<int:session_id>/attendance.xlsx")
@login_required
def attendance_export_xlsx(session_id: int):
    session = _sheet_session_or_404(session_id)
    data = xlsx_bytes(*exports.session_table(session), session.course.title)
    return _download(data, XLSX, exports.filename(session, "xlsx"))


@bp.route("/attendance/sessions/<int:session_id>/sign-in-sheet.pdf")
@login_required
def attendance_sign_in_sheet(session_id: int):
    session = _sheet_session_or_404(session_id)
    response = _download(
        exports.sign_in_sheet_pdf(session),
        "application/pdf",
        exports.filename(session, "pdf").replace("aanwezigheid", "tekenlijst", 1),
    )
    return response


def _edition_or_404(edition_id: int) -> Edition:
    edition = db.session.get(Edition, edition_id)
    if edition is None or not any(
        access.can_manage_sheet(current_user, s) for s in edition.sessions
    ):
        abort(404)
    return edition


@bp.route("/attendance/editions/<int:edition_id>/attendance.csv")
@login_required
def attendance_edition_csv(edition_id: int):
    edition = _edition_or_404(edition_id)
    data = csv_bytes(*exports.edition_table(edition))
    return _download(data, "text/csv; charset=utf-8", exports.filename(edition, "csv"))


@bp.route("/attendance/editions/<int:edition_id>/attendance.xlsx")
@login_required
def attendance_edition_xlsx(edition_id: int):
    edition = _edition_or_404(edition_id)
    data = xlsx_bytes(*exports.edition_table(edition), edition.course.title)
    return _download(data, XLSX, exports.filename(edition, "xlsx"))


# == completion ==================================================================================
def _render_completion(
    session: TrainingSession, *, status: int = 200, failed: tuple[int, OverrideForm] | None = None
):
    group = session_group(session)
    return render_template(
        "bookings/attendance/completion.html",
        session=session,
        group=group,
        ended=group.has_ended(utcnow()),
        completions=group_completions(group),
        marked=overviews.marked_counts([s.id for s in group.sessions]),
        override_form=lambda c: (
            failed[1]
            if failed and failed[0] == c.id
            else OverrideForm(
                formdata=None,
                prefix=f"c{c.id}",
                decision=c.override_status or "automatic",
                note=c.override_note or "",
            )
        ),
    ), status


@bp.route("/attendance/sessions/<int:session_id>/completion")
@login_required
def attendance_completion(session_id: int):
    return _render_completion(_sheet_session_or_404(session_id))


@bp.route("/attendance/completions/<int:completion_id>/override", methods=["POST"])
@admin_required
def attendance_override(completion_id: int):
    completion = get_or_404(Completion, completion_id)
    group = group_for_key(completion.group_key)
    if group is None:
        abort(404)
    session = group.sessions[0]
    form = OverrideForm(prefix=f"c{completion.id}")
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return _render_completion(session, status=400, failed=(completion.id, form))
    outcome = commit_or_flash(
        lambda: override_completion(
            completion, form.decision.data, form.note.data, by=current_user
        ),
        form=form,
    )
    if not outcome:
        return _render_completion(session, status=400, failed=(completion.id, form))
    flash(
        _("%(name)s: %(status)s.", name=completion.name, status=completion.status_label),
        "success",
    )
    return redirect(
        url_for(".attendance_completion", session_id=session.id, _anchor=f"c-{completion.id}")
    )
