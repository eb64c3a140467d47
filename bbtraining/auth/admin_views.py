"""Staff pages for people and organisations: roles, membership, deactivation."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import vat
from ..errors import DomainError
from ..extensions import db
from ..permissions import admin_required, get_or_404
from ..web import commit_or_flash
from . import staff_bp
from .admin_forms import NewOrganisationForm, OrganisationVatForm, UserAdminForm
from .models import ROLE_LABELS, Organisation, User, UserRole
from .services import find_or_create_organisation, set_organisation_vat, update_user_access


@staff_bp.route("/users/")
@admin_required
def users():
    q = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role")
    query = select(User).where(User.deleted_at.is_(None)).order_by(User.name)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if role in ROLE_LABELS:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    return render_template(
        "auth/admin/users.html",
        users=db.session.scalars(query.limit(300)),
        q=q,
        role=role,
        role_labels=ROLE_LABELS,
    )


@staff_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int):
    user = get_or_404(User, user_id)
    form = UserAdminForm(
        obj=user, roles=sorted(user.roles), organisation_id=user.organisation_id or 0
    )
    form.organisation_id.choices = [(0, _("— geen —"))] + [
        (o.id, o.name) for o in db.session.scalars(select(Organisation).order_by(Organisation.name))
    ]
    if form.validate_on_submit() and commit_or_flash(
        lambda: update_user_access(
            user,
            roles=form.roles.data,
            organisation=db.session.get(Organisation, form.organisation_id.data)
            if form.organisation_id.data
            else None,
            active=form.is_active_account.data,
            by=current_user,
        ),
        _("De gegevens van %(name)s zijn opgeslagen.", name=user.name),
        form=form,
    ):
        return redirect(url_for("auth_admin.users"))
    return render_template("auth/admin/user_edit.html", form=form, user=user), (
        400 if form.errors else 200
    )


def _vat_prefix(organisation_id: int) -> str:
    """Each row's form has its own field names and ids: one page holds many."""
    return f"org{organisation_id}"


def _organisations_page(form=None, vat_form=None, vat_form_for: int | None = None):
    rows = db.session.execute(
        select(Organisation, func.count(User.id))
        .outerjoin(User, User.organisation_id == Organisation.id)
        .group_by(Organisation.id)
        .order_by(Organisation.name)
    ).all()
    checks = {
        c.number: c
        for c in db.session.scalars(
            select(vat.VatCheck).where(
                vat.VatCheck.number.in_([o.vat_number for o, _n in rows if o.vat_number])
            )
        )
    }
    failed = bool((form and form.errors) or (vat_form and vat_form.errors))
    return render_template(
        "auth/admin/organisations.html",
        form=form or NewOrganisationForm(),
        rows=rows,
        checks=checks,
        vat_form=vat_form,
        vat_form_for=vat_form_for,
        vat_forms={
            o.id: OrganisationVatForm(
                prefix=_vat_prefix(o.id), country=o.country, vat_number=o.vat_number
            )
            for o, _n in rows
        },
    ), (400 if failed else 200)


@staff_bp.route("/organisations/", methods=["GET", "POST"])
@admin_required
def organisations():
    form = NewOrganisationForm()
    if form.validate_on_submit():

        def add_organisation() -> Organisation:
            organisation, created = find_or_create_organisation(
                form.name.data, form.kind.data, form.cbs_code.data
            )
            if not created:
                raise DomainError(_("Deze organisatie bestaat al."), field="name")
            set_organisation_vat(
                organisation,
                country=form.country.data,
                vat_number=form.vat_number.data,
                by=current_user,
            )
            return organisation

        added = commit_or_flash(add_organisation, form=form)
        if added:
            flash(_("Organisatie %(name)s is toegevoegd.", name=added.value.name), "success")
            return redirect(url_for("auth_admin.organisations"))
    return _organisations_page(form=form)


@staff_bp.route("/organisations/<int:organisation_id>/vat", methods=["POST"])
@admin_required
def organisation_vat(organisation_id: int):
    organisation = get_or_404(Organisation, organisation_id)
    form = OrganisationVatForm(prefix=_vat_prefix(organisation_id))
    if form.validate_on_submit():
        saved = commit_or_flash(
            lambda: set_organisation_vat(
                organisation,
                country=form.country.data,
                vat_number=form.vat_number.data,
                by=current_user,
            ),
            _("De btw-gegevens van %(name)s zijn opgeslagen.", name=organisation.name),
            form=form,
        )
        if saved:
            return redirect(url_for("auth_admin.organisations"))
    return _organisations_page(vat_form=form, vat_form_for=organisation_id)
