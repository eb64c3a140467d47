"""Staff pages of inhouse bookings under /admin/: the pipeline and its export, a booking's actions,
the proposal, session and invoice forms; and the dashboard tile.
"""

from datetime import datetime, time, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from .... import vat
from ....auth.models import User
from ....courses.models import Course
from ....courses.trainers import trainers as active_trainers
from ....extensions import db
from ....permissions import admin_required, get_or_404
from ....web import commit_or_flash
from ... import bp
from .. import cancellation, delivery, drafts, invoicing, pipeline, proposals, requests
from ..forms import (
    ButtonForm,
    CancelForm,
    InvoiceForm,
    MessageForm,
    NoteForm,
    PipelineFilterForm,
    ProposalForm,
    SessionChangeForm,
)
from ..models import InhouseBooking, InhouseStatus, local_datetime, today_amsterdam
from ..tasks import enqueue_push_invoice


def _filters_from(form: PipelineFilterForm) -> pipeline.PipelineFilter:
    return pipeline.PipelineFilter(
        status=form.status.data or "open",
        # Only a course from the list: another number may not even fit the id column.
        course_id=(form.course.data or None) if not form.course.errors else None,
        q=form.q.data or "",
        min_age_days=form.min_age.data if not form.min_age.errors else None,
    )


def _filter_form() -> PipelineFilterForm:
    form = PipelineFilterForm(request.args)
    courses = db.session.scalars(select(Course).order_by(Course.title)).all()
    form.course.choices = [(0, _("Alle trainingen"))] + [
        (c.id, c.title) for c in courses if c.is_inhouse
    ]
    form.validate()
    return form


@bp.route("/admin/inhouse/")
@admin_required
def inhouse_admin_list():
    form = _filter_form()
    rows = pipeline.pipeline(_filters_from(form))
    status = 400 if form.errors else 200
    return render_template(
        "bookings/inhouse/admin_list.html",
        form=form,
        rows=rows,
        counts=pipeline.status_counts(),
    ), status


@bp.route("/admin/inhouse/export.csv")
@admin_required
def inhouse_admin_export():
    form = _filter_form()
    rows = pipeline.pipeline(_filters_from(form))
    today = today_amsterdam().isoformat()
    return Response(
        pipeline.pipeline_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="inhouse-{today}.csv"'},
    )


def inhouse_admin_tile(user) -> Markup | None:
    html = render_template("bookings/inhouse/admin_tile.html", counts=pipeline.status_counts())
    return Markup(html)  # noqa: S704 - an autoescaped template of ours


def render_admin_detail(booking: InhouseBooking, status: int = 200, **forms):
    forms.setdefault("message_form", MessageForm(prefix="message"))
    forms.setdefault("cancel_form", CancelForm(prefix="cancel"))
    forms.setdefault("evaluated_form", NoteForm(prefix="evaluated"))
    return render_template(
        "bookings/inhouse/admin_detail.html",
        booking=booking,
        proposal=booking.current_proposal,
        next_action=pipeline.staff_next_action(booking),
        button_form=ButtonForm(),
        S=InhouseStatus,
        **forms,
    ), status


@bp.route("/admin/inhouse/<int:booking_id>")
@admin_required
def inhouse_admin_detail(booking_id: int):
    return render_admin_detail(get_or_404(InhouseBooking, booking_id))


def _admin_action(booking_id: int, action, success: str):
    booking = get_or_404(InhouseBooking, booking_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    commit_or_flash(lambda: action(booking), success)
    return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))


@bp.route("/admin/inhouse/<int:booking_id>/review", methods=["POST"])
@admin_required
def inhouse_admin_review(booking_id: int):
    return _admin_action(
        booking_id,
        lambda b: requests.start_review(b, by=current_user),
        _("De aanvraag is in behandeling."),
    )


@bp.route("/admin/inhouse/<int:booking_id>/confirm-membership", methods=["POST"])
@admin_required
def inhouse_admin_confirm_membership(booking_id: int):
    return _admin_action(
        booking_id,
        lambda b: requests.confirm_membership(b, by=current_user),
        _("Het lidmaatschap is bevestigd."),
    )


@bp.route("/admin/inhouse/<int:booking_id>/delivered", methods=["POST"])
@admin_required
def inhouse_admin_delivered(booking_id: int):
    return _admin_action(
        booking_id,
        lambda b: delivery.mark_delivered(b, by=current_user),
        _("De boeking is als gegeven gemarkeerd."),
    )


@bp.route("/admin/inhouse/<int:booking_id>/evaluated", methods=["POST"])
@admin_required
def inhouse_admin_evaluated(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    form = NoteForm(prefix="evaluated")
    if not form.validate_on_submit():
        return render_admin_detail(booking, 400, evaluated_form=form)
    commit_or_flash(
        lambda: delivery.mark_evaluated(booking, by=current_user, note=form.note.data),
        _("De evaluatie is vastgelegd."),
    )
    return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))


@bp.route("/admin/inhouse/<int:booking_id>/cancel", methods=["POST"])
@admin_required
def inhouse_admin_cancel(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    form = CancelForm(prefix="cancel")
    if not form.validate_on_submit():
        return render_admin_detail(booking, 400, cancel_form=form)
    if not commit_or_flash(
        lambda: cancellation.cancel_booking(booking, by=current_user, reason=form.reason.data),
        _("De boeking is geannuleerd."),
        form=form,
    ):
        return render_admin_detail(booking, 400, cancel_form=form)
    return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))


def _proposal_defaults(booking: InhouseBooking) -> dict:
    previous = booking.current_proposal
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
    return {
        "sessions": sessions,
        "lines": lines,
        "terms": terms,
        "vat_rate": vat_rate,
        "valid_until": today_amsterdam() + timedelta(days=proposals.DEFAULT_VALIDITY_DAYS),
    }


def _add_empty_rows(field_list, count: int) -> None:
    """Room for more rows than the prefilled ones (the form works without JavaScript)."""
    target = min(len(field_list.entries) + count, field_list.max_entries or 12)
    while len(field_list.entries) < target:
        field_list.append_entry()


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
            lambda: proposals.send_proposal(
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
                    "Versie %(version)s van het voorstel is verstuurd.",
                    version=outcome.value.version,
                ),
                "success",
            )
            return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))
    status = 400 if request.method == "POST" else 200
    organisation = booking.organisation
    return render_template(
        "bookings/inhouse/admin_proposal.html",
        booking=booking,
        form=form,
        reverse_charge=vat.reverse_charge(organisation.country, organisation.vat_number),
    ), status


def _session_form(booking: InhouseBooking, session=None) -> tuple[SessionChangeForm, list[User]]:
    """The session form, filled from the session (or for a new one from the booking's last
    session) on GET, with the trainers to choose from."""
    if request.method == "POST":
        form = SessionChangeForm()
    else:
        model = session or (booking.active_sessions or [None])[-1]
        form = SessionChangeForm(
            data={
                "day": session.local_start.date() if session else None,
                "start": model.local_start.time() if model else None,
                "end": model.local_end.time() if model else None,
                "trainer_id": (model.trainer_id if model else None) or 0,
                "location": (model.location if model else booking.venue) or "",
                "online_url": (model.online_url if model else None) or "",
            }
        )
    trainers = active_trainers()
    form.trainer_id.choices = [(0, _("— kies een trainer —"))] + [(t.id, t.name) for t in trainers]
    return form, trainers


def _save_session(booking: InhouseBooking, form: SessionChangeForm, trainers, action) -> bool:
    """Call the service with the form's values and commit; False (the refusal shown) if not."""
    outcome = commit_or_flash(
        lambda: action(
            by=current_user,
            starts_at=local_datetime(form.day.data, form.start.data),
            ends_at=local_datetime(form.day.data, form.end.data),
            trainer=next((t for t in trainers if t.id == form.trainer_id.data), None),
            location=form.location.data,
            online_url=form.online_url.data,
            note=form.note.data,
        ),
        form=form,
    )
    return bool(outcome)


@bp.route("/admin/inhouse/<int:booking_id>/sessions/new", methods=["GET", "POST"])
@admin_required
def inhouse_admin_session_new(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    form, trainers = _session_form(booking)
    if form.validate_on_submit() and _save_session(
        booking, form, trainers, lambda **values: delivery.add_session(booking, **values)
    ):
        flash(
            _(
                "De sessie is toegevoegd; de trainer, de contactpersoon en de deelnemers krijgen "
                "een uitnodiging."
            ),
            "success",
        )
        return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "bookings/inhouse/admin_session.html", booking=booking, session=None, form=form
    ), status


@bp.route("/admin/inhouse/<int:booking_id>/sessions/<int:session_id>", methods=["GET", "POST"])
@admin_required
def inhouse_admin_session(booking_id: int, session_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    session = next((s for s in booking.sessions if s.id == session_id), None)
    if session is None:
        abort(404)
    form, trainers = _session_form(booking, session)
    cancel_form = CancelForm(prefix="cancel")
    if form.validate_on_submit() and _save_session(
        booking,
        form,
        trainers,
        lambda **values: delivery.change_session(booking, session.id, **values),
    ):
        flash(
            _("De sessie is gewijzigd; de deelnemers krijgen een bijgewerkte uitnodiging."),
            "success",
        )
        return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "bookings/inhouse/admin_session.html",
        booking=booking,
        session=session,
        form=form,
        cancel_form=cancel_form,
    ), status


@bp.route("/admin/inhouse/<int:booking_id>/sessions/<int:session_id>/cancel", methods=["POST"])
@admin_required
def inhouse_admin_session_cancel(booking_id: int, session_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    form = CancelForm(prefix="cancel")
    if not form.validate_on_submit():
        flash(_("Geef een reden voor de annulering."), "error")
        return redirect(
            url_for("bookings.inhouse_admin_session", booking_id=booking.id, session_id=session_id)
        )
    commit_or_flash(
        lambda: delivery.cancel_session(
            booking, session_id, by=current_user, reason=form.reason.data
        ),
        _("De sessie is geannuleerd; de deelnemers krijgen een annulering in hun agenda."),
    )
    return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))


@bp.route("/admin/inhouse/<int:booking_id>/invoice", methods=["GET", "POST"])
@admin_required
def inhouse_admin_invoice(booking_id: int):
    booking = get_or_404(InhouseBooking, booking_id)
    if request.method == "POST":
        form = InvoiceForm()
    else:
        lines = invoicing.invoice_lines_from_proposal(booking)
        form = InvoiceForm(
            data={
                "lines": [
                    {
                        "kind": ln.kind,
                        "description": ln.description,
                        "quantity": ln.quantity,
                        "unit_price": ln.unit_price,
                    }
                    for ln in lines
                ],
                "billing_address": booking.billing_address or booking.organisation.address or "",
            }
        )
        _add_empty_rows(form.lines, 2)
    if form.validate_on_submit():
        lines = [
            drafts.LineDraft(
                row.kind.data, row.description.data, row.quantity.data, row.unit_price.data
            )
            for row in form.filled_lines()
        ]
        outcome = commit_or_flash(
            lambda: invoicing.issue_booking_invoice(
                booking, by=current_user, lines=lines, billing_address=form.billing_address.data
            ),
            form=form,
        )
        if outcome:
            invoice = outcome.value
            enqueue_push_invoice(invoice.id)
            flash(_("Factuur %(number)s is gemaakt en gemaild.", number=invoice.number), "success")
            return redirect(url_for("bookings.inhouse_admin_detail", booking_id=booking.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "bookings/inhouse/admin_invoice.html", booking=booking, form=form
    ), status
