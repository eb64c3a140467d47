"""Account operations: they flush, never commit; the view commits once."""

import math

from flask import current_app, url_for
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import audit, vat
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..notifications.services import queue_mail
from . import lockout
from .models import Organisation, Role, User, normalise_email, password_matches
from .signals import email_verified

# Short list of passwords people really pick; a dictionary check keeps the worst out.
COMMON_PASSWORDS = {
    "wachtwoord",
    "wachtwoord1",
    "wachtwoord123",
    "password",
    "password1",
    "password123",
    "welkom01",
    "welkom123",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "0123456789",
    "burgerberaad",
    "gemeente123",
    "zomer2026!",
    "welkom2026",
}
MIN_PASSWORD_LENGTH = 10


class TokenInvalid(DomainError):
    pass


def password_problem(password: str, email: str = "") -> str | None:
    """The reason a password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return str(_l("Kies een wachtwoord van minstens %(n)s tekens.", n=MIN_PASSWORD_LENGTH))
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        return str(_l("Dit wachtwoord is te makkelijk te raden. Kies een ander wachtwoord."))
    local_part = normalise_email(email).split("@")[0]
    if local_part and len(local_part) >= 4 and local_part in lowered:
        return str(_l("Uw wachtwoord mag uw e-mailadres niet bevatten."))
    return None


def register_user(
    *,
    name: str,
    email: str,
    password: str,
    roles: tuple[Role, ...] = (Role.FACILITATOR,),
    organisation: Organisation | None = None,
    locale: str = "nl",
    send_verification: bool = True,
) -> User:
    email = normalise_email(email)
    if User.by_email(email) is not None:
        raise DomainError(
            _l(
                "Er bestaat al een account met dit e-mailadres. Log in of vraag een nieuw "
                "wachtwoord aan."
            ),
            field="email",
        )
    problem = password_problem(password, email)
    if problem:
        raise DomainError(problem, field="password")
    user = User(name=name.strip(), email=email, locale=locale, organisation=organisation)
    user.set_password(password)
    for role in roles:
        user.add_role(role)
    db.session.add(user)
    db.session.flush()
    audit.record("user.registered", user, actor=user, roles=[str(r) for r in roles])
    if send_verification:
        send_verification_mail(user)
    return user


def find_or_create_organisation(name: str, kind: str, cbs_code: str | None = None):
    """Return (organisation, created)."""
    name = " ".join(name.split())
    existing = db.session.scalar(
        select(Organisation).where(Organisation.kind == kind, Organisation.name.ilike(name))
    )
    if existing is not None:
        return existing, False
    organisation = Organisation(name=name, kind=kind, cbs_code=cbs_code or None)
    db.session.add(organisation)
    db.session.flush()
    audit.record("organisation.created", organisation)
    return organisation, True


def set_organisation_vat(
    organisation: Organisation, *, country: str, vat_number: str | None, by=None
) -> None:
    """Record where an organisation is established and its VAT number, asked at VIES; a
    DomainError for a number of the wrong form or one VIES says does not exist."""
    if country not in vat.EU_COUNTRIES:
        raise DomainError(_l("Kies een land van de Europese Unie."), field="country")
    number = vat.check_for_booking(vat_number, country)
    before = (organisation.country, organisation.vat_number)
    if before == (country, number):
        return
    organisation.country, organisation.vat_number = country, number
    db.session.flush()
    audit.record(
        "organisation.vat_changed",
        organisation,
        actor=by,
        before=list(before),
        after=[country, number],
        vies=getattr(vat.status_of(number), "status", None),
    )


def load_signed_in(user_id: int) -> User | None:
    """The user behind a session cookie, with roles and organisation: one query per request
    instead of three (every page asks for the roles, many for the organisation)."""
    return (
        db.session.execute(
            select(User)
            .options(joinedload(User.role_rows), joinedload(User.organisation))
            .where(User.id == user_id)
        )
        .unique()
        .scalar_one_or_none()
    )


class LoginLocked(DomainError):
    pass


def authenticate(email: str, password: str, language: str | None = None) -> User | None:
    """The user when the address and password match an active account, else None.

    `language` is the one the visitor chose with the switch before signing in: it becomes the
    account's, as the switch does for someone signed in, so pages and mails stay in it.

    Every attempt costs one password hash (a dummy one for an unknown address), locked or
    not, so the time of the answer tells nothing. A wrong password counts against the address
    (lockout); the failure that locks it mails the owner. While the address is locked even the
    right password is refused, with the same message whether or not an account exists.
    """
    user = User.by_email(email)
    matches = password_matches(user, password)
    until = lockout.locked_until(email)
    if until is None and (user is None or not user.is_active or not matches):
        failure = lockout.record_failure(email)
        if failure.notify_owner and user is not None and user.is_active:
            _mail_lock_to_owner(user)
        if failure.locked_now or failure.locked_until is None:
            return None  # the failure that locks still hears only that it was wrong
        until = failure.locked_until  # locked meanwhile by a simultaneous attempt
    if until is not None:
        raise LoginLocked(_locked_message(until))
    lockout.clear(email)
    user.last_login_at = utcnow()
    if language in current_app.config["LANGUAGES"]:
        user.locale = language
    return user


def _locked_message(until) -> str:
    minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
    return ngettext(
        "Er is te vaak een verkeerd wachtwoord ingevuld voor dit e-mailadres. Probeer "
        "het over %(num)s minuut opnieuw, of stel een nieuw wachtwoord in via "
        "‘Wachtwoord vergeten?’.",
        "Er is te vaak een verkeerd wachtwoord ingevuld voor dit e-mailadres. Probeer "
        "het over %(num)s minuten opnieuw, of stel een nieuw wachtwoord in via "
        "‘Wachtwoord vergeten?’.",
        minutes,
    )


def _mail_lock_to_owner(user: User) -> None:
    link = current_app.config["PUBLIC_URL"] + url_for(
        "auth.reset_with_token", token=make_reset_token(user)
    )
    queue_mail(
        to=user,
        subject=_l("Inloggen op uw account is tijdelijk geblokkeerd"),
        template="auth/locked",
        context={
            "user": user,
            "link": link,
            "failures": current_app.config["LOGIN_FAILURE_LIMIT"],
            "minutes": current_app.config["LOGIN_LOCK_MINUTES"],
            "link_minutes": current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
        },
    )
    audit.record("user.login_locked", user)  # by whoever typed the passwords


def log_out(user: User) -> None:
    """End the account's sessions on the server, so that a copied session or remember-me
    cookie opens nothing afterwards (see User.end_sessions: logout means everywhere)."""
    user.end_sessions()
    audit.record("user.logged_out", user, actor=user)


# -- signed tokens -------------------------------------------------------------------------------
def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # A reset token carries part of the current hash, so it is void once the password changed.
    return (user.password_hash or "")[-16:]


def make_reset_token(user: User) -> str:
    return _serializer("password-reset").dumps([user.id, _password_fingerprint(user)])


def make_verify_token(user: User) -> str:
    return _serializer("email-verify").dumps([user.id, user.email])


def _load(salt: str, token: str, max_age: int):
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenInvalid(_l("Deze link is verlopen. Vraag hieronder een nieuwe aan.")) from exc
    except BadSignature as exc:
        raise TokenInvalid(
            _l("Deze link is ongeldig of al gebruikt. Vraag hieronder een nieuwe aan.")
        ) from exc


def user_for_reset_token(token: str) -> User:
    user_id, fingerprint = _load(
        "password-reset", token, current_app.config["PASSWORD_RESET_MAX_AGE"]
    )
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or _password_fingerprint(user) != fingerprint:
        raise TokenInvalid(
            _l("Deze link is ongeldig of al gebruikt. Vraag hieronder een nieuwe aan.")
        )
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link when the account exists; say nothing about whether it does."""
    user = User.by_email(email)
    if user is None or not user.is_active:
        return
    link = current_app.config["PUBLIC_URL"] + url_for(
        "auth.reset_with_token", token=make_reset_token(user)
    )
    queue_mail(
        to=user,
        subject=_l("Nieuw wachtwoord instellen"),
        template="auth/reset",
        context={
            "user": user,
            "link": link,
            "minutes": current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
        },
    )
    audit.record("user.password_reset_requested", user, actor=user)


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    change_password(user, new_password)
    user.mark_email_verified()  # the reset link proved they read this mailbox
    lockout.clear(user.email)  # and that they own the account: a lock on it ends
    return user


def change_password(user: User, new_password: str) -> None:
    problem = password_problem(new_password, user.email)
    if problem:
        raise DomainError(problem, field="password")
    user.set_password(new_password)  # rotates session_token: other sessions are logged out
    audit.record("user.password_changed", user)


def send_verification_mail(user: User) -> None:
    link = current_app.config["PUBLIC_URL"] + url_for(
        "auth.verify_email", token=make_verify_token(user)
    )
    queue_mail(
        to=user,
        subject=_l("Bevestig uw e-mailadres"),
        template="auth/verify",
        context={"user": user, "link": link},
    )


def verify_email(token: str) -> User:
    user_id, email = _load("email-verify", token, current_app.config["EMAIL_VERIFY_MAX_AGE"])
    user = db.session.get(User, user_id)
    if user is None or user.email != email:
        raise TokenInvalid(
            _l("Deze link is ongeldig of al gebruikt. Vraag hieronder een nieuwe aan.")
        )
    if not user.email_verified:
        user.mark_email_verified()
        audit.record("user.email_verified", user, actor=user)
        email_verified.send(user)
    return user


def create_admin(email: str, password: str, name: str = "Beheerder") -> User:
    user = User.by_email(email)
    if user is None:
        problem = password_problem(password, email)
        if problem:
            raise DomainError(problem)
        user = User(email=normalise_email(email), name=name)
        user.set_password(password)
        db.session.add(user)
    user.add_role(Role.ADMIN)
    user.mark_email_verified()
    db.session.flush()
    audit.record("user.made_admin", user)
    return user


def update_user_access(user: User, *, roles, organisation, active: bool, by) -> None:
    """Staff change someone's roles, organisation and whether they can log in."""
    wanted = {Role(r) for r in roles}
    if user.id == by.id and Role.ADMIN not in wanted:
        raise DomainError(_l("U kunt uw eigen beheerrechten niet intrekken."), field="roles")
    if user.id == by.id and not active:
        raise DomainError(_l("U kunt uw eigen account niet uitschakelen."), field="roles")
    if Role.CLIENT in wanted and organisation is None:
        raise DomainError(
            _l("Een opdrachtgever hoort bij een organisatie. Kies er een."), field="roles"
        )
    before = sorted(user.roles), user.organisation_id, user.is_active_account
    for role in set(Role) - wanted:
        user.remove_role(role)
    for role in wanted:
        user.add_role(role)
    user.organisation = organisation
    if user.is_active_account != active:
        user.is_active_account = active
        user.end_sessions()  # a deactivated account is logged out
    audit.record(
        "user.access_changed",
        user,
        actor=by,
        before=list(before),
        after=[sorted(r.value for r in wanted), getattr(organisation, "id", None), active],
    )
