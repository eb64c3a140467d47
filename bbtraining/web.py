"""What every thin view does after validating its form: one service call, one commit."""

from collections.abc import Callable

from flask import flash

from .errors import DomainError
from .extensions import db


def commit_or_flash(action: Callable[[], object], success: str | None = None) -> bool:
    """Run the service call and commit; a domain error is flashed and nothing is kept."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    db.session.commit()
    if success:
        flash(success, "success")
    return True
