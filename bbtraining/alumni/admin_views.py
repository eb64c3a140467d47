"""Staff pages: moderate profiles, follow match requests, build shortlists, record trainings."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..auth.models import User, UserRole
from ..bookings.attendance import qualifications
from ..courses.models import Course, Edition
from ..errors import DomainError
from ..extensions import db
from ..permissions import admin_required, get_or_404
from ..web import commit_or_flash
from . import admin_bp, matches, services
from .forms import HideForm, QualificationForm, ShortlistForm, SpecialisationForm
from .match_models import MatchRecipient, MatchRequest, RecipientStatus, Shortlist
from .models import AlumniProfile, Specialisation, profile_specialisation
from .views import UNAVAILABLE, _selected_profiles

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MAX_PAGE = 10_000


def _page_number() -> int:
    # Bounded: a huge page number would make an offset the database cannot hold (a 500).
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


@admin_bp.route("/")
@admin_required
def overview():
    return redirect(url_for("alumni_admin.match_list"))


@admin_bp.route("/profiles")
@admin_required
def profiles():
    status = request.args.get("status", "")
    query = select(AlumniProfile).order_by(AlumniProfile.updated_at.desc())
    if status == "hidden":
        query = query.where(AlumniProfile.hidden_by_staff.is_(True))
    elif status == "published":
        query = query.where(AlumniProfile.published.is_(True))
    elif status == "unpublished":
        query = query.where(AlumniProfile.published.is_(False))
    page = _page_number()
    rows = list(db.session.scalars(query.limit(51).offset((page - 1) * 50)))
    return render_template(
        "alumni/admin/profiles.html",
        profiles=rows[:50],
        has_more=len(rows) > 50,
        page=page,
        status=status,
        hide_form=HideForm(formdata=None),
    )


@admin_bp.route("/profiles/<int:profile_id>/<any(hide, unhide):action>", methods=["POST"])
@admin_required
def moderate(profile_id: int, action: str):
    profile = get_or_404(AlumniProfile, profile_id)
    form = HideForm()
    if action == "unhide":
        form.reason.data = form.reason.data or "-"
    if form.validate_on_submit():
        if action == "hide":
            commit_or_flash(
                lambda: services.hide(profile, form.reason.data, current_user),
                _("Het profiel is verborgen."),
            )
        else:
            commit_or_flash(
                lambda: services.unhide(profile, current_user), _("Het profiel is weer zichtbaar.")
            )
    else:
        flash(_("Geef een reden op voor het verbergen."), "error")
    return redirect(request.referrer or url_for("alumni_admin.profiles"))


@admin_bp.route("/matches")
@admin_required
def match_list():
    status = request.args.get("status", "")
    query = select(MatchRequest).order_by(MatchRequest.created_at.desc())
    if status in {s.value for s in RecipientStatus}:
        query = query.where(
            MatchRequest.id.in_(
                select(MatchRecipient.request_id).where(MatchRecipient.status == status)
            )
        )
    page = _page_number()
    rows = list(db.session.scalars(query.limit(51).offset((page - 1) * 50)))
    return render_template(
        "alumni/admin/matches.html",
        requests=rows[:50],
        has_more=len(rows) > 50,
        page=page,
        status=status,
        pending=matches.pending_recipient_count(),
    )


def _client_choices() -> list[tuple[int, str]]:
    clients = db.session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "client", User.deleted_at.is_(None))
        .order_by(User.name)
        .limit(1000)
    )
    return [
        (u.id, f"{u.name} ({u.organisation.name})" if u.organisation else u.name) for u in clients
    ]


@admin_bp.route("/shortlists/new", methods=["GET", "POST"])
@admin_required
def shortlist_new():
    form = ShortlistForm()
    form.client_id.choices = [(0, _("Kies een opdrachtgever"))] + _client_choices()
    raw = request.form.get("profiles", "") if request.method == "POST" else None
    profiles, missing = _selected_profiles(
        [raw] if raw is not None else request.args.getlist("profile")
    )
    if request.method == "GET":
        form.profiles.data = ",".join(str(p.id) for p in profiles)
    refused = False
    if form.validate_on_submit():
        client = db.session.get(User, form.client_id.data)

        def make_shortlist() -> Shortlist:
            if client is None:
                raise DomainError(_("Kies een opdrachtgever."), field="client_id")
            if missing:
                raise DomainError(UNAVAILABLE, field="profiles")
            return matches.create_shortlist(
                client, profiles, title=form.title.data, note=form.note.data, by=current_user
            )

        created = commit_or_flash(
            make_shortlist,
            _("De shortlist is gemaakt en naar de opdrachtgever gemaild."),
            form=form,
        )
        if created:
            return redirect(url_for("alumni.shortlist", shortlist_id=created.value.id))
        refused = True
    return render_template(
        "alumni/admin/shortlist_new.html", form=form, profiles=profiles
    ), 400 if (form.errors or refused) else 200


@admin_bp.route("/shortlists")
@admin_required
def shortlists():
    rows = db.session.scalars(select(Shortlist).order_by(Shortlist.created_at.desc()).limit(100))
    return render_template("alumni/admin/shortlists.html", shortlists=list(rows))


@admin_bp.route("/qualifications", methods=["GET", "POST"])
@admin_required
def qualification_list():
    form = QualificationForm()
    courses = list(db.session.scalars(select(Course).order_by(Course.title)))
    form.course_id.choices = [(0, _("Kies een training"))] + [
        (c.id, f"{c.title} ✓" if c.qualifies_for_alumni else c.title) for c in courses
    ]
    editions = list(
        db.session.scalars(select(Edition).order_by(Edition.created_at.desc()).limit(300))
    )
    form.edition_id.choices = [(0, _("Geen editie (van buiten het platform)"))] + [
        (e.id, str(e)) for e in editions
    ]
    refused = False
    if form.validate_on_submit():
        user = User.by_email(form.email.data)
        course = db.session.get(Course, form.course_id.data) if form.course_id.data else None
        edition = db.session.get(Edition, form.edition_id.data) if form.edition_id.data else None
        completed_at = (
            datetime.combine(form.completed_on.data, time(12), tzinfo=AMSTERDAM)
            if form.completed_on.data
            else None
        )

        def record():
            if user is None or user.deleted_at is not None:
                raise DomainError(_("Er is geen account met dit e-mailadres."), field="email")
            if course is None:
                raise DomainError(_("Kies een training."), field="course_id")
            qualifications.record_qualification(
                user,
                course,
                edition=edition,
                source="admin",
                by=current_user,
                note=form.note.data,
                completed_at=completed_at,
            )

        if commit_or_flash(record, form=form):
            flash(_("De afgeronde training van %(name)s is vastgelegd.", name=user.name), "success")
            return redirect(url_for("alumni_admin.qualification_list"))
        refused = True
    recent = list(
        db.session.scalars(
            select(qualifications.Qualification)
            .order_by(qualifications.Qualification.created_at.desc())
            .limit(50)
        )
    )
    facilitators = db.session.scalars(
        select(User.email)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(("facilitator", "trainer")), User.deleted_at.is_(None))
        .order_by(User.email)
        .limit(500)
    )
    return render_template(
        "alumni/admin/qualifications.html",
        form=form,
        recent=recent,
        emails=list(facilitators),
    ), 400 if (form.errors or refused) else 200


@admin_bp.route("/specialisations", methods=["GET", "POST"])
@admin_bp.route("/specialisations/<int:specialisation_id>", methods=["POST"])
@admin_required
def specialisations(specialisation_id: int | None = None):
    existing = get_or_404(Specialisation, specialisation_id) if specialisation_id else None
    form = SpecialisationForm()
    refused = False
    if form.validate_on_submit():
        if commit_or_flash(
            lambda: services.save_specialisation(
                form.name.data, specialisation=existing, active=bool(form.active.data)
            ),
            _("De specialisatie is opgeslagen."),
            form=form,
        ):
            return redirect(url_for("alumni_admin.specialisations"))
        refused = True
    counts = dict(
        db.session.execute(
            select(profile_specialisation.c.specialisation_id, func.count()).group_by(
                profile_specialisation.c.specialisation_id
            )
        ).all()
    )
    rows = list(db.session.scalars(select(Specialisation).order_by(Specialisation.position)))
    return render_template(
        "alumni/admin/specialisations.html", form=form, specialisations=rows, counts=counts
    ), 400 if (form.errors or refused) else 200
