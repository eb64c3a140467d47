"""Coarse role checks for views, and the 404-not-403 rule for other organisations' objects."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .extensions import db

MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds (PostgreSQL raises beyond it)


def roles_required(*roles: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


admin_required = roles_required("admin")


def get_or_404(model, object_id, options=()):
    """`options`: loader options for when the object is not loaded yet (what a view needs)."""
    # Ids also come from query strings (`?shortlist=`); a huge one would make the database raise.
    if not isinstance(object_id, int) or not 0 < object_id <= MAX_ID:
        abort(404)
    obj = db.session.get(model, object_id, options=options)
    if obj is None:
        abort(404)
    return obj


def get_visible_or_404(model, object_id, user=None):
    """Load an object the user may see; anything else is a 404, so ids reveal nothing."""
    obj = get_or_404(model, object_id)
    if not obj.can_view(user or current_user):
        abort(404)
    return obj
