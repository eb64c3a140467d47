"""Build iCalendar (.ics) data for training invites, updates, cancellations and feeds.

Pure functions on top of icalendar 7: no Flask, no database, no other bbtraining modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

TIMEZONE = "Europe/Amsterdam"
PRODID = "-//bbtraining//NL"
METHODS = ("REQUEST", "CANCEL", "PUBLISH")

_TZ = ZoneInfo(TIMEZONE)
# iTIP scheduling messages: Outlook refuses them without an ORGANIZER.
_SCHEDULING_METHODS = frozenset({"REQUEST", "CANCEL"})
# First year of the current EU rule for the Netherlands (end of DST moved to October in 1996).
_EU_RULE_SINCE = 1996
_CET = timedelta(hours=1)
_CEST = timedelta(hours=2)


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str | None = None
    url: str | None = None
    organizer_email: str | None = None
    organizer_name: str | None = None
    attendee_email: str | None = None
    attendee_name: str | None = None
    cancelled: bool = False
    stamp: datetime | None = None


def normalize_method(method: str | None) -> str | None:
    """Return the upper-case iTIP method, or None for a plain feed; ValueError if unknown."""
    if method is None:
        return None
    normalized = method.strip().upper() if isinstance(method, str) else None
    if normalized not in METHODS:
        raise ValueError(f"Unknown calendar method {method!r}; expected one of {METHODS}")
    return normalized


def ics_content_type(method: str | None) -> str:
    """MIME type for an .ics body or attachment, e.g. for a text/calendar email part."""
    normalized = normalize_method(method)
    if normalized is None:
        return "text/calendar; charset=utf-8"
    return f"text/calendar; charset=utf-8; method={normalized}"


def build_calendar(
    events: list[CalendarEvent], method: str | None = None, name: str | None = None
) -> bytes:
    """Serialize events into one VCALENDAR (UTF-8, CRLF, folded lines)."""
    normalized = normalize_method(method)
    if normalized in _SCHEDULING_METHODS and not events:
        raise ValueError(f"METHOD:{normalized} needs at least one event")

    components = [_build_event(event, normalized) for event in events]

    calendar = Calendar()
    calendar.prodid = PRODID
    calendar.version = "2.0"
    calendar.calscale = "GREGORIAN"
    if normalized is not None:
        calendar.method = normalized
    if name:
        calendar.calendar_name = name
    if components:
        calendar.add_component(_vtimezone(events))
    for component in components:
        calendar.add_component(component)
    return calendar.to_ical()


def _build_event(event: CalendarEvent, method: str | None) -> Event:
    if not isinstance(event.uid, str) or not event.uid.strip():
        raise ValueError("Calendar event needs a non-empty uid")
    if isinstance(event.sequence, bool) or not isinstance(event.sequence, int):
        raise ValueError(f"sequence must be an int, got {event.sequence!r}")
    if event.sequence < 0:
        raise ValueError(f"sequence must be >= 0, got {event.sequence}")
    start = _to_local(event.start, "start")
    end = _to_local(event.end, "end")
    if end <= start:
        raise ValueError(f"Event {event.uid} ends ({end}) before or at its start ({start})")
    if event.stamp is not None:
        _require_aware(event.stamp, "stamp")
    if method in _SCHEDULING_METHODS and not event.organizer_email:
        raise ValueError(f"METHOD:{method} needs an organizer_email (event {event.uid})")

    organizer = None
    if event.organizer_email:
        organizer = vCalAddress.new(event.organizer_email, cn=_clean_cn(event.organizer_name))
    attendees = None
    if event.attendee_email:
        attendees = [
            vCalAddress.new(
                event.attendee_email,
                cn=_clean_cn(event.attendee_name),
                role="REQ-PARTICIPANT",
                partstat="NEEDS-ACTION",
                rsvp=True,
            )
        ]
    cancelled = event.cancelled or method == "CANCEL"

    # Event.new fills DTSTAMP with "now" in UTC when stamp is None and converts aware stamps
    # to UTC; DTSTART/DTEND keep the ZoneInfo and are written with TZID.
    return Event.new(
        uid=event.uid,
        sequence=event.sequence,
        stamp=event.stamp,
        start=start,
        end=end,
        summary=event.summary,
        description=event.description or None,
        location=event.location or None,
        url=event.url or None,
        status="CANCELLED" if cancelled else "CONFIRMED",
        organizer=organizer,
        attendees=attendees,
    )


def _require_aware(value: datetime, field: str) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{field} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware, got naive {value!r}")


def _to_local(value: datetime, field: str) -> datetime:
    _require_aware(value, field)
    return value.astimezone(_TZ)


def _clean_cn(name: str | None) -> str | None:
    # Outlook does not decode RFC 6868 parameter escapes (^n, ^'), so keep CN on one line
    # and free of double quotes instead of relying on icalendar's escaping.
    if not name:
        return None
    cleaned = " ".join(name.replace('"', "'").split())
    return cleaned or None


def _vtimezone(events: list[CalendarEvent]) -> Timezone:
    first_year = min(event.start.astimezone(_TZ).year for event in events)
    last_year = max(event.end.astimezone(_TZ).year for event in events)
    if first_year >= _EU_RULE_SINCE and all(
        _eu_rule_holds(year) for year in range(first_year, last_year + 1)
    ):
        return _eu_rule_vtimezone()
    # icalendar derives the observances from zoneinfo, but only as RDATE lists bounded by
    # first_date/last_date, so the window must cover every event.
    return Timezone.from_tzid(
        TIMEZONE, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
    )


def _eu_rule_vtimezone() -> Timezone:
    # Outlook is reported to misread RDATE-only VTIMEZONEs (what icalendar generates) and to shift
    # DST events by an hour; icalendar's version also starts summer time an hour late. So when
    # zoneinfo confirms the EU rule we emit it as yearly RRULEs, the form Outlook itself uses.
    timezone = Timezone()
    timezone.add("TZID", TIMEZONE)
    for observance, month, offset_from, offset_to, tzname in (
        (TimezoneDaylight(), 3, _CET, _CEST, "CEST"),
        (TimezoneStandard(), 10, _CEST, _CET, "CET"),
    ):
        # DTSTART is the wall-clock time of the switch in the offset that applies before it.
        observance.DTSTART = (
            datetime.combine(_last_sunday(_EU_RULE_SINCE, month), time(1)) + offset_from
        )
        observance.TZOFFSETFROM = offset_from
        observance.TZOFFSETTO = offset_to
        observance.add("TZNAME", tzname)
        observance.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": "-1SU"})
        timezone.add_component(observance)
    return timezone


def _eu_rule_holds(year: int) -> bool:
    """Whether zoneinfo switches Amsterdam at 01:00 UTC on the last Sundays of March/October."""
    for month, before, after in ((3, _CET, _CEST), (10, _CEST, _CET)):
        switch = datetime.combine(_last_sunday(year, month), time(1), tzinfo=UTC)
        just_before = (switch - timedelta(seconds=1)).astimezone(_TZ).utcoffset()
        if just_before != before or switch.astimezone(_TZ).utcoffset() != after:
            return False
    return True


def _last_sunday(year: int, month: int) -> date:
    last_day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last_day - timedelta(days=(last_day.weekday() - 6) % 7)
