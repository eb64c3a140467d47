"""A kennismakingsgesprek from the client's side: the slots offered, booking (with the account
made as for an inhouse request), moving and cancelling by signed link, each with its mail.

The slot rules and the no-double-booking guard live in `availability` and `calls`; this module
adds who the call belongs to and what is sent, so that views stay one call each.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import User
from ..bookings.inhouse.requests import NewAccount, resolve_requester
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from . import availability, calls, mail
from .call_forms import slot_value, time_zone_or_default
from .models import AdviceCall, AdvisorProfile

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAYS_SHOWN = 7  # days with free slots on one page
DAYS_SEARCHED = 28  # how far one page looks for them


@dataclass
class SlotDay:
    day: date  # the visitor's calendar day
    slots: list[datetime] = field(default_factory=list)  # UTC
    zone: str = "Europe/Amsterdam"

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(form value, "09:30" on the visitor's clock) for each slot."""
        zone = ZoneInfo(self.zone)
        return [(slot_value(s), f"{s.astimezone(zone):%H:%M}") for s in self.slots]


@dataclass
class SlotPage:
    days: list[SlotDay]
    first_day: date
    next_from: date | None  # where the next page starts, when there may be more
    time_zone: str
    later: bool = False  # not the first page: offer the way back to the first free days


def offered_slots(
    time_zone: str,
    *,
    advisor: AdvisorProfile | None = None,
    from_day: date | None = None,
    now: datetime | None = None,
) -> SlotPage:
    """The next days with free slots, grouped by the visitor's own calendar day."""
    now = now or utcnow()
    time_zone = time_zone_or_default(time_zone)
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    first_day = max(from_day or today, today)
    # A day in the visitor's zone may start or end on another Amsterdam day: ask a day wider.
    last_day = first_day + timedelta(days=DAYS_SEARCHED)
    starts = availability.free_slots_any(
        first_day - timedelta(days=1), last_day + timedelta(days=1), now=now, advisor=advisor
    )
    days: dict[date, SlotDay] = {}
    for start in sorted(set(starts)):
        local_day = start.astimezone(zone).date()
        if local_day < first_day or local_day > last_day:
            continue
        if local_day not in days and len(days) == DAYS_SHOWN:
            break
        days.setdefault(local_day, SlotDay(local_day, zone=time_zone)).slots.append(start)
    shown = list(days.values())
    next_from = None
    if len(shown) == DAYS_SHOWN:
        next_from = shown[-1].day + timedelta(days=1)
    elif last_day < today + timedelta(days=_horizon_days(advisor)):
        next_from = last_day + timedelta(days=1)
    return SlotPage(
        days=shown,
        first_day=first_day,
        next_from=next_from,
        time_zone=time_zone,
        later=first_day > today,
    )


def _horizon_days(advisor: AdvisorProfile | None) -> int:
    from .advisors import active_advisors

    advisors = [advisor] if advisor is not None else active_advisors()
    return max((a.horizon_days for a in advisors), default=0)


@dataclass
class CallRequest:
    starts_at: datetime
    mode: str
    phase: str
    question: str
    time_zone: str
    phone: str | None = None
    organisation_name: str | None = None
    organisation_kind: str = "gemeente"


def book(
    data: CallRequest,
    *,
    user: User | None,
    account: NewAccount | None = None,
    advisor: AdvisorProfile | None = None,
) -> tuple[AdviceCall, User | None]:
    """Book the call and send the invites; returns the call and the account made for it."""
    who = resolve_requester(
        user=user,
        account=account,
        organisation_name=data.organisation_name,
        organisation_kind=data.organisation_kind,
    )
    call = calls.book_call(
        requester=who.user,
        organisation=who.organisation,
        starts_at=data.starts_at,
        mode=data.mode,
        phone=(data.phone or "").strip() or None if data.mode == "phone" else None,
        phase=data.phase,
        question=(data.question or "").strip(),
        organisation_name_given=(data.organisation_name or who.organisation.name).strip(),
        time_zone=time_zone_or_default(data.time_zone),
        advisor=advisor,
    )
    mail.mail_call_booked(call)
    return call, who.new_user


def move(call: AdviceCall, starts_at: datetime) -> AdviceCall:
    """The client moves their call to another free slot (same advisor); sends the update."""
    if starts_at == call.starts_at:
        raise DomainError(
            _l("Dat is het tijdstip dat al staat. Kies een ander tijdstip."), field="slot"
        )
    calls.reschedule_call(call, starts_at)
    mail.mail_call_moved(call)
    return call


def cancel(call: AdviceCall) -> AdviceCall:
    calls.cancel_call(call)
    mail.mail_call_cancelled(call)
    return call


def reassign(call: AdviceCall, advisor: AdvisorProfile, *, by: User) -> AdviceCall:
    """Staff give the call to another advisor at the same time: the old advisor's calendar
    gets a CANCEL, the new one's the invite, the client an update. The new advisor must have
    that time free by their own rules; the database refuses an overlap all the same."""
    old = call.advisor
    if not call.is_booked:
        raise DomainError(_l("Alleen een gepland gesprek kan naar een andere adviseur."))
    if advisor.id == old.id:
        raise DomainError(_l("Dit gesprek staat al bij deze adviseur."), field="advisor")
    day = call.starts_at.astimezone(AMSTERDAM).date()
    free = availability.free_slots(advisor, day, day, now=utcnow())
    if not any(slot.starts_at == call.starts_at for slot in free):
        raise DomainError(
            _l("%(name)s is op dat tijdstip niet vrij.", name=advisor.user.name), field="advisor"
        )
    call.advisor = advisor
    call.blocked_from = call.starts_at - timedelta(minutes=advisor.buffer_before_minutes)
    call.blocked_until = call.ends_at + timedelta(minutes=advisor.buffer_after_minutes)
    if call.mode == "online" and advisor.meeting_url:
        call.video_url = advisor.meeting_url
    call.sequence += 1
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise DomainError(
            _l("%(name)s is op dat tijdstip niet vrij.", name=advisor.user.name), field="advisor"
        ) from exc
    audit.record("advice_call.reassigned", call, actor=by, old_advisor=old.id)
    mail.mail_call_reassigned(call, old)
    return call
