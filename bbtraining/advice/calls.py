"""Booking, moving and cancelling a kennismakingsgesprek, and the signed link that manages one.

No slot is booked twice, however many people click at once:
- the advisor's row is locked before their diary is read (PostgreSQL: SELECT ... FOR UPDATE;
  SQLite: a no-op UPDATE, which takes the database's write lock), so two bookings of one advisor
  run one after the other and the second sees the first; this also keeps the daily maximum;
- the database itself refuses overlapping calls of one advisor (the exclusion constraint or the
  SQLite triggers in models.py); the insert runs in a SAVEPOINT, so a refusal becomes SlotTaken
  and the caller's session stays usable.

Services flush, never commit, and write the audit entry; mail is the caller's (mail.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import Organisation, User
from ..courses.models import Phase
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .advisors import active_advisors
from .availability import Plan, Refusal, at, local_day
from .models import (
    AMSTERDAM_TZ,
    BLOCKING_STATUSES,
    NO_OVERLAP,
    AdviceCall,
    AdvisorProfile,
    CallMode,
)

TOKEN_SALT = "advice-call-manage"  # noqa: S105 - a salt, not a secret


class SlotTaken(DomainError):
    """Someone else booked the time (or the advisor's day filled) while the visitor chose."""

    def __init__(self, message=None):
        super().__init__(message or _l("Dit tijdstip is net geboekt; kies een ander."))


class CallRefused(DomainError):
    """A rule refuses the booking, move or cancellation; the message says which."""


# -- rules that need no diary ----------------------------------------------------------------------
def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise CallRefused(_l("Kies een tijdstip uit de lijst."), field="starts_at")
    return moment.astimezone(UTC)


def _check_request(mode: str, phone: str | None, phase: str, time_zone: str) -> str | None:
    if mode not in {m.value for m in CallMode}:
        raise CallRefused(_l("Kies een online gesprek of een telefoongesprek."), field="mode")
    phone = (phone or "").strip() or None
    if mode == CallMode.PHONE and phone is None:
        raise CallRefused(
            _l("Vul het telefoonnummer in waarop de adviseur u kan bellen."), field="phone"
        )
    if phase not in {p.value for p in Phase}:
        raise CallRefused(_l("Kies de fase waarin uw burgerberaad is."), field="phase")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CallRefused(_l("Deze tijdzone kennen we niet."), field="time_zone") from None
    return phone


def _refused(refusal: Refusal, advisor: AdvisorProfile) -> DomainError:
    if refusal in (Refusal.TAKEN, Refusal.DAY_FULL):
        return SlotTaken()
    if refusal == Refusal.NOTICE:
        hours = advisor.min_notice_hours
        return CallRefused(
            ngettext(
                "Een gesprek plant u minstens %(num)s uur van tevoren; kies een later tijdstip.",
                "Een gesprek plant u minstens %(num)s uur van tevoren; kies een later tijdstip.",
                hours,
            ),
            field="starts_at",
        )
    if refusal == Refusal.HORIZON:
        return CallRefused(
            ngettext(
                "U kunt een gesprek tot %(num)s dag vooruit plannen; kies een eerder tijdstip.",
                "U kunt een gesprek tot %(num)s dagen vooruit plannen; kies een eerder tijdstip.",
                advisor.horizon_days,
            ),
            field="starts_at",
        )
    if refusal == Refusal.INACTIVE:
        return CallRefused(_l("Deze adviseur plant op dit moment geen gesprekken in."))
    return CallRefused(
        _l("Op dit tijdstip zijn er geen gesprekken; kies een tijdstip uit de lijst."),
        field="starts_at",
    )


# -- locking ---------------------------------------------------------------------------------------
def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _lock(advisor: AdvisorProfile) -> None:
    """Serialise bookings of this advisor until the transaction ends (see the module's doc)."""
    if _on_postgresql():
        db.session.execute(
            select(AdvisorProfile.id).where(AdvisorProfile.id == advisor.id).with_for_update()
        )
    else:
        db.session.execute(
            update(AdvisorProfile)
            .where(AdvisorProfile.id == advisor.id)
            .values(id=AdvisorProfile.id)
            .execution_options(synchronize_session=False)
        )


def _in_diary(
    advisor: AdvisorProfile,
    starts_at: datetime,
    now: datetime,
    write: Callable[[tuple[datetime, datetime, datetime, datetime]], AdviceCall],
    *,
    ignore_call_id: int | None = None,
) -> AdviceCall:
    """Lock the advisor, check `starts_at` against their diary, and `write` the call with its
    (start, end, blocked from, blocked until), inside a savepoint: a refusal rolls the savepoint
    back (on PostgreSQL with the row lock, so a round robin can try the next advisor).

    On SQLite the lock comes first: its UPDATE opens the write transaction that SQLite's
    SAVEPOINT needs to nest in (pysqlite begins transactions only before DML)."""
    postgresql = _on_postgresql()
    if not postgresql:
        _lock(advisor)
    savepoint = db.session.begin_nested()
    try:
        if postgresql:
            _lock(advisor)
        day = local_day(starts_at)
        plan = Plan(advisor, day, day, now=now, ignore_call_id=ignore_call_id)
        refusal = plan.refusal(starts_at)
        if refusal is not None:
            raise _refused(refusal, advisor)
        call = write(plan.blocked(starts_at))
        db.session.flush()
    except IntegrityError as error:
        savepoint.rollback()
        if NO_OVERLAP in str(error.orig):
            raise SlotTaken() from None
        raise
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return call


# -- round robin -----------------------------------------------------------------------------------
def _week_of(day: date) -> tuple[datetime, datetime]:
    monday = day - timedelta(days=day.weekday())
    return at(monday, time(0)), at(monday + timedelta(days=7), time(0))


def _calls_in_week(advisors: list[AdvisorProfile], starts_at: datetime) -> dict[int, int]:
    week_start, week_end = _week_of(local_day(starts_at))
    rows = db.session.execute(
        select(AdviceCall.advisor_id, func.count())
        .where(
            AdviceCall.advisor_id.in_([a.id for a in advisors]),
            AdviceCall.status.in_(BLOCKING_STATUSES),
            AdviceCall.starts_at >= week_start,
            AdviceCall.starts_at < week_end,
        )
        .group_by(AdviceCall.advisor_id)
    )
    return dict(rows.all())


def candidates(starts_at: datetime, now: datetime) -> list[AdvisorProfile]:
    """The active advisors free at `starts_at`, fewest calls that ISO week first (then by name).

    Raises the refusal that applies when nobody is free."""
    advisors = active_advisors()
    if not advisors:
        raise CallRefused(_l("Er is op dit moment geen adviseur beschikbaar voor een gesprek."))
    day = local_day(starts_at)
    refusals = {a.id: Plan(a, day, day, now=now).refusal(starts_at) for a in advisors}
    free = [a for a in advisors if refusals[a.id] is None]
    if not free:
        taken = [a for a in advisors if refusals[a.id] in (Refusal.TAKEN, Refusal.DAY_FULL)]
        if taken:
            raise SlotTaken()
        raise _refused(refusals[advisors[0].id], advisors[0])
    counts = _calls_in_week(free, starts_at)
    return sorted(free, key=lambda a: counts.get(a.id, 0))  # stable: by name within a count


# -- the services ----------------------------------------------------------------------------------
def book_call(
    *,
    requester: User,
    organisation: Organisation,
    starts_at: datetime,
    mode: str,
    phone: str | None,
    phase: str,
    question: str,
    organisation_name_given: str,
    time_zone: str,
    advisor: AdvisorProfile | None = None,
    now: datetime | None = None,
) -> AdviceCall:
    """Book a call at `starts_at` with `advisor`, or with the free advisor who has the fewest
    calls that week. Flushes; raises SlotTaken or CallRefused."""
    now = now or utcnow()
    starts_at = _as_utc(starts_at)
    phone = _check_request(mode, phone, phase, time_zone or AMSTERDAM_TZ)
    choices = [advisor] if advisor is not None else candidates(starts_at, now)

    def write(times: tuple[datetime, datetime, datetime, datetime]) -> AdviceCall:
        call_start, call_end, blocked_from, blocked_until = times
        call = AdviceCall(
            advisor=chosen,
            organisation=organisation,
            requester=requester,
            starts_at=call_start,
            ends_at=call_end,
            blocked_from=blocked_from,
            blocked_until=blocked_until,
            mode=mode,
            phone=phone,
            phase=phase,
            question=(question or "").strip(),
            organisation_name_given=(organisation_name_given or organisation.name).strip(),
            time_zone=time_zone or AMSTERDAM_TZ,
            video_url=chosen.meeting_url if mode == CallMode.ONLINE else None,
            created_at=now,
        )
        db.session.add(call)
        return call

    last_error: DomainError | None = None
    for chosen in choices:
        try:
            call = _in_diary(chosen, starts_at, now, write)
        except SlotTaken as error:  # taken meanwhile: the next free advisor, if any
            last_error = error
            continue
        audit.record(
            "advice_call.booked",
            call,
            actor=requester,
            advisor_id=chosen.id,
            starts_at=call.starts_at,
            mode=mode,
        )
        return call
    raise last_error or SlotTaken()


def _check_notice(call: AdviceCall, now: datetime, message) -> None:
    if now > call.starts_at - timedelta(hours=call.advisor.min_notice_hours):
        raise CallRefused(message)


def reschedule_call(
    call: AdviceCall, starts_at: datetime, *, now: datetime | None = None
) -> AdviceCall:
    """Move a booked call to another free start of the same advisor (SEQUENCE + 1)."""
    now = now or utcnow()
    starts_at = _as_utc(starts_at)
    if not call.is_booked:
        raise CallRefused(_l("Alleen een gepland gesprek kan worden verplaatst."))
    hours = call.advisor.min_notice_hours
    _check_notice(
        call,
        now,
        ngettext(
            "Verplaatsen kan tot %(num)s uur voor het gesprek. Neem contact met ons op.",
            "Verplaatsen kan tot %(num)s uur voor het gesprek. Neem contact met ons op.",
            hours,
        ),
    )
    if starts_at == call.starts_at:
        return call
    previous = call.starts_at

    def write(times: tuple[datetime, datetime, datetime, datetime]) -> AdviceCall:
        call.move_to(*times)
        return call

    _in_diary(call.advisor, starts_at, now, write, ignore_call_id=call.id)
    audit.record("advice_call.moved", call, previous=previous, starts_at=call.starts_at)
    return call


def cancel_call(
    call: AdviceCall, *, now: datetime | None = None, enforce_notice: bool = True
) -> AdviceCall:
    """Cancel a booked call; a client may until the minimum notice, staff
    (`enforce_notice=False`) at any time."""
    now = now or utcnow()
    if not call.is_booked:
        raise CallRefused(_l("Dit gesprek is al geannuleerd of heeft al plaatsgevonden."))
    if enforce_notice:
        hours = call.advisor.min_notice_hours
        _check_notice(
            call,
            now,
            ngettext(
                "Annuleren kan tot %(num)s uur voor het gesprek. Neem contact met ons op.",
                "Annuleren kan tot %(num)s uur voor het gesprek. Neem contact met ons op.",
                hours,
            ),
        )
    call.cancel(now)
    db.session.flush()
    audit.record("advice_call.cancelled", call, starts_at=call.starts_at)
    return call


# -- the link in the confirmation mail -------------------------------------------------------------
def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def manage_token(call: AdviceCall) -> str:
    """A signed token naming the call and its UID; it lasts as long as the call."""
    return _serializer().dumps([call.id, call.uid])


def call_for_token(token: str) -> AdviceCall | None:
    try:
        call_id, uid = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(call_id, int):
        return None
    call = db.session.get(AdviceCall, call_id)
    return call if call is not None and call.uid == uid else None
