"""Named seats: a booker enrolling colleagues names each of them (now, or later from their
account until the training starts), and each named colleague is a participant of their own:
invite, reminders, attendance, evaluation, certificate and alumni qualification all hang on the
seat's participant key ("seat:<id>").

Renaming never moves capacity: the enrollment keeps its seats, only who sits in them changes.
Changes lock the enrollment row, and a partial unique index allows one active row per seat
position, so concurrent renames end with exactly `enrollment.seats` seats. Functions flush,
never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select

from ... import audit
from ...auth.models import User, normalise_email
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..sessions.invites import sync_edition_invites
from .models import (
    ACTIVE_ENROLLMENT_STATUSES,
    Enrollment,
    EnrollmentSeat,
    EnrollmentStatus,
    SeatStatus,
)
from .seats import lock_enrollment

# The same loose check the forms' e-mail fields make: something@domain.tld, no spaces.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class SeatHolder:
    name: str
    email: str


def seat_holder(name: str | None, email: str | None, *, field: str = "name") -> SeatHolder:
    """A colleague as typed by the booker, tidied; refuses a half or malformed entry."""
    name = " ".join((name or "").split())
    email = normalise_email(email or "")
    if not name or not email:
        raise DomainError(_l("Vul naam en e-mailadres van de deelnemer in."), field=field)
    if len(name) > 200 or len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise DomainError(
            _l("Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl."), field=field
        )
    return SeatHolder(name, email)


# -- the rule: until when names can be filled in or changed ---------------------------------------
def seat_changes_close_at(enrollment: Enrollment) -> datetime | None:
    """Names can be filled in and colleagues replaced until the first session starts."""
    return enrollment.edition.starts_at


def seat_changes_open(enrollment: Enrollment, now: datetime | None = None) -> bool:
    if enrollment.status not in ACTIVE_ENROLLMENT_STATUSES:
        return False
    closes = seat_changes_close_at(enrollment)
    return closes is None or (now or utcnow()) < closes


def check_seat_changes_open(enrollment: Enrollment, now: datetime | None = None) -> None:
    if enrollment.status not in ACTIVE_ENROLLMENT_STATUSES:
        raise DomainError(
            _l("Deze inschrijving is beëindigd: de deelnemers kunnen niet meer worden gewijzigd.")
        )
    if not seat_changes_open(enrollment, now):
        raise DomainError(
            _l("De training is begonnen: de deelnemers kunnen niet meer worden gewijzigd.")
        )


# -- who already takes part -----------------------------------------------------------------------
def _taken_emails(
    edition_id: int, *, except_seat_id: int | None = None, except_enrollment_id=None
) -> set[str]:
    """Addresses of everyone holding a seat in the edition: named seats, and bookers of
    enrollments without named seats (they hold their one seat themselves)."""
    seat_query = (
        select(EnrollmentSeat.email)
        .join(Enrollment, Enrollment.id == EnrollmentSeat.enrollment_id)
        .where(
            Enrollment.edition_id == edition_id,
            Enrollment.status.in_(ACTIVE_ENROLLMENT_STATUSES),
            EnrollmentSeat.status == SeatStatus.ACTIVE,
            EnrollmentSeat.email.is_not(None),
        )
    )
    booker_query = (
        select(User.email)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(
            Enrollment.edition_id == edition_id,
            Enrollment.status.in_(ACTIVE_ENROLLMENT_STATUSES),
            ~exists().where(EnrollmentSeat.enrollment_id == Enrollment.id),
        )
    )
    if except_seat_id is not None:
        seat_query = seat_query.where(EnrollmentSeat.id != except_seat_id)
    if except_enrollment_id is not None:  # a group being created: its seats have no rows yet
        seat_query = seat_query.where(Enrollment.id != except_enrollment_id)
        booker_query = booker_query.where(Enrollment.id != except_enrollment_id)
    return set(db.session.scalars(seat_query)) | set(db.session.scalars(booker_query))


def check_free(
    edition_id: int, holders: list[SeatHolder], *, except_seat_id=None, except_enrollment_id=None
) -> None:
    seen: set[str] = set()
    for holder in holders:
        if holder.email in seen:
            raise DomainError(
                _l("%(email)s staat twee keer op de lijst.", email=holder.email), field="group_size"
            )
        seen.add(holder.email)
    taken = _taken_emails(
        edition_id, except_seat_id=except_seat_id, except_enrollment_id=except_enrollment_id
    )
    for holder in holders:
        if holder.email in taken:
            raise DomainError(
                _l("%(email)s neemt al deel aan deze editie.", email=holder.email),
                field="group_size",
            )


def _account_id(enrollment: Enrollment, holder: SeatHolder) -> int | None:
    # Only the booker's own account is linked by us: anyone else's account is found at marking
    # time by a verified address (`attendance.sheet.account_of`), so a typo cannot hand a
    # stranger's account someone else's certificate.
    return enrollment.user_id if holder.email == enrollment.user.email else None


# -- creating and changing ------------------------------------------------------------------------
def create_seats(enrollment: Enrollment, holders: list[SeatHolder], *, by=None) -> None:
    """Give a fresh group enrollment a row per seat; the first ones named, the rest open."""
    if len(holders) > enrollment.seats:
        raise DomainError(
            _l("Vul niet meer namen in dan het aantal plaatsen (%(num)s).", num=enrollment.seats),
            field="group_size",
        )
    check_free(enrollment.edition_id, holders, except_enrollment_id=enrollment.id)
    for position in range(1, enrollment.seats + 1):
        holder = holders[position - 1] if position <= len(holders) else None
        enrollment.seat_rows.append(
            EnrollmentSeat(
                position=position,
                name=holder.name if holder else None,
                email=holder.email if holder else None,
                user_id=_account_id(enrollment, holder) if holder else None,
            )
        )
    db.session.flush()
    audit.record(
        "enrollment.seats_created",
        enrollment,
        actor=by,
        seats=enrollment.seats,
        named=[h.email for h in holders],
    )


def active_seat(enrollment_id: int, position: int) -> EnrollmentSeat | None:
    return db.session.scalar(
        select(EnrollmentSeat)
        .where(
            EnrollmentSeat.enrollment_id == enrollment_id,
            EnrollmentSeat.position == position,
            EnrollmentSeat.status == SeatStatus.ACTIVE,
        )
        .execution_options(populate_existing=True)
    )


def name_seat(enrollment: Enrollment, position: int, holder: SeatHolder, *, by) -> EnrollmentSeat:
    """Fill in an open seat, or put someone else in a named one (their invite is cancelled and
    the new colleague's sent)."""
    enrollment = lock_enrollment(enrollment.id)
    check_seat_changes_open(enrollment)
    current = active_seat(enrollment.id, position)
    if current is None:
        raise DomainError(_l("Deze plaats hoort niet bij uw inschrijving."))
    if current.email == holder.email:  # a corrected spelling of the same person
        current.name = holder.name
        audit.record("enrollment.seat_renamed", enrollment, actor=by, position=position)
        return current
    check_free(enrollment.edition_id, [holder], except_seat_id=current.id)
    previous = current.email
    if current.is_named:
        current.end(SeatStatus.REPLACED)
        db.session.flush()  # the position is free in the unique index before the new row
        seat = EnrollmentSeat(enrollment_id=enrollment.id, position=position)
        db.session.add(seat)
    else:
        seat = current
    seat.name, seat.email = holder.name, holder.email
    seat.user_id = _account_id(enrollment, holder)
    db.session.flush()
    db.session.expire(enrollment, ["seat_rows"])
    audit.record(
        "enrollment.seat_replaced" if previous else "enrollment.seat_named",
        enrollment,
        actor=by,
        position=position,
        previous=previous,
        email=holder.email,
    )
    if enrollment.status == EnrollmentStatus.CONFIRMED:
        sync_edition_invites(enrollment.edition)
    return seat


def seat_names(enrollment: Enrollment) -> list[str]:
    return [seat.name for seat in enrollment.active_seats if seat.is_named]
