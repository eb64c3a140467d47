"""Who changed what, when: every state change of the domain writes one entry here."""

from datetime import datetime
from typing import Any

from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .db_types import UTCDateTime, utcnow
from .extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def _current_actor_id() -> int | None:
    try:
        if current_user and current_user.is_authenticated:
            return current_user.id
    except (RuntimeError, AttributeError):  # outside a request (worker, CLI)
        return None
    return None


def record(action: str, obj: Any = None, *, actor: Any = None, **data: Any) -> AuditEntry:
    """Add an audit entry in the caller's transaction (flushed with it, never committed here)."""
    actor_id = actor.id if actor is not None else _current_actor_id()
    entry = AuditEntry(
        action=action,
        object_type=obj.__tablename__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        actor_id=actor_id,
        data={k: _jsonable(v) for k, v in data.items()},
    )
    db.session.add(entry)
    return entry


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
