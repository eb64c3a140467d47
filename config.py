"""Settings from the environment, with embedded defaults that run on one laptop.

`make run` needs nothing but Python: SQLite in `instance/`, Celery over kombu's SQLAlchemy
transport on a SQLite file, mail into a local mailbox. Setting DATABASE_URL, REDIS_URL and
SMTP_HOST switches each part to the real service.
"""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("BBTRAINING_INSTANCE", BASE_DIR / "instance"))

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused by ProductionConfig


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'bbtraining.sqlite'}"
    # psycopg 3 is the driver we ship; plain postgres URLs from hosting panels should just work.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _broker_url() -> str:
    if os.environ.get("CELERY_BROKER_URL"):
        return os.environ["CELERY_BROKER_URL"]
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    return f"sqla+sqlite:///{INSTANCE_DIR / 'broker.sqlite'}"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None

    SITE_NAME = "bbtraining"
    ORGANISATION_NAME = os.environ.get("ORGANISATION_NAME", "Expertisecentrum Burgerberaden")
    # Absolute links in mails and invites must point at the public site, not at the request.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")

    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"
    LANGUAGES = ("nl", "en")

    # A request body above this is refused (413) before it is read; a photo may be 5 MB.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    WTF_CSRF_TIME_LIMIT = None  # a long form (an inhouse request) must not expire while typed
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_STRATEGY = "fixed-window"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "5 per minute;20 per hour")
    CONTACT_RATE_LIMIT = os.environ.get("CONTACT_RATE_LIMIT", "10 per minute;100 per day")

    # Wrong passwords for one e-mail address, from any client address, before it is locked
    # (auth/lockout.py); the lock is short, so nobody can keep an owner out for long.
    LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 10))
    LOGIN_FAILURE_WINDOW_MINUTES = int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", 15))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", 15))

    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", 3600))
    EMAIL_VERIFY_MAX_AGE = int(os.environ.get("EMAIL_VERIFY_MAX_AGE", 3 * 24 * 3600))

    MAIL_FROM = os.environ.get("MAIL_FROM", "bbtraining <noreply@bbtraining.localhost>")
    STAFF_EMAIL = os.environ.get("STAFF_EMAIL", "trainingen@bbtraining.localhost")
    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = int(os.environ.get("SMTP_PORT", 25))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    SMTP_STARTTLS = _bool("SMTP_STARTTLS")
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", 20))
    # A worker thread keeps its SMTP connection for this many mails (1: a new one per mail).
    SMTP_MAX_MESSAGES_PER_CONNECTION = int(os.environ.get("SMTP_MAX_MESSAGES_PER_CONNECTION", 100))
    MAILBOX_DIR = os.environ.get("MAILBOX_DIR", str(INSTANCE_DIR / "mailbox"))
    # A row still pending this long after its last attempt was lost on its way to the broker.
    OUTBOX_SWEEP_AFTER = int(os.environ.get("OUTBOX_SWEEP_AFTER", 120))
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", 8))
    # Rows committed together are delivered by tasks of up to this many (one claim, one SMTP
    # connection); each row is still claimed and marked on its own.
    OUTBOX_BATCH_SIZE = int(os.environ.get("OUTBOX_BATCH_SIZE", 25))
    WORKER_HEARTBEAT_MAX_AGE = int(os.environ.get("WORKER_HEARTBEAT_MAX_AGE", 120))

    # -- reminders, evaluations, calendar feeds (bookings) --
    # Hours before each session that participants get a reminder, per course kind; "default"
    # covers the kinds not listed. Each entry becomes its own reminder kind ("before-24h").
    REMINDER_HOURS_BEFORE: dict[str, tuple[int, ...]] = {"default": (7 * 24, 24)}
    # Trainers get the attendance list (who is coming) this many hours before each session.
    ATTENDANCE_LIST_HOURS_BEFORE = 24
    # Evaluation requests go out this long after a group's last session has ended, and only for
    # groups that ended at most EVALUATION_WINDOW_DAYS ago (no surprise mail for old trainings).
    EVALUATION_DELAY_HOURS = int(os.environ.get("EVALUATION_DELAY_HOURS", 2))
    EVALUATION_WINDOW_DAYS = 14
    EVALUATION_LINK_MAX_AGE = 60 * 24 * 3600
    # How far back a personal calendar feed shows sessions.
    CALENDAR_FEED_PAST_DAYS = 180

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY") or None
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET") or None
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None
    STRIPE_CHECKOUT_ORIGIN = os.environ.get("STRIPE_CHECKOUT_ORIGIN", "https://checkout.stripe.com")

    SELLER_ADDRESS_LINES = tuple(
        os.environ.get("SELLER_ADDRESS", "Postbus 1234|3500 AA Utrecht").split("|")
    )
    SELLER_VAT_NUMBER = os.environ.get("SELLER_VAT_NUMBER", "NL000000000B01")
    # VIES, the EU's VAT number database (REST API); empty: never asked, numbers stay pending.
    VIES_URL = os.environ.get("VIES_URL", "https://ec.europa.eu/taxation_customs/vies/rest-api")
    VIES_TIMEOUT = float(os.environ.get("VIES_TIMEOUT", 4))
    SELLER_PAYMENT_NOTE = os.environ.get(
        "SELLER_PAYMENT_NOTE",
        "Graag overmaken op NL00 BANK 0000 0000 00 onder vermelding van het factuurnummer.",
    )

    ENROLLMENT_HOLD_MINUTES = int(os.environ.get("ENROLLMENT_HOLD_MINUTES", 30))
    ENROLLMENT_PROCESSING_HOLD_HOURS = int(os.environ.get("ENROLLMENT_PROCESSING_HOLD_HOURS", 72))
    ENROLLMENT_INVOICE_DUE_DAYS = int(os.environ.get("ENROLLMENT_INVOICE_DUE_DAYS", 14))
    WAITLIST_OFFER_HOURS = int(os.environ.get("WAITLIST_OFFER_HOURS", 48))
    WAITLIST_MAX_GROUP = int(os.environ.get("WAITLIST_MAX_GROUP", 10))

    DEV_PAGES = False
    # Public catalog pages kept per web worker for anonymous visitors; any catalog write drops
    # them at once, so this only bounds what changes with the clock (a deadline passing).
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", 60))
    PAGE_CACHE_ENTRIES = int(os.environ.get("PAGE_CACHE_ENTRIES", 512))
    # Signed-in pages (dashboard, alumni search) kept per person and web worker; any committed
    # write drops them at once, so this only bounds what changes with the clock. 0: off.
    PERSONAL_CACHE_SECONDS = int(os.environ.get("PERSONAL_CACHE_SECONDS", 10))
    PERSONAL_CACHE_ENTRIES = int(os.environ.get("PERSONAL_CACHE_ENTRIES", 1024))

    CELERY = {
        "broker_url": _broker_url(),
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "Europe/Amsterdam",
        "enable_utc": True,
        "task_acks_late": True,
        "worker_prefetch_multiplier": 1,
        # A web request must not hang on a broker that is down: the outbox sweep sends later.
        "broker_connection_timeout": 2,
        "broker_connection_retry_on_startup": True,
        "beat_schedule_filename": str(INSTANCE_DIR / "celerybeat-schedule"),
    }


class DevelopmentConfig(Config):
    DEBUG = True
    DEV_PAGES = True


class TestingConfig(Config):
    TESTING = True
    VIES_URL = ""  # tests that need VIES start their own (tests/vies_server.py)
    DEV_PAGES = True
    SERVER_NAME = None
    PASSWORD_HASH_METHOD = "scrypt:2048:8:1"  # noqa: S105 - a hash method, not a secret  # cheap work factor: tests hash hundreds of times


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    PREFERRED_URL_SCHEME = "https"
    TRUST_PROXY_HOPS = int(os.environ.get("TRUST_PROXY_HOPS", 1))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
