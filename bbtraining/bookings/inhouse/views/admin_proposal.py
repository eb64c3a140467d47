"""Staff pages of a booking's proposal under /admin/: write or edit the draft, preview it (a PDF
marked CONCEPT), and send it after confirming; the client sees only sent versions. And an
addendum (an extra session's price) marked as included.
"""

from datetime import datetime, time, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .... import vat
from ....courses.trainers import trainers as active_trainers
from ....permissions import admin_required, get_or_404
from ....web import commit_or_flash
from ... import bp
from .. import addenda, drafts, proposals
from ..forms import IncludeAddendumForm, ProposalForm, SendProposalForm
from ..models import InhouseBooking, local_datetime, today_amsterdam
from .admin import _add_empty_rows, render_admin_detail


def _proposal_defaults(booking: InhouseBooking) -> dict:
    """The form filled from the draft, else from the last sent version, else from the request."""
    previous = booking.draft_proposal or booking.current_proposal
    course = booking.course
    if previous is not None:
        sessions = [
            {
                "day": s.local_start.date(),
                "start": s.local_start.time(),
                "end": s.local_end.time(),
                "trainer_id": s.trainer_id or 0,
                "location": s.location,
                "online_url": s.online_url or "",
            }
            for s in previous.sessions
        ]
        lines = [
            {
                "kind": ln.kind,
                "description": ln.description,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
            }
            for ln in previous.lines
        ]
        terms, vat_rate = previous.terms, previous.vat_rate
        note = previous.note if previous.is_draft else ""
    else:
        hours = {"morning": (9, 30), "afternoon": (13, 30), "evening": (19, 30)}
        sessions = []
        for option in booking.date_options[: max(course.session_count, 1)]:
            start_h, start_m = hours.get(option.part_of_day, (9, 30))
            start = datetime.combine(option.day, time(start_h, start_m))
            end = start + timedelta(minutes=course.duration_minutes)
            sessions.append(
                {
                    "day": option.day,
                    "start": start.time(),
                    "end": end.time(),
                    "trainer_id": 0,
                    "location": booking.venue or _("Online"),
                }
            )
        lines = [
            {
                "kind": "session-fee",
                "description": course.title,
                "quantity": max(course.session_count, 1),
                "unit_price": course.price_inhouse,
            },
            # Rows ready for travel and materials: left empty, they are ignored.
            {"kind": "travel"},
            {"kind": "materials"},
        ]
        terms, vat_rate = proposals.default_terms(), course.vat_rate
        note = ""
    return {
        "sessions": sessions,
        "lines": lines,
        "terms": terms,
        "vat_rate": vat_rate,
        "note": note,
        "valid_until": (
            previous.valid_until
            if previous is not None and previous.is_draft
            else today_amsterdam() + timedelta(days=proposals.DEFAULT_VALIDITY_DAYS)
        ),
    }


@bp.route("/admin/inhouse/<int:booking_id>/proposal", methods=["GET", "POST"])
@admin_required
def inhouse_admin_proposal(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    if request.method == "POST":
        form = ProposalForm()
    else:
        form = ProposalForm(data=_proposal_defaults(booking))
        # Room for more sessions and lines than the previous version had.
        _add_empty_rows(form.sessions, 2)
        _add_empty_rows(form.lines, 2)
    trainers = active_trainers()
    form.set_trainers(trainers)
    if form.validate_on_submit():
        by_id = {t.id: t for t in trainers}
        sessions = [
            drafts.SessionDraft(
                starts_at=local_datetime(row.day.data, row.start.data),
                ends_at=local_datetime(row.day.data, row.end.data),
                trainer=by_id.get(row.trainer_id.data),
                location=row.location.data,
                online_url=row.online_url.data,
            )
            for row in form.filled_sessions()
        ]
        lines = [
            drafts.LineDraft(
                row.kind.data, row.description.data, row.quantity.data, row.unit_price.data
            )
            for row in form.filled_lines()
        ]
        outcome = commit_or_flash(
            lambda: proposals.save_draft(
                booking,
                by=current_user,
                sessions=sessions,
                lines=lines,
                valid_until=form.valid_until.data,
                vat_rate=form.vat_rate.data,
                terms=form.terms.data or "",
                note=form.note.data or "",
            ),
            form=form,
        )
        if outcome:
            flash(
                _(
                    "Het concept is opgeslagen. Bekijk het en verstuur het als het klopt; de klant "
                    "ziet het pas daarna."
                ),
                "success",
            )
            return redirect(url_for("bookings.inhouse_admin_draft", booking_id=booking.id))
    status = 400 if request.method == "POST" else 200
    organisation = booking.organisation
    return render_template(
        "bookings/inhouse/admin_proposal.html",
        booking=booking,
        form=form,
        reverse_charge=vat.reverse_charge(organisation.country, organisation.vat_number),
    ), status


def _draft_or_404(booking: InhouseBooking):
    draft = booking.draft_proposal
    if draft is None:
        abort(404)
    return draft


def _render_draft(booking: InhouseBooking, form: SendProposalForm, status: int = 200):
    return render_template(
        "bookings/inhouse/admin_draft.html",
        booking=booking,
        proposal=_draft_or_404(booking),
        form=form,
    ), status


@bp.route("/admin/inhouse/<int:booking_id>/proposal/draft")
@admin_required
def inhouse_admin_draft(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    return _render_draft(booking, SendProposalForm())


@bp.route("/admin/inhouse/<int:booking_id>/proposal/draft.pdf")
@admin_required
def inhouse_admin_draft_pdf(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    draft = _draft_or_404(booking)
    filename = f"concept-voorstel-{booking.reference}-v{draft.version}.pdf"
    return Response(
        proposals.proposal_pdf(draft),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@bp.route("/admin/inhouse/<int:booking_id>/proposal/send", methods=["POST"])
@admin_required
def inhouse_admin_send_proposal(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    draft = _draft_or_404(booking)
    form = SendProposalForm()
    if not form.validate_on_submit():
        return _render_draft(booking, form, 400)
    version = draft.version
    if not commit_or_flash(
        lambda: proposals.send_draft(booking, by=current_user),
        _("Versie %(version)s van het voorstel is verstuurd.", version=version),
        form=form,
    ):
        return redirect(url_for("bookings.inhouse_admin_draft", booking_id=booking.id))
    return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))


@bp.route("/admin/inhouse/<int:booking_id>/addenda/<int:number>/include", methods=["POST"])
@admin_required
def inhouse_admin_include_addendum(booking_id: int, number: int):
    booking = get_or_404(InhouseBooking, booking_id)
    form = IncludeAddendumForm(prefix="include")
    if not form.validate_on_submit():
        return render_admin_detail(booking, 400, include_form=form)
    if not commit_or_flash(
        lambda: addenda.include_addendum(booking, number, by=current_user, reason=form.reason.data),
        _("De extra sessie is zonder meerprijs; de reden staat in het verloop."),
        form=form,
    ):
        return render_admin_detail(booking, 400, include_form=form)
    return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))
