"""The waiting list: joining, the queue, offers of freed seats (signed links), accepting,
declining, leaving and expiry. Every freed seat goes to the waiting list first
(`offer_next_seats`): a waiting person's offer reserves the seat, so a newcomer cannot take it
from under them. Functions flush, never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from ... import audit
from ...auth.models import User
from ...courses.models import Edition, EditionStatus
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...notifications.services import queue_mail
from ...urls import public_url
from .enrolling import (
    check_enrollment_open,
    check_not_enrolled,
    check_payment_method,
    checked_billing,
    insert_enrollment,
    new_enrollment,
    start_enrollment,
)
from .models import (
    Enrollment,
    WaitlistEntry,
    WaitlistStatus,
)
from .named_seats import create_seats
from .policy import AlreadyEnrolled, Billing, EnrollmentClosed, max_group_seats, offer_hours
from .queries import active_enrollment, active_waitlist_entry
from .seats import lock_waitlist_entry, release_seats, seats_free, take_seats


def _queue_order():
    return (WaitlistEntry.created_at, WaitlistEntry.id)


def waitlist_queue(edition: Edition) -> list[WaitlistEntry]:
    """Who waits for a seat in this edition, first in line first.

    Entries for this edition, and entries for another edition of the same course whose owner
    also takes a seat elsewhere (`any_edition`).
    """
    return list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.status == WaitlistStatus.WAITING,
                or_(
                    WaitlistEntry.edition_id == edition.id,
                    and_(
                        WaitlistEntry.any_edition.is_(True),
                        WaitlistEntry.course_id == edition.course_id,
                    ),
                ),
            )
            .order_by(*_queue_order())
        )
    )


def edition_waitlist(edition: Edition) -> list[WaitlistEntry]:
    """Every entry that names this edition or holds an offer for it (admin view)."""
    return list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                or_(
                    WaitlistEntry.edition_id == edition.id,
                    WaitlistEntry.offered_edition_id == edition.id,
                )
            )
            .order_by(*_queue_order())
        )
    )


def waitlist_position(entry: WaitlistEntry) -> int | None:
    """1 for the first in line for the entry's own edition; None when not waiting."""
    return waitlist_positions([entry]).get(entry.id)


def waitlist_positions(entries: list[WaitlistEntry]) -> dict[int, int | None]:
    """`waitlist_position` of each entry, by entry id, in one query."""
    waiting = [e for e in entries if e.status == WaitlistStatus.WAITING]
    positions: dict[int, int | None] = {e.id: None for e in entries}
    if not waiting:
        return positions
    # Each line's order as the queue takes it: first come, then the lower id.
    line = (
        select(
            WaitlistEntry.id.label("id"),
            func.row_number()
            .over(
                partition_by=WaitlistEntry.edition_id,
                order_by=(WaitlistEntry.created_at, WaitlistEntry.id),
            )
            .label("position"),
        )
        .where(
            WaitlistEntry.edition_id.in_({e.edition_id for e in waiting}),
            WaitlistEntry.status == WaitlistStatus.WAITING,
        )
        .subquery()
    )
    rows = db.session.execute(
        select(line.c.id, line.c.position).where(line.c.id.in_([e.id for e in waiting]))
    )
    positions.update({entry_id: int(position) for entry_id, position in rows})
    return positions


# -- waiting list ---------------------------------------------------------------------------------
def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def offer_token(entry: WaitlistEntry) -> str:
    return _serializer("waitlist-offer").dumps([entry.id, entry.offer_round])


def leave_token(entry: WaitlistEntry) -> str:
    return _serializer("waitlist-leave").dumps(entry.id)


class OfferLinkInvalid(DomainError):
    pass


def entry_for_offer_token(token: str) -> WaitlistEntry:
    try:
        entry_id, offer_round = _serializer("waitlist-offer").loads(
            token, max_age=offer_hours() * 3600 + 3600
        )
    except SignatureExpired as exc:
        raise OfferLinkInvalid(_l("Dit aanbod is verlopen.")) from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise OfferLinkInvalid(_l("Deze link is ongeldig.")) from exc
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise OfferLinkInvalid(_l("Deze link is ongeldig."))
    if entry.offer_round != offer_round:
        raise OfferLinkInvalid(
            _l("Deze link hoort bij een eerder aanbod. Gebruik de link uit uw laatste e-mail.")
        )
    return entry


def entry_for_leave_token(token: str) -> WaitlistEntry:
    try:
        entry_id = _serializer("waitlist-leave").loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise OfferLinkInvalid(_l("Deze link is ongeldig.")) from exc
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise OfferLinkInvalid(_l("Deze link is ongeldig."))
    return entry


def join_waitlist(
    edition: Edition,
    user: User,
    *,
    seats: int = 1,
    any_edition: bool = False,
    note: str | None = None,
) -> WaitlistEntry:
    if edition.status != EditionStatus.SCHEDULED or not edition.course.published:
        raise EnrollmentClosed(_l("Voor deze editie is geen wachtlijst (meer)."))
    check_enrollment_open(edition)
    if seats < 1 or seats > min(max_group_seats(), edition.capacity):
        raise DomainError(
            _l(
                "Kies tussen 1 en %(n)s plaatsen.",
                n=min(max_group_seats(), edition.capacity),
            ),
            field="seats",
        )
    check_not_enrolled(edition, user)
    if active_waitlist_entry(edition, user) is not None:
        raise AlreadyEnrolled(_l("U staat al op de wachtlijst voor deze editie."))
    if seats == 1 and seats_free(edition) > 0:
        raise DomainError(_l("Er is nog een plaats vrij: u kunt zich direct inschrijven."))
    entry = WaitlistEntry(
        user_id=user.id,
        user=user,
        edition_id=edition.id,
        edition=edition,
        course_id=edition.course_id,
        seats=seats,
        any_edition=any_edition,
        note=(note or "").strip() or None,
    )
    # As in insert_enrollment: the refusal is made before a flush that may spoil the session.
    refusal = AlreadyEnrolled(_l("U staat al op de wachtlijst voor deze editie."))
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise refusal from exc
    audit.record(
        "waitlist.joined", entry, actor=user, edition=edition.id, seats=seats, any=any_edition
    )
    mail_waitlist_entry(
        entry,
        "enroll_waitlist_joined",
        _l("U staat op de wachtlijst: %(course)s", course=edition.course.title),
        position=waitlist_position(entry),
    )
    # A group that fits in what is free now gets its offer at once, here or elsewhere.
    offer_next_seats(edition)
    if any_edition:
        for other in edition.course.editions:
            if other.id != edition.id and entry.status == WaitlistStatus.WAITING:
                offer_next_seats(other)
    return entry


def _offerable(edition: Edition, now: datetime) -> bool:
    if edition.status != EditionStatus.SCHEDULED or not edition.course.published:
        return False
    start = edition.starts_at
    return start is None or now < start


def offer_next_seats(edition: Edition, now: datetime | None = None) -> list[WaitlistEntry]:
    """Offer free seats of `edition` to the waiting list, first in line first.

    An entry gets an offer when its seats fit in what is free; a group that does not fit yet
    keeps its place while smaller entries behind it are served. Each offer reserves its seats.
    """
    now = now or utcnow()
    offered: list[WaitlistEntry] = []
    if not _offerable(edition, now):
        return offered
    skipped: set[int] = set()
    for _round in range(100):  # bounded: every pass offers or stops
        free = seats_free(edition)
        if free <= 0:
            break
        candidate = next(
            (
                entry
                for entry in waitlist_queue(edition)
                if entry.id not in skipped and entry.seats <= free
            ),
            None,
        )
        if candidate is None:
            break
        if active_enrollment(edition, candidate.user) is not None:
            skipped.add(candidate.id)
            continue
        entry = lock_waitlist_entry(candidate.id)
        if entry is None or entry.status != WaitlistStatus.WAITING:
            skipped.add(candidate.id)
            continue
        if not take_seats(edition, entry.seats):
            skipped.add(candidate.id)
            continue
        expires = now + timedelta(hours=offer_hours())
        start = edition.starts_at
        if start is not None and start < expires:
            expires = start
        entry.offer(edition, expires)
        _mail_offer(entry)
        offered.append(entry)
    return offered


def offer_free_seats_everywhere(now: datetime | None = None) -> int:
    """Safety net for the beat task: any scheduled edition with free seats and someone waiting
    gets its offers, even if the event that freed the seat was missed."""
    now = now or utcnow()
    waiting_courses = select(WaitlistEntry.course_id).where(
        WaitlistEntry.status == WaitlistStatus.WAITING
    )
    editions = db.session.scalars(
        select(Edition).where(
            Edition.status == EditionStatus.SCHEDULED,
            Edition.seats_taken < Edition.capacity,
            Edition.course_id.in_(waiting_courses),
        )
    ).all()
    return sum(len(offer_next_seats(edition, now)) for edition in editions)


def _mail_offer(entry: WaitlistEntry) -> None:
    edition = entry.offered_edition
    queue_mail(
        to=entry.user,
        subject=_l("Er is een plaats voor u: %(course)s", course=edition.course.title),
        template="bookings/enroll_waitlist_offer",
        context={
            "entry": entry,
            "edition": edition,
            "course": edition.course,
            "other_edition": edition.id != entry.edition_id,
            "offer_url": public_url("bookings.waitlist_offer", token=offer_token(entry)),
            "leave_url": public_url("bookings.waitlist_leave", token=leave_token(entry)),
        },
        dedupe_key=f"waitlist-offer:{entry.id}:{entry.offer_round}",
    )


def _release_offer(entry: WaitlistEntry) -> Edition:
    edition = entry.offered_edition
    release_seats(edition, entry.seats)
    return edition


def accept_offer(
    entry: WaitlistEntry, user: User, billing: Billing, pay_by: str, now: datetime | None = None
) -> Enrollment:
    """Turn an offer into an enrollment for the offered edition; the seats it reserved move over."""
    now = now or utcnow()
    entry = lock_waitlist_entry(entry.id)
    if entry.user_id != user.id:
        raise DomainError(_l("Dit aanbod is voor iemand anders."))
    if entry.status != WaitlistStatus.OFFERED:
        raise DomainError(_l("Dit aanbod is niet meer geldig."))
    if entry.offer_expires_at <= now:
        raise DomainError(_l("Dit aanbod is verlopen."))
    edition = entry.offered_edition
    if not _offerable(edition, now):
        raise EnrollmentClosed(_l("Inschrijven voor deze editie is niet (meer) mogelijk."))
    check_not_enrolled(edition, user)
    enrollment = new_enrollment(edition, user, checked_billing(billing), pay_by, seats=entry.seats)
    check_payment_method(pay_by, enrollment.total)
    enrollment.waitlist_entry_id = entry.id
    insert_enrollment(enrollment)
    if entry.seats > 1:  # a group: the booker names the colleagues from their account
        create_seats(enrollment, [], by=user)
    audit.record(
        "enrollment.created",
        enrollment,
        actor=user,
        edition=edition.id,
        seats=entry.seats,
        pay_by=pay_by,
        waitlist_entry=entry.id,
        unit_price=str(enrollment.unit_price),
    )
    entry.end(WaitlistStatus.ACCEPTED, by=user, enrollment=enrollment.id)
    start_enrollment(enrollment, by=user)
    return enrollment


def decline_offer(entry: WaitlistEntry, *, by: User | None = None) -> None:
    entry = lock_waitlist_entry(entry.id)
    if entry.status != WaitlistStatus.OFFERED:
        raise DomainError(_l("Dit aanbod is niet meer geldig."))
    edition = _release_offer(entry)
    entry.end(WaitlistStatus.DECLINED, by=by)
    offer_next_seats(edition)


def leave_waitlist(entry: WaitlistEntry, *, by: User | None = None) -> None:
    entry = lock_waitlist_entry(entry.id)
    if not entry.is_active:
        raise DomainError(_l("U staat niet meer op deze wachtlijst."))
    edition = _release_offer(entry) if entry.status == WaitlistStatus.OFFERED else None
    entry.end(WaitlistStatus.LEFT, by=by)
    if edition is not None:
        offer_next_seats(edition)


def expire_offer(entry: WaitlistEntry, now: datetime | None = None) -> bool:
    now = now or utcnow()
    entry = lock_waitlist_entry(entry.id)
    if entry is None or entry.status != WaitlistStatus.OFFERED or entry.offer_expires_at > now:
        return False
    edition = _release_offer(entry)
    entry.end(WaitlistStatus.LAPSED)
    mail_waitlist_entry(
        entry,
        "enroll_waitlist_offer_expired",
        _l("Aanbod verlopen: %(course)s", course=edition.course.title),
        offered_edition=edition,
    )
    offer_next_seats(edition, now)
    return True


def lapsed_offer_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    return list(
        db.session.scalars(
            select(WaitlistEntry.id)
            .where(
                WaitlistEntry.status == WaitlistStatus.OFFERED,
                WaitlistEntry.offer_expires_at <= (now or utcnow()),
            )
            .order_by(WaitlistEntry.offer_expires_at)
            .limit(limit)
        )
    )


def mail_waitlist_entry(entry: WaitlistEntry, template: str, subject, **context) -> None:
    queue_mail(
        to=entry.user,
        subject=subject,
        template=f"bookings/{template}",
        context={
            "entry": entry,
            "edition": entry.edition,
            "course": entry.edition.course,
            "leave_url": public_url("bookings.waitlist_leave", token=leave_token(entry)),
            "account_url": public_url("account.dashboard"),
            "enroll_url": public_url(
                "bookings.enroll",
                edition_id=context["offered_edition"].id
                if "offered_edition" in context
                else entry.edition_id,
            ),
            **context,
        },
    )
