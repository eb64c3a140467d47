from flask import (
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..auth.views import safe_next
from ..extensions import csrf
from ..permissions import admin_required
from ..web import commit, commit_or_flash
from . import account_bp, admin_bp, bp, health
from .panels import account_panels, admin_panels
from .personal_cache import personal_page


@bp.route("/healthz")
@csrf.exempt
def healthz():
    checks = health.check_all()
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        **{k: "up" if v else "down" for k, v in checks.items()},
    }
    return jsonify(body), 200 if healthy else 503


@bp.route("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico whatever the page says; pages link the SVG version too.
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


@bp.route("/language/<code>", methods=["GET", "POST"])
def set_language(code: str):
    """The language switch. The public pages link to it (GET: they carry no CSRF token, being
    the same for every visitor), which changes this browser's language only; the form on the
    other pages (POST, with the token) also keeps it as the account's language."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    # The session this may start holds a CSRF token, as one a form starts does: the page
    # cache's front door serves stored pages only to sessions with one.
    generate_csrf()
    if request.method == "POST" and current_user.is_authenticated and current_user.locale != code:
        current_user.locale = code
        commit()
    return redirect(safe_next(request.values.get("next") or request.referrer, "courses.home"))


@account_bp.route("/", endpoint="dashboard")
@personal_page
@login_required
def account_dashboard():
    return render_template("core/account.html", panels=account_panels.render(current_user))


@account_bp.route("/calendar-token", methods=["POST"])
@login_required
def regenerate_calendar_token():
    commit_or_flash(
        current_user.regenerate_calendar_token,
        _("Uw agenda-link is vernieuwd. De oude link werkt niet meer."),
    )
    return redirect(url_for("account.dashboard"))


@admin_bp.route("/", endpoint="dashboard")
@admin_required
def admin_dashboard():
    return render_template("core/admin.html", panels=admin_panels.render(current_user))
