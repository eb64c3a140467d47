"""The client's pages of an inhouse booking under /account/: the booking with its proposal,
accepting or declining it, cancelling, messages and the participant list; and the booking panel
of the account dashboard.
"""

from flask import Response, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ....permissions import get_visible_or_404
from ....web import commit_or_flash
from ... import bp
from .. import addenda, cancellation, messages, participants, pipeline, proposals
from ..forms import (
    AcceptForm,
    AddendumAcceptForm,
    ButtonForm,
    CancelForm,
    DeclineForm,
    MessageForm,
    ParticipantForm,
)
from ..models import (
    CLIENT_CANCELLABLE,
    PARTICIPANT_EDITABLE_STATUSES,
    InhouseBooking,
    InhouseStatus,
)
from .admin import render_admin_detail


def _client_booking(booking_id: int) -> InhouseBooking:
    return get_visible_or_404(InhouseBooking, booking_id, current_user)


def _render_detail(booking: InhouseBooking, status: int = 200, **forms):
    proposal = booking.current_proposal
    version = str(proposal.version) if proposal else ""
    forms.setdefault(
        "accept_form",
        AcceptForm(prefix="accept", version=version, billing_address=booking.organisation.address),
    )
    forms.setdefault("decline_form", DeclineForm(prefix="decline", version=version))
    forms.setdefault("cancel_form", CancelForm(prefix="cancel"))
    forms.setdefault("message_form", MessageForm(prefix="message"))
    forms.setdefault("participant_form", ParticipantForm(prefix="participant"))
    forms.setdefault("addendum_form", AddendumAcceptForm(prefix="addendum"))
    is_client = booking.is_client_of(current_user)
    return render_template(
        "bookings/inhouse/detail.html",
        booking=booking,
        proposal=proposal,
        is_client=is_client,
        can_respond=is_client and booking.status == InhouseStatus.PROPOSAL_SENT,
        can_cancel=is_client and booking.status in CLIENT_CANCELLABLE,
        can_edit_participants=is_client and booking.status in PARTICIPANT_EDITABLE_STATUSES,
        next_step=pipeline.client_next_step(booking),
        **forms,
    ), status


@bp.route("/account/inhouse/<int:booking_id>")
@login_required
def inhouse_detail(booking_id: int):
    return _render_detail(_client_booking(booking_id))


@bp.route("/account/inhouse/<int:booking_id>/proposals/<int:version>")
@login_required
def inhouse_proposal_version(booking_id: int, version: int):
    booking = _client_booking(booking_id)
    proposal = booking.proposal(version)
    if proposal is None:
        abort(404)
    return render_template("bookings/inhouse/proposal.html", booking=booking, proposal=proposal)


@bp.route("/account/inhouse/<int:booking_id>/proposals/<int:version>.pdf")
@login_required
def inhouse_proposal_pdf(booking_id: int, version: int):
    booking = _client_booking(booking_id)
    proposal = booking.proposal(version)
    if proposal is None:
        abort(404)
    filename = f"voorstel-{booking.reference}-v{version}.pdf"
    return Response(
        proposals.proposal_pdf(proposal),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _client_only(booking: InhouseBooking) -> None:
    # Staff may read a client's page, but accepting or declining is the client's word.
    if not booking.is_client_of(current_user):
        abort(403)


@bp.route("/account/inhouse/<int:booking_id>/accept", methods=["POST"])
@login_required
def inhouse_accept(booking_id: int):
    booking = _client_booking(booking_id)
    _client_only(booking)
    form = AcceptForm(prefix="accept")
    if not form.validate_on_submit():
        return _render_detail(booking, 400, accept_form=form)
    outcome = commit_or_flash(
        lambda: proposals.accept_proposal(
            booking,
            by=current_user,
            version=_int_or_none(form.version.data),
            po_number=form.po_number.data,
            billing_address=form.billing_address.data,
            agreed_to_terms=form.agree_terms.data,
        ),
        _(
            "Dank u wel. Het voorstel is geaccepteerd en de sessies zijn ingepland; de "
            "agenda-uitnodigingen komen per e-mail."
        ),
        form=form,
    )
    if isinstance(outcome.error, proposals.ProposalExpired):
        # Record what the client just found out (the refusal is flashed), so staff see it in
        # their pipeline at once.
        commit_or_flash(lambda: proposals.expire_proposal(booking))
    elif not outcome:
        return _render_detail(booking, 400, accept_form=form)
    return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id))


@bp.route("/account/inhouse/<int:booking_id>/addenda/<int:number>/accept", methods=["POST"])
@login_required
def inhouse_accept_addendum(booking_id: int, number: int):
    booking = _client_booking(booking_id)
    _client_only(booking)
    form = AddendumAcceptForm(prefix="addendum")
    if not form.validate_on_submit():
        return _render_detail(booking, 400, addendum_form=form)
    if not commit_or_flash(
        lambda: addenda.accept_addendum(booking, number, by=current_user),
        _("Dank u wel. De aanvulling is geaccepteerd; de meerprijs komt op de factuur."),
        form=form,
    ):
        return _render_detail(booking, 400, addendum_form=form)
    return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id))


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.route("/account/inhouse/<int:booking_id>/decline", methods=["POST"])
@login_required
def inhouse_decline(booking_id: int):
    booking = _client_booking(booking_id)
    _client_only(booking)
    form = DeclineForm(prefix="decline")
    if not form.validate_on_submit():
        return _render_detail(booking, 400, decline_form=form)
    if not commit_or_flash(
        lambda: proposals.decline_proposal(
            booking,
            by=current_user,
            version=_int_or_none(form.version.data),
            reason=form.reason.data,
        ),
        _("U heeft het voorstel afgewezen. Dank u voor uw toelichting."),
        form=form,
    ):
        return _render_detail(booking, 400, decline_form=form)
    return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id))


@bp.route("/account/inhouse/<int:booking_id>/cancel", methods=["POST"])
@login_required
def inhouse_cancel(booking_id: int):
    booking = _client_booking(booking_id)
    _client_only(booking)
    form = CancelForm(prefix="cancel")
    if not form.validate_on_submit():
        return _render_detail(booking, 400, cancel_form=form)
    if not commit_or_flash(
        lambda: cancellation.cancel_booking(booking, by=current_user, reason=form.reason.data),
        _("Uw aanvraag is geannuleerd."),
        form=form,
    ):
        return _render_detail(booking, 400, cancel_form=form)
    return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id))


@bp.route("/account/inhouse/<int:booking_id>/messages", methods=["POST"])
@login_required
def inhouse_message(booking_id: int):
    booking = _client_booking(booking_id)
    form = MessageForm(prefix="message")
    staff_page = not booking.is_client_of(current_user)
    if form.validate_on_submit() and commit_or_flash(
        lambda: messages.post_message(booking, by=current_user, body=form.body.data),
        _("Uw bericht is verstuurd."),
        form=form,
    ):
        endpoint = "inhouse_admin_detail" if staff_page else "inhouse_detail"
        return redirect(url_for(f"bookings.{endpoint}", booking_id=booking.id) + "#berichten")
    if staff_page:
        return render_admin_detail(booking, 400, message_form=form)
    return _render_detail(booking, 400, message_form=form)


@bp.route("/account/inhouse/<int:booking_id>/participants", methods=["POST"])
@login_required
def inhouse_add_participant(booking_id: int):
    booking = _client_booking(booking_id)
    _client_only(booking)
    form = ParticipantForm(prefix="participant")
    if form.validate_on_submit() and commit_or_flash(
        lambda: participants.add_participant(
            booking,
            by=current_user,
            name=form.name.data,
            email=form.email.data,
            role=form.role.data,
        ),
        _("%(name)s staat op de deelnemerslijst.", name=form.name.data),
        form=form,
    ):
        return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id) + "#deelnemers")
    return _render_detail(booking, 400, participant_form=form)


@bp.route(
    "/account/inhouse/<int:booking_id>/participants/<int:participant_id>/delete",
    methods=["POST"],
)
@login_required
def inhouse_remove_participant(booking_id: int, participant_id: int):
    booking = _client_booking(booking_id)
    _client_only(booking)
    if ButtonForm().validate_on_submit():
        commit_or_flash(
            lambda: participants.remove_participant(booking, participant_id, by=current_user),
            _("De deelnemer is van de lijst gehaald."),
        )
    else:
        abort(400)
    return redirect(url_for("bookings.inhouse_detail", booking_id=booking.id) + "#deelnemers")


def inhouse_account_panel(user) -> Markup | None:
    bookings = pipeline.bookings_for_client(user)
    if not bookings and not user.is_client:
        return None
    html = render_template(
        "bookings/inhouse/account_panel.html",
        bookings=bookings,
        next_step=pipeline.client_next_step,
    )
    return Markup(html)  # noqa: S704 - an autoescaped template of ours
