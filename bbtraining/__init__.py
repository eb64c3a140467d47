"""bbtraining: the booking platform for trainings on citizens' assemblies."""

import importlib
import os
import weakref
from decimal import Decimal
from urllib.parse import urlsplit

import flask
from flask import Flask, render_template, request
from flask_babel import format_currency, format_date, format_datetime, format_time
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.routing import IntegerConverter, UnicodeConverter

from config import CONFIGS, DEV_SECRET_KEY

from .celery_app import celery_init_app
from .data_versions import VersionedPages
from .extensions import babel, csrf, db, limiter, login_manager, migrate, select_locale
from .i18n import JSONProvider
from .permissions import MAX_ID

BLUEPRINT_MODULES = (
    "bbtraining.core",
    "bbtraining.auth",
    "bbtraining.notifications",
    "bbtraining.courses",
    "bbtraining.bookings",
    "bbtraining.alumni",
    "bbtraining.advice",
)


# Modules whose Celery tasks the worker must know, each with an optional BEAT_SCHEDULE; bookings
# lists its sub-packages' own in bbtraining/bookings/__init__.py.
def task_modules() -> tuple[str, ...]:
    from .advice import TASK_MODULES as ADVICE_TASK_MODULES
    from .bookings import TASK_MODULES as BOOKINGS_TASK_MODULES

    return (
        "bbtraining.notifications.tasks",
        *BOOKINGS_TASK_MODULES,
        "bbtraining.alumni.tasks",
        *ADVICE_TASK_MODULES,
        "bbtraining.vat.tasks",
    )


def create_app(config_name: str | None = None, **overrides) -> Flask:
    config_name = config_name or os.environ.get("BBTRAINING_CONFIG", "development")
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=_instance_dir(),
    )
    # An id beyond what an INTEGER column holds cannot exist; the database would raise on it
    # (a 500) instead of answering 404.
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextWithoutNulConverter
    app.request_class = Request
    app.json = JSONProvider(app)  # lazy messages as text (bbtraining/i18n.py)
    app.config.from_object(CONFIGS[config_name])
    app.config.update(overrides)
    _refuse_unsafe_production(app, config_name)
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    from . import http_cache, page_cache

    page_cache.init_app(app)
    http_cache.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=os.path.join(app.root_path, "translations"),
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _lazy("Log in om deze pagina te bekijken.")
    login_manager.login_message_category = "info"

    if app.config.get("TRUST_PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUST_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    schedule: dict = {}
    for module_name in task_modules():
        schedule.update(getattr(importlib.import_module(module_name), "BEAT_SCHEDULE", {}))
    app.config["CELERY_BEAT_SCHEDULE"] = schedule
    celery_init_app(app)

    from . import audit, vat  # noqa: F401  (model registration)
    from .auth import models as _auth_models  # noqa: F401
    from .notifications import models as _notification_models  # noqa: F401

    for module_name in BLUEPRINT_MODULES:
        module = importlib.import_module(module_name)
        for attr in ("bp", "account_bp", "admin_bp", "public_bp", "staff_bp"):
            blueprint = getattr(module, attr, None)
            if blueprint is not None:
                app.register_blueprint(blueprint)
        if hasattr(module, "init_app"):
            module.init_app(app)

    _register_template_helpers(app)
    _register_error_handlers(app)
    _register_security_headers(app)
    from .cli import register_cli

    register_cli(app)
    forget_connections_after_fork(app)
    return app


def forget_connections_after_fork(app: Flask) -> None:
    """A process forked from this one (gunicorn's preloaded workers) opens connections of its
    own: two processes talking over one socket mix up each other's answers."""
    app_ref = weakref.ref(app)

    def in_child() -> None:
        forked = app_ref()
        if forked is None:
            return
        with forked.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)  # the parent's connections stay the parent's
        for extension in forked.extensions.values():
            if isinstance(extension, VersionedPages):
                extension.forget_connections()

    os.register_at_fork(after_in_child=in_child)


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` up to the largest database id; a larger number matches no route (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class TextWithoutNulConverter(UnicodeConverter):
    """A slug, token or name in the path: a NUL in it matches no route (404), as PostgreSQL
    cannot even compare text holding one."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


def _drop_nul(value):
    return value.replace("\x00", "") if isinstance(value, str) else value


class ParametersWithoutNul(ImmutableMultiDict):
    """Query parameters and form fields without NUL characters. Nobody types one, and
    PostgreSQL cannot store text holding one: every form would answer with a 500."""

    def __init__(self, mapping=None):
        if mapping is not None:
            mapping = [(_drop_nul(k), _drop_nul(v)) for k, v in iter_multi_items(mapping)]
        super().__init__(mapping)


class Request(flask.Request):
    parameter_storage_class = ParametersWithoutNul


def _lazy(text: str):
    from .i18n import lazy_gettext

    return lazy_gettext(text)


def _instance_dir() -> str:
    from config import INSTANCE_DIR

    return str(INSTANCE_DIR)


def _refuse_unsafe_production(app: Flask, config_name: str) -> None:
    """The production configuration starts only with what keeps it safe; otherwise it stops
    with every missing setting named (one RuntimeError, so they can all be fixed at once)."""
    if config_name != "production":
        return
    config = app.config
    problems = []
    key = config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < 32:
        problems.append(
            "set SECRET_KEY to a random value of at least 32 characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    for cookie in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if config.get(cookie) is not True:
            problems.append(f"{cookie} must be True: login cookies travel over HTTPS only")
    public_url = config.get("PUBLIC_URL") or ""
    if urlsplit(public_url).scheme != "https" or not urlsplit(public_url).netloc:
        problems.append(
            f"set PUBLIC_URL to the site's https address (now {public_url!r}): links in mails "
            "and calendar invites must not send people to plain http"
        )
    if config.get("STRIPE_SECRET_KEY") and not config.get("STRIPE_WEBHOOK_SECRET"):
        problems.append(
            "set STRIPE_WEBHOOK_SECRET when STRIPE_SECRET_KEY is set: payments are confirmed "
            "only by webhooks whose signature is checked"
        )
    if problems:
        raise RuntimeError(
            "Refusing to start the production configuration: " + "; ".join(problems) + "."
        )


def _register_template_helpers(app: Flask) -> None:
    from .core.panels import nav_links

    @app.template_filter("money")
    def money(amount) -> str:
        if amount is None:
            return ""
        return format_currency(Decimal(amount), "EUR")

    @app.template_filter("date")
    def date_filter(value, fmt: str = "medium") -> str:
        return format_date(value, fmt) if value else ""

    @app.template_filter("datetime")
    def datetime_filter(value, fmt: str = "medium") -> str:
        return format_datetime(value, fmt) if value else ""

    @app.template_filter("time")
    def time_filter(value, fmt: str = "short") -> str:
        return format_time(value, fmt) if value else ""

    @app.context_processor
    def inject_globals():
        from flask_babel import get_locale

        extra = []
        # Outside a request (mail queued by the worker or the CLI) there is no current_user.
        if getattr(current_user, "is_authenticated", False):
            for _order, fn in nav_links.panels:
                extra.extend(fn(current_user) or [])
        return {
            "current_locale": get_locale().language if get_locale() else "nl",
            "languages": app.config["LANGUAGES"],
            "extra_nav": extra,
            "site_name": app.config["SITE_NAME"],
            "organisation_name": app.config["ORGANISATION_NAME"],
        }


def _register_error_handlers(app: Flask) -> None:
    def render_error(status: int, title: str, message: str):
        if request.accept_mimetypes.best == "application/json" or request.path.startswith(
            ("/healthz", "/stripe/")
        ):
            return {"error": message}, status
        return render_template(
            "errors/error.html", status=status, title=title, message=message
        ), status

    @app.errorhandler(400)
    def bad_request(_exc):
        return render_error(
            400,
            _("Ongeldig verzoek"),
            _("Uw verzoek kon niet worden verwerkt. Controleer wat u invulde."),
        )

    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        return render_error(
            400,
            _("Formulier verlopen"),
            _(
                "Het formulier is verlopen of kwam niet van deze site. Laad de "
                "pagina opnieuw en probeer het nog eens."
            ),
        )

    @app.errorhandler(403)
    def forbidden(_exc):
        return render_error(
            403,
            _("Geen toegang"),
            _(
                "U heeft geen toegang tot deze pagina. Log in met een account "
                "dat wel toegang heeft."
            ),
        )

    @app.errorhandler(404)
    def not_found(_exc):
        return render_error(
            404,
            _("Pagina niet gevonden"),
            _(
                "Deze pagina bestaat niet (meer). Controleer het adres of ga naar "
                "het overzicht van trainingen."
            ),
        )

    @app.errorhandler(405)
    def method_not_allowed(_exc):
        return render_error(
            405, _("Niet toegestaan"), _("Deze actie is op deze pagina niet mogelijk.")
        )

    @app.errorhandler(413)
    def too_large(_exc):
        # Over MAX_CONTENT_LENGTH (a file) or MAX_FORM_MEMORY_SIZE (a text): nothing was read.
        view = app.view_functions.get(request.endpoint or "")
        answer = getattr(view, "answer_too_large", None)
        response = answer() if answer is not None else None
        if response is not None:
            return response
        return render_error(
            413,
            _("Te groot"),
            _("Wat u verstuurde is te groot. Kies een kleiner bestand of kort uw tekst in."),
        )

    @app.errorhandler(429)
    def too_many(_exc):
        return render_error(
            429,
            _("Te veel pogingen"),
            _("U heeft het te vaak geprobeerd. Wacht een paar minuten en probeer het dan opnieuw."),
        )

    @app.errorhandler(500)
    def server_error(_exc):
        from .web import saved_answer

        # The change was committed before the error: it is kept, and the answer says so.
        saved = saved_answer()
        if saved is not None:
            return saved
        db.session.rollback()
        return render_error(
            500,
            _("Er ging iets mis"),
            _(
                "Er ging aan onze kant iets mis. Er is niets opgeslagen van deze "
                "actie. Probeer het later opnieuw."
            ),
        )


def content_security_policy(checkout_origin: str) -> str:
    # form-action also governs the redirect after a POST, so the payment page's origin is listed.
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'; form-action 'self' {checkout_origin}; "
        "frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    )


def _register_security_headers(app: Flask) -> None:
    csp = content_security_policy(app.config["STRIPE_CHECKOUT_ORIGIN"])

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
