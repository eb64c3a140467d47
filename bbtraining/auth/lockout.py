"""Failed logins per e-mail address: after LOGIN_FAILURE_LIMIT wrong passwords within
LOGIN_FAILURE_WINDOW_MINUTES the address is locked for LOGIN_LOCK_MINUTES.

The per-client-address rate limit (LOGIN_RATE_LIMIT) does not stop a guesser with many
addresses; this does, whatever address the attempts come from. The lock is short and never
extended by attempts made while it holds (they are not counted), so an attacker can keep an
account locked for at most LOGIN_LOCK_MINUTES per LOGIN_FAILURE_LIMIT attempts, and the owner
gets a mail with a reset link: a successful password reset lifts the lock at once.

Counting is one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so simultaneous failures from
several processes each get their own count and exactly one of them locks. Nothing commits here.
"""

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..db_types import utcnow
from ..extensions import db
from .models import LoginThrottle, normalise_email

# However often an address locks, its owner is mailed about it at most once in this period.
OWNER_MAIL_INTERVAL = timedelta(hours=24)


def throttle_key(email: str) -> str:
    """A keyed hash of the normalised address: equal for EVA@x.nl and eva@x.nl, unreadable."""
    secret = current_app.config["SECRET_KEY"].encode()
    message = b"login-throttle:" + normalise_email(email).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def locked_until(email: str) -> datetime | None:
    """When the lock on this address ends, or None when it is not locked."""
    until = db.session.scalar(
        select(LoginThrottle.locked_until).where(LoginThrottle.key == throttle_key(email))
    )
    return until if until is not None and until > utcnow() else None


class Failure(NamedTuple):
    """What a counted wrong password did to its address."""

    locked_until: datetime | None  # the address is locked until then (by this or an earlier one)
    locked_now: bool  # this failure reached the limit
    notify_owner: bool  # and the owner was not mailed about a lock within a day


def record_failure(email: str) -> Failure:
    """Count a wrong password for this address, and lock it when this one reaches the limit.

    A failure while the address is locked is not counted (the lock is never extended); it
    reports the lock, also to attempts that raced with the one that locked.
    """
    config = current_app.config
    now = utcnow()
    window_floor = now - timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    locked = LoginThrottle.locked_until.is_not(None) & (LoginThrottle.locked_until > now)
    stale = LoginThrottle.window_started_at < window_floor
    upsert = insert(LoginThrottle).values(
        key=throttle_key(email), failures=1, window_started_at=now
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "failures": case(
                (locked, LoginThrottle.failures), (stale, 1), else_=LoginThrottle.failures + 1
            ),
            "window_started_at": case(
                (locked, LoginThrottle.window_started_at),
                (stale, now),
                else_=LoginThrottle.window_started_at,
            ),
        },
    ).returning(LoginThrottle.failures, LoginThrottle.locked_until, LoginThrottle.owner_notified_at)
    failures, until, notified_at = db.session.execute(upsert).one()
    if until is not None and until > now:
        return Failure(until, False, False)
    if failures < config["LOGIN_FAILURE_LIMIT"]:
        return Failure(None, False, False)
    until = now + timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    notify = notified_at is None or notified_at < now - OWNER_MAIL_INTERVAL
    db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == throttle_key(email))
        # Counting starts afresh when the lock ends.
        .values(
            failures=0,
            window_started_at=until,
            locked_until=until,
            owner_notified_at=now if notify else LoginThrottle.owner_notified_at,
        )
    )
    return Failure(until, True, notify)


def clear(email: str) -> None:
    """Forget the failures and lift the lock (a successful login or password reset)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_key(email)))
