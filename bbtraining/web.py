"""The one commit point of a request.

A view validates its form, calls one service (which flushes, never commits) and ends here:
`commit_or_flash` commits, or rolls back and tells the user why in Dutch, on the form field the
rule names or as a flash message. Races end here too: a row someone else changed at the same
moment (StaleDataError) or a unique key taken by a simultaneous request (IntegrityError) roll
back with a message instead of a 500. Views that answer a machine (the Stripe webhook, JSON)
call `commit()`. Nothing else in request code calls `db.session.commit()`; tasks and CLI
commands commit for themselves.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import after_this_request, flash, g, redirect, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from . import submissions
from .errors import DomainError
from .extensions import db
from .i18n import lazy_gettext as _l

CHANGED_MEANWHILE = _l("Iemand anders wijzigde dit tegelijk met u. Bekijk de nieuwe stand.")
TAKEN_MEANWHILE = _l(
    "Dit is tegelijk met uw verzoek al vastgelegd. Bekijk de nieuwe stand voordat u het "
    "opnieuw probeert."
)


@dataclass(frozen=True)
class Outcome:
    """What `commit_or_flash` did: truthy when committed; `value` is what the service returned."""

    ok: bool
    value: Any = None
    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.ok


def answers_too_large(answer: Callable[[], Any]):
    """Let a view answer a request over MAX_CONTENT_LENGTH itself (its page, the refusal on the
    file field) instead of the general 413 page; `answer` may return None to leave it to that."""

    def decorate(view):
        view.answer_too_large = answer
        return view

    return decorate


SAVED_THEN_INTERRUPTED = _l(
    "Uw wijziging is opgeslagen. Daarna ging er iets mis bij het tonen van de volgende pagina; "
    "u hoeft het niet opnieuw te doen."
)


def commit() -> None:
    """Commit the request's work (the only commit in request code).

    Records that it happened: if anything fails after this (the database connection drops
    while the next page is prepared), the change is kept, and the answer must say so
    (`saved_answer`) rather than claim that nothing was saved."""
    db.session.commit()
    g.committed = True


def saved_answer():
    """The answer for a request that failed after its change was committed: the success
    message and a redirect to the person's overview (the home page when not signed in), or
    None when nothing was committed."""
    if not g.get("committed"):
        return None
    try:
        db.session.rollback()  # the connection may be gone; the next query takes a new one
    except SQLAlchemyError:
        db.session.close()
    try:
        signed_in = current_user.is_authenticated
    except SQLAlchemyError:
        signed_in = False
    flash(str(SAVED_THEN_INTERRUPTED), "success")
    return redirect(url_for("account.dashboard" if signed_in else "courses.home"), 303)


def attach_error(form, exc: DomainError) -> bool:
    """Put a domain error on the form field it names; False when it names no field of `form`."""
    field = getattr(form, exc.field, None) if exc.field and form is not None else None
    if field is None or not hasattr(field, "errors"):
        return False
    field.errors = [*field.errors, str(exc)]
    return True


def commit_or_flash(
    action: Callable[[], Any],
    success: str | None = None,
    *,
    form=None,
    stale_message=CHANGED_MEANWHILE,
    taken_message=TAKEN_MEANWHILE,
) -> Outcome:
    """Run the service call and commit; on a refusal or a race nothing is kept.

    A DomainError that names a field of `form` is shown on that field, any other refusal is
    flashed. Returns an `Outcome`, truthy when the change was committed.

    A form with a submission key (`submissions.OnceForm`) is done once: a copy of a form that
    was processed, or is being processed at this moment, raises `submissions.Replay`, the first
    copy's answer.
    """
    key = submissions.key_of(form)
    signed_in = key is not None and submissions.sender_signed_in()
    if key is not None:
        try:
            submissions.claim(key)
        except IntegrityError:  # a copy of this form got there first: wait for it, answer as it
            db.session.rollback()
            submissions.replay(key)
    try:
        value = action()
        commit()
    except DomainError as exc:
        db.session.rollback()
        if not attach_error(form, exc):
            flash(str(exc), "error")
        return Outcome(False, error=exc)
    except StaleDataError:
        db.session.rollback()
        flash(str(stale_message), "error")
        return Outcome(False, error=DomainError(stale_message))
    except IntegrityError:
        db.session.rollback()
        flash(str(taken_message), "error")
        return Outcome(False, error=DomainError(taken_message))
    if success:
        flash(str(success), "success")
    if key is not None:
        after_this_request(_answer_recorder(key, signed_in))
    return Outcome(True, value=value)


def _answer_recorder(key: str, sender_was_signed_in: bool) -> Callable:
    """After the view answered a processed form: keep the answer for the copies of the form."""

    def record(response):
        try:
            submissions.record_answer(
                key,
                response.location if response.status_code in (301, 302, 303, 307, 308) else None,
                sender_was_signed_in=sender_was_signed_in,
            )
            commit()
        except SQLAlchemyError:  # the copies then get the form's page with a note
            db.session.rollback()
        return response

    return record
