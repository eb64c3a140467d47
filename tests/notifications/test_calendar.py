"""Tests for the iCalendar builder: every assertion parses the real output with icalendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event, Timezone

from bbtraining.notifications.calendar import (
    PRODID,
    TIMEZONE,
    CalendarEvent,
    build_calendar,
    ics_content_type,
)

AMS = ZoneInfo(TIMEZONE)
SUMMER_START = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)  # 09:00 CEST
WINTER_START = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)  # 09:00 CET


def make_event(**overrides: object) -> CalendarEvent:
    values: dict[str, object] = {
        "uid": "session-12-att-abc@bbtraining",
        "sequence": 0,
        "start": SUMMER_START,
        "end": SUMMER_START + timedelta(hours=3),
        "summary": "Masterclass burgerberaad",
        "description": "Welkom bij de training.",
        "location": "Domplein 1, Utrecht",
        "url": "https://bbtraining.example/cursussen/12",
        "organizer_email": "info@bbtraining.example",
        "organizer_name": "BB Training",
        "attendee_email": "deelnemer@example.org",
        "attendee_name": "Sanne de Vries",
    }
    values.update(overrides)
    return CalendarEvent(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def only_event(data: bytes) -> Event:
    events = parse(data).events
    assert len(events) == 1
    return events[0]


def test_calendar_headers_for_request() -> None:
    calendar = parse(build_calendar([make_event()], method="REQUEST", name="Mijn trainingen"))

    assert calendar["PRODID"] == PRODID
    assert calendar["VERSION"] == "2.0"
    assert calendar["CALSCALE"] == "GREGORIAN"
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["X-WR-CALNAME"] == "Mijn trainingen"


@pytest.mark.parametrize("method", ["request", " Cancel ", "publish"])
def test_method_is_case_insensitive(method: str) -> None:
    calendar = parse(build_calendar([make_event()], method=method))

    assert calendar["METHOD"] == method.strip().upper()


def test_feed_without_method_or_name() -> None:
    calendar = parse(build_calendar([make_event(organizer_email=None)]))

    assert "METHOD" not in calendar
    assert "X-WR-CALNAME" not in calendar
    assert len(calendar.events) == 1


def test_publish_does_not_need_an_organizer() -> None:
    event = only_event(build_calendar([make_event(organizer_email=None)], method="PUBLISH"))

    assert "ORGANIZER" not in event


def test_vtimezone_has_standard_and_daylight() -> None:
    calendar = parse(build_calendar([make_event()], method="REQUEST"))

    assert [tz.tz_name for tz in calendar.timezones] == [TIMEZONE]
    timezone = calendar.timezones[0]
    assert timezone.standard
    assert timezone.daylight
    assert calendar.get_missing_tzids() == set()


def _offset_mismatches(timezone: Timezone, first_year: int, last_year: int, *, fine: bool) -> list:
    """Instants where the tz built from the VTIMEZONE disagrees with zoneinfo.

    Checks every day at noon UTC and, with fine=True, each switch day every 15 minutes.
    """
    # Build the tz from the VTIMEZONE itself (not the TZID lookup) to test what clients read.
    vtimezone_tz = timezone.to_tz(lookup_tzid=False)
    day = datetime(first_year, 1, 1, 12, tzinfo=UTC)
    instants = []
    while day.year <= last_year:
        instants.append(day)
        previous = day - timedelta(days=1)
        if fine and previous.astimezone(AMS).utcoffset() != day.astimezone(AMS).utcoffset():
            instants.extend(previous + timedelta(minutes=15 * n) for n in range(96))
        day += timedelta(days=1)
    return [
        instant
        for instant in instants
        if instant.astimezone(vtimezone_tz).utcoffset() != instant.astimezone(AMS).utcoffset()
    ]


def test_vtimezone_rules_match_zoneinfo_around_every_switch() -> None:
    winter_event = make_event(start=WINTER_START, end=WINTER_START + timedelta(hours=2))
    calendar = parse(build_calendar([make_event(), winter_event]))

    assert _offset_mismatches(calendar.timezones[0], 2025, 2032, fine=True) == []


def test_vtimezone_for_events_before_current_eu_rule_follows_zoneinfo() -> None:
    start = datetime(1990, 6, 15, 7, tzinfo=UTC)
    calendar = parse(build_calendar([make_event(start=start, end=start + timedelta(hours=1))]))
    timezone = calendar.timezones[0]

    assert timezone.standard
    assert timezone.daylight
    # Coarse check only: icalendar's own generator puts spring-forward an hour late.
    assert _offset_mismatches(timezone, 1990, 1990, fine=False) == []
    assert calendar.events[0].start == start


@pytest.mark.parametrize(
    ("start", "local_text"),
    [
        (SUMMER_START, b"DTSTART;TZID=Europe/Amsterdam:20260615T090000"),
        (WINTER_START, b"DTSTART;TZID=Europe/Amsterdam:20270112T090000"),
    ],
    ids=["summer-cest", "winter-cet"],
)
def test_start_and_end_written_in_amsterdam_time(start: datetime, local_text: bytes) -> None:
    end = start + timedelta(hours=2, minutes=30)
    data = build_calendar([make_event(start=start, end=end)], method="REQUEST")
    event = only_event(data)

    assert local_text in data
    assert event.start.tzinfo == AMS
    assert event.end.tzinfo == AMS
    assert event.start == start
    assert event.end == end
    assert (event.start.hour, event.start.minute) == (9, 0)
    assert event["DTSTART"].params["TZID"] == TIMEZONE
    assert event["DTEND"].params["TZID"] == TIMEZONE


def test_start_in_other_timezone_is_converted() -> None:
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 6, 15, 3, 0, tzinfo=new_york)  # 09:00 in Amsterdam
    event = only_event(build_calendar([make_event(start=start, end=start + timedelta(hours=1))]))

    assert event.start == start
    assert event.start.tzinfo == AMS
    assert event.start.hour == 9


def test_dtstamp_is_utc() -> None:
    stamp = datetime(2026, 5, 1, 14, 30, tzinfo=AMS)
    data = build_calendar([make_event(stamp=stamp)], method="REQUEST")
    event = only_event(data)

    assert b"DTSTAMP:20260501T123000Z" in data
    written = event.stamp
    assert written == stamp
    assert written.utcoffset() == timedelta(0)
    assert "TZID" not in event["DTSTAMP"].params


def test_dtstamp_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    event = only_event(build_calendar([make_event()], method="REQUEST"))
    after = datetime.now(UTC)

    written = event.stamp
    assert written.utcoffset() == timedelta(0)
    assert before <= written <= after


def test_uid_and_sequence_round_trip() -> None:
    event = only_event(
        build_calendar([make_event(uid="session-7-att-x9@bbtraining", sequence=3)], "REQUEST")
    )

    assert event.uid == "session-7-att-x9@bbtraining"
    assert event.sequence == 3


def test_text_fields_round_trip() -> None:
    event = only_event(build_calendar([make_event()], method="REQUEST"))

    assert event["SUMMARY"] == "Masterclass burgerberaad"
    assert event["DESCRIPTION"] == "Welkom bij de training."
    assert event["LOCATION"] == "Domplein 1, Utrecht"
    assert event["URL"] == "https://bbtraining.example/cursussen/12"


def test_optional_fields_are_omitted_when_empty() -> None:
    event = only_event(
        build_calendar(
            [
                make_event(
                    description="",
                    location=None,
                    url=None,
                    organizer_email=None,
                    attendee_email=None,
                )
            ]
        )
    )

    for prop in ("DESCRIPTION", "LOCATION", "URL", "ORGANIZER", "ATTENDEE"):
        assert prop not in event


def test_request_is_confirmed() -> None:
    event = only_event(build_calendar([make_event()], method="REQUEST"))

    assert event["STATUS"] == "CONFIRMED"


def test_cancel_method_cancels_every_event() -> None:
    events = [
        make_event(uid="session-1-att-a@bbtraining", sequence=1),
        make_event(uid="session-2-att-a@bbtraining", sequence=2, cancelled=True),
    ]
    calendar = parse(build_calendar(events, method="CANCEL"))

    assert calendar["METHOD"] == "CANCEL"
    assert [event["STATUS"] for event in calendar.events] == ["CANCELLED", "CANCELLED"]


def test_cancelled_event_in_feed() -> None:
    events = [
        make_event(uid="session-1-att-a@bbtraining"),
        make_event(uid="session-2-att-a@bbtraining", cancelled=True),
    ]
    calendar = parse(build_calendar(events))

    statuses = {str(event.uid): str(event["STATUS"]) for event in calendar.events}
    assert statuses == {
        "session-1-att-a@bbtraining": "CONFIRMED",
        "session-2-att-a@bbtraining": "CANCELLED",
    }


def test_organizer_and_attendee() -> None:
    event = only_event(build_calendar([make_event()], method="REQUEST"))

    organizer = event["ORGANIZER"]
    assert organizer == "mailto:info@bbtraining.example"
    assert organizer.params["CN"] == "BB Training"

    [attendee] = event.attendees
    assert attendee == "mailto:deelnemer@example.org"
    assert attendee.params["CN"] == "Sanne de Vries"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee.params["RSVP"] == "TRUE"


def test_addresses_without_names_have_no_cn() -> None:
    event = only_event(
        build_calendar([make_event(organizer_name=None, attendee_name="  ")], method="REQUEST")
    )

    assert "CN" not in event["ORGANIZER"].params
    assert "CN" not in event.attendees[0].params


def test_names_are_kept_on_one_line_without_double_quotes() -> None:
    event = only_event(
        build_calendar([make_event(attendee_name='Jan "JJ"\nJanssen')], method="REQUEST")
    )

    assert event.attendees[0].params["CN"] == "Jan 'JJ' Janssen"


def test_multiple_sessions_share_one_vtimezone() -> None:
    events = [
        make_event(
            uid=f"session-{n}-att-abc@bbtraining",
            start=SUMMER_START + timedelta(weeks=n * 10),
            end=SUMMER_START + timedelta(weeks=n * 10, hours=2),
            summary=f"Bijeenkomst {n}",
        )
        for n in range(1, 4)
    ]
    calendar = parse(build_calendar(events, method="PUBLISH", name="Trainingen"))

    assert [str(event.uid) for event in calendar.events] == [event.uid for event in events]
    assert [event.start for event in calendar.events] == [event.start for event in events]
    assert len(calendar.timezones) == 1


def test_non_ascii_text_round_trips() -> None:
    event_in = make_event(
        summary="Café-sessie: ideeën over €-budget",
        description="Eerste regel met é, ë en €.\nTweede regel; met, tekens.",
        location="Zaal Ré, Ëindhoven",
        attendee_name="Zoë Müller",
    )
    data = build_calendar([event_in], method="REQUEST", name="Trainingen €")
    calendar = parse(data)
    event = calendar.events[0]

    assert "Café-sessie".encode() in data
    assert event["SUMMARY"] == event_in.summary
    assert event["DESCRIPTION"] == event_in.description
    assert event["LOCATION"] == event_in.location
    assert event.attendees[0].params["CN"] == "Zoë Müller"
    assert calendar["X-WR-CALNAME"] == "Trainingen €"


def test_output_is_folded_with_crlf() -> None:
    long_text = "Lange beschrijving met één euroteken € en meer tekst. " * 12
    data = build_calendar([make_event(description=long_text, summary="é" * 80)], method="REQUEST")

    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)
    for line in lines:
        line.decode("utf-8")  # folding must not split a multi-byte character
    assert only_event(data)["DESCRIPTION"] == long_text


def test_empty_feed_is_valid() -> None:
    data = build_calendar([], name="Leeg")
    calendar = parse(data)

    assert calendar.events == []
    assert calendar["PRODID"] == PRODID
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_empty_scheduling_message_is_rejected(method: str) -> None:
    with pytest.raises(ValueError, match="at least one event"):
        build_calendar([], method=method)


@pytest.mark.parametrize("method", ["INVITE", "", "REPLY", 42])
def test_unknown_method_is_rejected(method: object) -> None:
    with pytest.raises(ValueError, match="method"):
        build_calendar([make_event()], method=method)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
@pytest.mark.parametrize("organizer_email", [None, ""])
def test_scheduling_requires_organizer(method: str, organizer_email: str | None) -> None:
    with pytest.raises(ValueError, match="organizer"):
        build_calendar([make_event(organizer_email=organizer_email)], method=method)


@pytest.mark.parametrize("field", ["start", "end", "stamp"])
def test_naive_datetime_is_rejected(field: str) -> None:
    event = make_event()
    naive = getattr(event, field) or datetime(2026, 5, 1, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_calendar([replace(event, **{field: naive.replace(tzinfo=None)})])


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="before or at its start"):
        build_calendar([make_event(end=SUMMER_START - timedelta(minutes=1))])


@pytest.mark.parametrize(("uid", "sequence"), [("", 0), ("   ", 0), ("u@b", -1), ("u@b", True)])
def test_invalid_uid_or_sequence_is_rejected(uid: str, sequence: int) -> None:
    with pytest.raises(ValueError):
        build_calendar([make_event(uid=uid, sequence=sequence)])


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (None, "text/calendar; charset=utf-8"),
        ("REQUEST", "text/calendar; charset=utf-8; method=REQUEST"),
        ("CANCEL", "text/calendar; charset=utf-8; method=CANCEL"),
        ("publish", "text/calendar; charset=utf-8; method=PUBLISH"),
    ],
)
def test_ics_content_type(method: str | None, expected: str) -> None:
    assert ics_content_type(method) == expected


def test_ics_content_type_rejects_unknown_method() -> None:
    with pytest.raises(ValueError):
        ics_content_type("REPLY")
