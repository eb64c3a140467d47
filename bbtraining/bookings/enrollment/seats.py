"""Seats: `Edition.seats_taken` counts held and confirmed enrollments plus seats reserved by open
waiting-list offers. It only moves through `take_seats` (a conditional UPDATE that succeeds
only while `seats_taken + n <= capacity`) and `release_seats`, in the same transaction as the
row that explains the move, so a rollback undoes both. The CHECK constraint on `edition` is the
backstop: no code path can commit an overbooked edition. The row locks an enrollment or a
waiting-list entry takes before it changes state live here too.
"""

from __future__ import annotations

from sqlalchemy import select, update

from ...courses.models import Edition
from ...extensions import db
from .models import (
    Enrollment,
    WaitlistEntry,
)
from .policy import log


# -- seats ----------------------------------------------------------------------------------------
def take_seats(edition: Edition, seats: int) -> bool:
    """Take `seats` if they are free, atomically; False when the edition cannot hold them.

    On PostgreSQL a concurrent UPDATE of the same row waits for the other transaction and then
    re-checks the WHERE clause on the committed row; SQLite serialises writers. Either way two
    requests can never both take the last seat.
    """
    result = db.session.execute(
        update(Edition)
        .where(Edition.id == edition.id, Edition.seats_taken + seats <= Edition.capacity)
        .values(seats_taken=Edition.seats_taken + seats)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(edition, ["seats_taken"])
    return result.rowcount == 1


def release_seats(edition: Edition, seats: int) -> None:
    result = db.session.execute(
        update(Edition)
        .where(Edition.id == edition.id, Edition.seats_taken >= seats)
        .values(seats_taken=Edition.seats_taken - seats)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # a counter out of step is a bug; never let it go negative
        log.error("edition %s: releasing %s seats found fewer taken", edition.id, seats)
    db.session.expire(edition, ["seats_taken"])


def seats_free(edition: Edition) -> int:
    taken, capacity = db.session.execute(
        select(Edition.seats_taken, Edition.capacity).where(Edition.id == edition.id)
    ).one()
    return max(capacity - taken, 0)


def lock_enrollment(enrollment_id: int) -> Enrollment | None:
    """Load an enrollment and keep others from changing it until this transaction ends.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks, but its single writer lock does
    the same once we hold it, so a no-op UPDATE takes it before we read.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .values(status=Enrollment.status)
            .execution_options(synchronize_session=False)
        )
        return db.session.get(Enrollment, enrollment_id, populate_existing=True)
    return db.session.scalar(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .with_for_update(of=Enrollment)
        .execution_options(populate_existing=True)
    )


def lock_waitlist_entry(entry_id: int) -> WaitlistEntry | None:
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id)
            .values(status=WaitlistEntry.status)
            .execution_options(synchronize_session=False)
        )
        return db.session.get(WaitlistEntry, entry_id, populate_existing=True)
    return db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id)
        .with_for_update(of=WaitlistEntry)
        .execution_options(populate_existing=True)
    )
