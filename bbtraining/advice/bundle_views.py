"""Pages of the advies-strippenkaart.

- clients (and staff, advisors): /advies/strippenkaarten/<id> with the balance and every entry,
  the statement (PDF) and the entries (CSV/XLSX); a panel on /account/;
- staff and advisors: /admin/advies/strippenkaarten (balance, expiry) and a bundle's page where
  time is logged; staff alone sell, correct, allow and invoice an overrun, close, and download
  the hours per advisor per month.
Another organisation's bundle is a 404.
"""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from ..auth.models import Organisation
from ..core.panels import account_panels, admin_panels, nav_links
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..permissions import admin_required, get_or_404, get_visible_or_404, roles_required
from ..web import commit_or_flash
from . import admin_bp, bp, bundle_exports, bundles
from .bundle_forms import ButtonForm, CorrectEntryForm, LogTimeForm, SellBundleForm, YearForm
from .bundle_models import AdviceBundle, AdviceBundleEntry

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
staff_or_advisor = roles_required("admin", "advisor")


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def _visible_bundle(bundle_id: int) -> AdviceBundle:
    return get_visible_or_404(AdviceBundle, bundle_id)


# -- the client's portal ----------------------------------------------------------------------
@bp.route("/strippenkaarten/<int:bundle_id>")
@login_required
def bundle_detail(bundle_id: int):
    bundle = _visible_bundle(bundle_id)
    return render_template(
        "advice/bundle_detail.html",
        bundle=bundle,
        today=bundles.today(),
        hours=bundles.hours_text,
        overrun_invoices=bundles.overrun_invoices(bundle),
    )


@bp.route("/strippenkaarten/<int:bundle_id>/overzicht.pdf")
@login_required
def bundle_statement(bundle_id: int):
    bundle = _visible_bundle(bundle_id)
    return _download(
        bundle_exports.statement_pdf(bundle, on=bundles.today()),
        "application/pdf",
        bundle_exports.entries_filename(bundle, "pdf"),
    )


@bp.route("/strippenkaarten/<int:bundle_id>/regels.<any(csv, xlsx):fmt>")
@login_required
def bundle_entries_export(bundle_id: int, fmt: str):
    bundle = _visible_bundle(bundle_id)
    if fmt == "csv":
        data, mimetype = bundle_exports.entries_csv(bundle), "text/csv; charset=utf-8"
    else:
        data, mimetype = bundle_exports.entries_xlsx(bundle), XLSX
    return _download(data, mimetype, bundle_exports.entries_filename(bundle, fmt))


def bundle_account_panel(user) -> Markup | None:
    """The organisation's bundles on /account/, for its clients."""
    if not user.is_client or user.organisation_id is None:
        return None
    found = bundles.bundles_of(user.organisation_id)
    if not found:
        return None
    return Markup(  # noqa: S704 - an autoescaped template of ours
        render_template(
            "advice/bundle_panel.html",
            bundles=found,
            today=bundles.today(),
            hours=bundles.hours_text,
        )
    )


def bundle_staff_tile(user) -> Markup | None:
    if not user.is_admin:
        return None
    return Markup(  # noqa: S704 - an autoescaped template of ours
        render_template(
            "advice/bundle_admin_tile.html",
            bundles=bundles.all_bundles(),
            today=bundles.today(),
            hours=bundles.hours_text,
        )
    )


def bundle_nav_link(user) -> list:
    """Advisors find the bundles they log time on in the menu (staff via /admin/)."""
    if user.is_advisor:
        return [(_l("Strippenkaarten"), "advice_admin.bundle_list")]
    return []


def register_panels() -> None:
    account_panels.register(40)(bundle_account_panel)
    admin_panels.register(70)(bundle_staff_tile)
    nav_links.register(70)(bundle_nav_link)


# -- staff and advisors -----------------------------------------------------------------------
@admin_bp.route("/strippenkaarten")
@staff_or_advisor
def bundle_list():
    show_closed = request.args.get("alle") == "1"
    return render_template(
        "advice/bundle_list.html",
        bundles=bundles.all_bundles(include_closed=show_closed),
        show_closed=show_closed,
        today=bundles.today(),
        hours=bundles.hours_text,
        year_form=YearForm(request.args),
    )


def _organisation_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name)
    ).all()
    return [(0, _("Kies een organisatie"))] + [(row.id, row.name) for row in rows]


@admin_bp.route("/strippenkaarten/nieuw", methods=["GET", "POST"])
@admin_required
def bundle_sell():
    form = SellBundleForm()
    form.organisation.choices = _organisation_choices()
    if request.method == "GET":
        form.valid_from.data = bundles.today()
        wanted = request.args.get("organisatie", type=int)
        if wanted:
            form.organisation.data = wanted
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation.data)
        if organisation is None:
            form.organisation.errors = [_("Kies de organisatie die de strippenkaart koopt.")]
        else:
            outcome = commit_or_flash(
                lambda: bundles.sell_bundle(
                    organisation=organisation,
                    hours=form.hours.data,
                    price=form.price.data,
                    by=current_user,
                    valid_from=form.valid_from.data,
                    valid_until=form.valid_until.data,
                    reference=form.reference.data,
                ),
                _("De strippenkaart is verkocht en de factuur is verstuurd."),
                form=form,
            )
            if outcome:
                return redirect(url_for("advice_admin.bundle_manage", bundle_id=outcome.value.id))
    status = 422 if request.method == "POST" else 200
    return render_template("advice/bundle_sell.html", form=form), status


def _log_form() -> LogTimeForm:
    form = LogTimeForm()
    form.advisor.choices = [(a.id, a.name) for a in bundles.advisors()]
    if request.method == "GET":
        form.day.data = bundles.today()
        if current_user.is_advisor:
            form.advisor.data = current_user.id
    return form


def _manage_page(bundle: AdviceBundle, log_form: LogTimeForm, status: int = 200):
    return (
        render_template(
            "advice/bundle_manage.html",
            bundle=bundle,
            form=log_form,
            correct_form=CorrectEntryForm(formdata=None),
            button=ButtonForm(formdata=None),
            today=bundles.today(),
            hours=bundles.hours_text,
            overrun_invoices=bundles.overrun_invoices(bundle),
            may_correct=_may_correct,
        ),
        status,
    )


def _may_correct(entry: AdviceBundleEntry) -> bool:
    if entry.is_correction or entry.correction is not None:
        return False
    return current_user.is_admin or entry.created_by_id == current_user.id


@admin_bp.route("/strippenkaarten/<int:bundle_id>")
@staff_or_advisor
def bundle_manage(bundle_id: int):
    bundle = get_or_404(AdviceBundle, bundle_id)
    return _manage_page(bundle, _log_form())


@admin_bp.route("/strippenkaarten/<int:bundle_id>/tijd", methods=["POST"])
@staff_or_advisor
def bundle_log_time(bundle_id: int):
    bundle = get_or_404(AdviceBundle, bundle_id)
    form = _log_form()
    if form.validate_on_submit():
        # An advisor logs their own time; staff log for any advisor.
        advisor_id = form.advisor.data if current_user.is_admin else current_user.id
        advisor = next((a for a in bundles.advisors() if a.id == advisor_id), None)
        outcome = commit_or_flash(
            lambda: bundles.log_time(
                bundle,
                day=form.day.data,
                minutes=form.minutes.data,
                topic=form.topic.data,
                advisor=advisor,
                by=current_user,
                note=form.note.data or "",
            ),
            _("De tijd is geboekt."),
            form=form,
        )
        if outcome:
            return redirect(url_for("advice_admin.bundle_manage", bundle_id=bundle.id))
    return _manage_page(bundle, form, 422)


@admin_bp.route(
    "/strippenkaarten/<int:bundle_id>/regels/<int:entry_id>/correctie", methods=["POST"]
)
@staff_or_advisor
def bundle_correct_entry(bundle_id: int, entry_id: int):
    bundle = get_or_404(AdviceBundle, bundle_id)
    entry = get_or_404(AdviceBundleEntry, entry_id)
    if entry.bundle_id != bundle.id:
        abort(404)
    if not current_user.is_admin and entry.created_by_id != current_user.id:
        abort(403)
    form = CorrectEntryForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: bundles.correct_entry(entry, by=current_user, reason=form.reason.data),
            _("De regel is gecorrigeerd; boek zo nodig de juiste tijd opnieuw."),
        )
    else:
        flash(_("Geef de reden van de correctie op."), "error")
    return redirect(url_for("advice_admin.bundle_manage", bundle_id=bundle.id) + "#regels")


@admin_bp.route(
    "/strippenkaarten/<int:bundle_id>/overschrijding/<any(toestaan, stoppen):action>",
    methods=["POST"],
)
@admin_required
def bundle_overrun(bundle_id: int, action: str):
    bundle = get_or_404(AdviceBundle, bundle_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    allowed = action == "toestaan"
    commit_or_flash(
        lambda: bundles.set_overrun(bundle, allowed, by=current_user),
        _("Overschrijding is toegestaan; wat boven de uren komt, wordt gefactureerd.")
        if allowed
        else _("Overschrijding staat weer uit."),
    )
    return redirect(url_for("advice_admin.bundle_manage", bundle_id=bundle.id))


@admin_bp.route("/strippenkaarten/<int:bundle_id>/overschrijding/factureren", methods=["POST"])
@admin_required
def bundle_invoice_overrun(bundle_id: int):
    bundle = get_or_404(AdviceBundle, bundle_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    commit_or_flash(
        lambda: bundles.invoice_overrun(bundle, by=current_user),
        _("De overschrijding is gefactureerd."),
    )
    return redirect(url_for("advice_admin.bundle_manage", bundle_id=bundle.id))


@admin_bp.route("/strippenkaarten/<int:bundle_id>/sluiten", methods=["POST"])
@admin_required
def bundle_close(bundle_id: int):
    bundle = get_or_404(AdviceBundle, bundle_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    commit_or_flash(
        lambda: bundles.close_bundle(bundle, by=current_user),
        _("De strippenkaart is gesloten; er kan geen tijd meer op."),
    )
    return redirect(url_for("advice_admin.bundle_manage", bundle_id=bundle.id))


@admin_bp.route("/uren-per-adviseur.csv")
@admin_required
def advisor_hours_csv():
    form = YearForm(request.args)
    year = form.year.data if form.validate() and form.year.data else bundles.today().year
    return _download(
        bundle_exports.advisor_months_csv(bundles.hours_per_advisor_per_month(year)),
        "text/csv; charset=utf-8",
        f"advies-uren-per-adviseur-{year}.csv",
    )
