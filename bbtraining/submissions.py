"""A creating form is done once, however often it is sent (a double click, a reload, a retry).

Every creating form inherits `OnceForm`: its page carries a hidden `submission_key`, new at
every render. `web.commit_or_flash` claims the key in the table `form_submission`, in the same
transaction as what the form creates; once the view has answered, the answer (the page it
redirected to, and who is signed in by then) is written on the row. A copy of the form that
arrives later finds the row; a copy that arrives at the same moment waits on the row's primary
key until the first transaction ends (PostgreSQL) or on the write lock (SQLite), and then finds
it. Either way the copy changes nothing and gets the first answer: a redirect to the same page,
with a Dutch note that the form was already sent. When the form made an account and signed it
in (registration, an enrollment or inhouse request without an account), a copy sent within
SIGN_IN_SECONDS is signed in too: the browser may have dropped the first answer's cookie, and
only this browser holds the key (see below); later copies, such as the back button on a shared
computer after signing out, are not.
A form page from before this mechanism, or a client that sends no key, is served as before.

The key a form carries is stored bound to the browser: the row's key is a hash of the form's
key and the session's CSRF secret. Pages served from the page cache (`page_cache.FrontDoor`)
carry one rendering for many visitors; today none of them has a creating form, but should one
ever get one, every visitor still claims a key of their own (the CSRF secret is theirs), and a
key copied from someone else's page never replays their answer nor signs anyone in.

Rows are one short line (about 200 bytes) per object created through a form, far fewer than the
audit entries the same forms write, so they are kept: a form sent again days later (the back
button) still gets its first answer. They go with their account (ON DELETE CASCADE). Should they
ever matter, deleting rows older than a day from a periodic task is safe: a copy sent after that
is judged as a new submission by the form's own rules.
"""

import hashlib
import secrets
import time
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, request, session
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import HTTPException
from wtforms import HiddenField

from .db_types import UTCDateTime, utcnow
from .extensions import db
from .i18n import lazy_gettext as _l

KEY_FIELD = "submission_key"
# How long a copy waits for the first copy's answer to be written after its commit.
ANSWER_WAIT_SECONDS = 10.0
# How long after the first copy a copy is still signed in as the account the form created: a
# double click or an impatient retry, not the back button on a shared computer after signing out.
SIGN_IN_SECONDS = 60
ALREADY_SENT = _l("Dit formulier was al verstuurd. We hebben het één keer verwerkt.")


class FormSubmission(db.Model):
    """One creating form that was processed, and what it answered."""

    __tablename__ = "form_submission"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(120))
    # The account the form signed in (registration, an enrollment or request that makes an
    # account), for its copies; None when the sender was signed in already.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    result_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _new_key() -> str:
    return secrets.token_urlsafe(24)


class OnceForm(FlaskForm):
    """Base of every form that creates something: sending it twice creates it once."""

    submission_key = HiddenField(default=_new_key)

    def validate(self, extra_validators=None) -> bool:
        # Before the form's own checks: a copy of a processed form would fail them ("this
        # e-mail address has an account") where it should get the first answer.
        replay_if_done(self)
        return super().validate(extra_validators)


def key_of(form) -> str | None:
    """The stored key of `form`'s submission: its sent key bound to this browser's session."""
    field = getattr(form, KEY_FIELD, None) if form is not None else None
    raw = getattr(field, "raw_data", None)  # what was sent, not the default of a new render
    sent = raw[0] if raw else None
    if not isinstance(sent, str) or not 16 <= len(sent) <= 100 or request.method != "POST":
        return None
    secret = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), "")
    return hashlib.sha256(f"{secret}\x00{sent}".encode()).hexdigest()


def claim(key: str) -> None:
    """Record the submission in the current transaction; a duplicate key fails at this flush."""
    db.session.add(FormSubmission(key=key, endpoint=(request.endpoint or "")[:120]))
    db.session.flush()


def sender_signed_in() -> bool:
    return current_user.is_authenticated


def record_answer(key: str, location: str | None, *, sender_was_signed_in: bool) -> None:
    """Write what the first copy answered on its row (after its commit)."""
    row = db.session.get(FormSubmission, key)
    if row is None:
        return
    row.result_url = (location or request.full_path.rstrip("?"))[:2000]
    if not sender_was_signed_in and current_user.is_authenticated:
        row.user_id = current_user.id  # the form made an account and signed it in
    db.session.flush()


def replay_if_done(form) -> None:
    """Answer as the first copy did when this form was processed already (raises Replay)."""
    key = key_of(form)
    if key is not None and db.session.get(FormSubmission, key) is not None:
        replay(key)


def replay(key: str) -> None:
    """Wait for the first copy's answer and raise it: the same redirect, signed in as it left."""
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    row = None
    while True:
        row = db.session.get(FormSubmission, key, populate_existing=True)
        if row is None or row.result_url or time.monotonic() > deadline:
            break
        # End this read so the first copy can write its answer (SQLite has one writer).
        db.session.rollback()
        time.sleep(0.05)
    location = row.result_url if row is not None and row.result_url else request.full_path
    if (
        row is not None
        and row.user_id is not None
        and not current_user.is_authenticated
        and utcnow() - row.created_at < timedelta(seconds=SIGN_IN_SECONDS)
    ):
        from .auth.models import User  # accounts sit above this module

        user = db.session.get(User, row.user_id)
        if user is not None and user.is_active:
            login_user(user)
    db.session.rollback()
    flash(str(ALREADY_SENT), "info")
    raise Replay(location.rstrip("?"))


class Replay(HTTPException):
    """The answer to a copy of a processed form: a redirect to the first copy's page."""

    code = 303

    def __init__(self, location: str):
        super().__init__()
        self.location = location

    def get_response(self, environ=None, scope=None):
        return redirect(self.location, 303)
