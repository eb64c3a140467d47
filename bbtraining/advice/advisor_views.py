"""The advisor's own pages (/admin/advies/beschikbaarheid): rules for calls, weekly hours, days
off and extra hours. An admin opens any advisor's page and makes people advisors.

An advisor sees only their own profile; another advisor's is a 404.
"""

from datetime import datetime

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.models import User
from ..courses.models import AMSTERDAM
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..permissions import admin_required, get_or_404, roles_required
from ..web import commit_or_flash
from . import admin_bp
from .advisor_forms import HoursForm, MakeAdvisorForm, OverrideForm, RulesForm
from .advisors import (
    WEEKDAY_LABELS,
    Rules,
    add_override,
    make_advisor,
    profile_for,
    remove_override,
    set_hours,
    update_rules,
)
from .models import OVERRIDE_KIND_LABELS, AdvisorDateOverride, AdvisorProfile

staff_or_advisor = roles_required("advisor", "admin")


def _today():
    return datetime.now(AMSTERDAM).date()


def _profile_or_404(advisor_id: int) -> AdvisorProfile:
    profile = get_or_404(AdvisorProfile, advisor_id)
    if profile.user_id != current_user.id and not current_user.is_admin:
        abort(404)
    return profile


def _hours_form(profile: AdvisorProfile) -> HoursForm:
    rows = [{"weekday": str(h.weekday), "starts": h.starts, "ends": h.ends} for h in profile.hours]
    return HoursForm(formdata=None, data={"rows": rows}) if rows else HoursForm(formdata=None)


def _page(profile: AdvisorProfile, *, rules=None, hours=None, override=None):
    failed = any(form is not None and form.errors for form in (rules, hours, override))
    upcoming = [o for o in profile.overrides if o.day >= _today()]
    return render_template(
        "advice/advisor_availability.html",
        profile=profile,
        own=profile.user_id == current_user.id,
        rules=rules or RulesForm(formdata=None, obj=profile),
        hours=hours or _hours_form(profile),
        override=override or OverrideForm(formdata=None),
        upcoming=upcoming,
        weekday_labels=WEEKDAY_LABELS,
        kind_labels=OVERRIDE_KIND_LABELS,
    ), (400 if failed else 200)


@admin_bp.route("/beschikbaarheid", methods=["GET", "POST"])
@staff_or_advisor
def advisor_availability():
    """The signed-in advisor's own page; an advisor without a profile starts one here (the
    POST is CSRF-checked by the app like every other)."""
    profile = profile_for(current_user)
    if profile is not None:
        return redirect(url_for("advice_admin.advisor_edit", advisor_id=profile.id))
    if not current_user.is_advisor:
        return redirect(url_for("advice_admin.advisors"))
    if request.method == "POST" and commit_or_flash(
        lambda: make_advisor(current_user, by=current_user),
        _("Uw beschikbaarheid staat klaar; vul uw vaste uren in."),
    ):
        return redirect(url_for("advice_admin.advisor_availability"))
    return render_template("advice/advisor_start.html")


@admin_bp.route("/adviseurs/<int:advisor_id>")
@staff_or_advisor
def advisor_edit(advisor_id: int):
    return _page(_profile_or_404(advisor_id))


@admin_bp.route("/adviseurs/<int:advisor_id>/regels", methods=["POST"])
@staff_or_advisor
def advisor_rules(advisor_id: int):
    profile = _profile_or_404(advisor_id)
    form = RulesForm()
    if form.validate_on_submit() and commit_or_flash(
        lambda: update_rules(
            profile,
            Rules(**{name: form[name].data for name in Rules.__dataclass_fields__}),
            by=current_user,
        ),
        _("De regels voor gesprekken zijn opgeslagen."),
        form=form,
    ):
        return redirect(url_for("advice_admin.advisor_edit", advisor_id=profile.id))
    return _page(profile, rules=form)


@admin_bp.route("/adviseurs/<int:advisor_id>/uren", methods=["POST"])
@staff_or_advisor
def advisor_hours(advisor_id: int):
    profile = _profile_or_404(advisor_id)
    form = HoursForm()
    if form.validate_on_submit():
        saved = commit_or_flash(
            lambda: set_hours(profile, form.filled_rows(), by=current_user),
            _("De vaste uren zijn opgeslagen."),
            form=form,
        )
        if saved:
            return redirect(url_for("advice_admin.advisor_edit", advisor_id=profile.id))
        form.form_errors.append(str(saved.error))
    return _page(profile, hours=form)


@admin_bp.route("/adviseurs/<int:advisor_id>/afwijkingen", methods=["POST"])
@staff_or_advisor
def advisor_override_add(advisor_id: int):
    profile = _profile_or_404(advisor_id)
    form = OverrideForm()
    if form.validate_on_submit() and commit_or_flash(
        lambda: add_override(
            profile,
            day=form.day.data,
            kind=form.kind.data,
            starts=form.starts.data,
            ends=form.ends.data,
            note=form.note.data,
            today=_today(),
            by=current_user,
        ),
        _("De afwijking is opgeslagen."),
        form=form,
    ):
        return redirect(url_for("advice_admin.advisor_edit", advisor_id=profile.id))
    return _page(profile, override=form)


@admin_bp.route(
    "/adviseurs/<int:advisor_id>/afwijkingen/<int:override_id>/verwijderen", methods=["POST"]
)
@staff_or_advisor
def advisor_override_remove(advisor_id: int, override_id: int):
    profile = _profile_or_404(advisor_id)
    override = get_or_404(AdvisorDateOverride, override_id)
    if override.advisor_id != profile.id:
        abort(404)
    commit_or_flash(
        lambda: remove_override(profile, override, by=current_user),
        _("De afwijking is verwijderd."),
    )
    return redirect(url_for("advice_admin.advisor_edit", advisor_id=profile.id))


@admin_bp.route("/adviseurs/", methods=["GET", "POST"])
@admin_required
def advisors():
    form = MakeAdvisorForm()
    if form.validate_on_submit():

        def make() -> AdvisorProfile:
            email = form.email.data.strip().lower()
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None or user.deleted_at is not None:
                raise DomainError(_l("Er is geen account met dit e-mailadres."), field="email")
            return make_advisor(user, by=current_user)

        made = commit_or_flash(make, form=form)
        if made:
            profile = made.value
            return redirect(url_for("advice_admin.advisor_edit", advisor_id=profile.id))
    profiles = db.session.scalars(
        select(AdvisorProfile).join(User).order_by(User.name).limit(200)
    ).all()
    return render_template("advice/advisor_list.html", form=form, profiles=profiles), (
        400 if form.errors else 200
    )


def availability_link(user) -> list:
    """The menu entry of an advisor (registered by the package's init_app)."""
    if user.has_role("advisor"):
        return [(_l("Mijn beschikbaarheid"), "advice_admin.advisor_availability")]
    return []
