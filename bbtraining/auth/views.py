from urllib.parse import urljoin, urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from ..extensions import limiter, login_manager
from ..web import commit_or_flash
from . import bp, services
from .forms import (
    ChangePasswordForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
    ResendVerificationForm,
    ResetRequestForm,
)
from .models import Role, User


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    user_id, _sep, token = cookie_id.partition(":")
    if not user_id.isdigit():
        return None
    user = services.load_signed_in(int(user_id))
    if user is None or not token or user.session_token != token or not user.is_active:
        return None
    return user


def safe_next(target: str | None, default: str = "account.dashboard") -> str:
    """Only paths on this site: a `next` pointing elsewhere would make us an open redirect."""
    if target:
        joined = urlsplit(urljoin(request.host_url, target))
        if (
            joined.scheme in ("http", "https")
            and joined.netloc == urlsplit(request.host_url).netloc
            and not target.startswith("//")
            and "\\" not in target
        ):
            return joined.path + (f"?{joined.query}" if joined.query else "")
    return url_for(default)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _account_key() -> str:
    user_id = current_user.get_id() if current_user.is_authenticated else None
    return f"account:{user_id.partition(':')[0]}" if user_id else get_remote_address()


def _wrong_password(response) -> bool:
    return response.status_code != 302  # a confirmed password ends in a redirect


def limit_password_checks(view):
    """A form that asks a signed-in person for their current password (change it, delete the
    account) must not let whoever holds the session guess it: wrong answers are limited like
    logins, per client address and per account over all such forms together."""
    view = limiter.shared_limit(
        _login_limit,
        "current-password",
        key_func=_account_key,
        methods=["POST"],
        deduct_when=_wrong_password,
    )(view)
    return limiter.limit(_login_limit, methods=["POST"], deduct_when=_wrong_password)(view)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        chosen_language = session.get("lang")
        signed_in = commit_or_flash(
            lambda: services.authenticate(form.email.data, form.password.data, chosen_language)
        )
        user = signed_in.value
        if isinstance(signed_in.error, services.LoginLocked):
            return render_template("auth/login.html", form=form), 429
        if signed_in and user is None:
            flash(_("Het e-mailadres of wachtwoord klopt niet."), "error")
        elif user is not None:
            session.clear()  # a fresh session id after login (session fixation)
            if chosen_language:  # the language switch outlives the old session
                session["lang"] = chosen_language
            login_user(user, remember=form.remember.data)
            flash(_("Welkom, %(name)s.", name=user.first_name), "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        # The server forgets the session token: a copy of the cookie opens nothing more.
        if current_user.is_authenticated and not commit_or_flash(
            lambda: services.log_out(current_user._get_current_object())
        ):
            return redirect(url_for("account.dashboard"))
        logout_user()
        flash(_("U bent uitgelogd."), "success")
        return redirect(url_for("courses.home"))
    # A GET shows a button: a link or image on another site must not log people out.
    return render_template("auth/logout.html", form=ResendVerificationForm())


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("account.dashboard"))
    form = RegisterForm()
    if form.validate_on_submit():

        def register_account() -> User:
            organisation = None
            roles: tuple[Role, ...] = (Role.FACILITATOR,)
            if form.account_type.data == "client":
                organisation, created = services.find_or_create_organisation(
                    form.organisation_name.data, form.organisation_kind.data
                )
                roles = (Role.CLIENT,)
                if not created:
                    # Joining an existing organisation would show its bookings: staff confirm it.
                    raise DomainError(
                        _(
                            "%(org)s heeft al een account bij ons. Vraag een collega u toe te "
                            "voegen, of neem contact met ons op.",
                            org=organisation.name,
                        ),
                        field="organisation_name",
                    )
            return services.register_user(
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
                roles=roles,
                organisation=organisation,
                locale=str(_current_locale()),
            )

        registered = commit_or_flash(register_account, form=form)
        if registered:
            login_user(registered.value)
            flash(
                _(
                    "Uw account is aangemaakt. We hebben u een e-mail gestuurd om uw "
                    "e-mailadres te bevestigen."
                ),
                "success",
            )
            return redirect(safe_next(request.args.get("next")))
    status = 400 if form.errors else 200
    return render_template("auth/register.html", form=form), status


def _current_locale():
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale else "nl"


@bp.route("/verify/<token>")
def verify_email(token: str):
    # A link that is invalid or expired is flashed; either way the person goes on from here.
    commit_or_flash(lambda: services.verify_email(token), _("Uw e-mailadres is bevestigd."))
    return redirect(
        url_for("account.dashboard") if current_user.is_authenticated else url_for("auth.login")
    )


@bp.route("/verify/resend", methods=["POST"])
@login_required
@limiter.limit(_reset_limit)
def resend_verification():
    if ResendVerificationForm().validate_on_submit() and not current_user.email_verified:
        commit_or_flash(
            lambda: services.send_verification_mail(current_user),
            _("We hebben de bevestigingsmail opnieuw gestuurd."),
        )
    return redirect(url_for("account.dashboard"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset():
    form = ResetRequestForm()
    if form.validate_on_submit() and commit_or_flash(
        lambda: services.request_password_reset(form.email.data)
    ):
        # The same answer whether or not the address has an account.
        flash(
            _(
                "Als er een account bij dit e-mailadres hoort, hebben we een link gestuurd "
                "om een nieuw wachtwoord in te stellen. De link is een uur geldig."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_with_token(token: str):
    try:
        services.user_for_reset_token(token)
    except services.TokenInvalid as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.reset"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        reset_done = commit_or_flash(
            lambda: services.reset_password(token, form.password.data),
            _("Uw wachtwoord is gewijzigd. U kunt nu inloggen."),
            form=form,
        )
        if reset_done:
            logout_user()
            return redirect(url_for("auth.login", email=reset_done.value.email))
    return render_template("auth/reset_form.html", form=form), 400 if form.errors else 200


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limit_password_checks
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors = [_("Uw huidige wachtwoord klopt niet.")]
        else:
            changed = commit_or_flash(
                lambda: services.change_password(current_user, form.password.data),
                _("Uw wachtwoord is gewijzigd. Andere apparaten zijn uitgelogd."),
                form=form,
            )
            if changed:
                login_user(current_user._get_current_object())  # this session stays, new token
                return redirect(url_for("account.dashboard"))
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200
