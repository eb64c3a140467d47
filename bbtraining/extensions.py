from flask import request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from . import sqlite  # noqa: F401  (SQLite locking and foreign keys for every engine)

# Named constraints keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def select_locale() -> str:
    from flask import current_app, has_request_context
    from flask_login import current_user

    if not has_request_context():  # CLI and worker: mails pick their locale with force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    signed_in = getattr(current_user, "is_authenticated", False)
    language = locale_from(
        session.get("lang"),
        request.accept_languages,
        current_app.config["LANGUAGES"],
        current_app.config["BABEL_DEFAULT_LOCALE"],
        user_locale=current_user.locale if signed_in else None,
    )
    return babel_locale(language)


# English pages follow British conventions (29 Nov 2026, 14:00), which Dutch readers expect
# more than American ones; the English messages serve both.
BABEL_LOCALES = {"en": "en_GB"}


def babel_locale(language: str) -> str:
    """The Babel locale for formatting dates, times and money in one of LANGUAGES."""
    return BABEL_LOCALES.get(language, language)


def locale_from(chosen, accept_languages, languages, default: str, user_locale=None) -> str:
    """The language switch wins, then the account's language, then the browser's."""
    if chosen in languages:
        return chosen
    if user_locale in languages:
        return user_locale
    return accept_languages.best_match(languages) or default


babel = Babel()
