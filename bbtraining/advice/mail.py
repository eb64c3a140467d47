"""What a kennismakingsgesprek sends: the invite (REQUEST, the same UID for life; a move is an
update with the call's SEQUENCE, a cancellation a real CANCEL) to the client and the advisor,
the reminder the day before, and the agreed next step after the call.

Times in the client's mails are shown in the time zone their browser reported when they booked
(`call.time_zone`); the advisor's in Europe/Amsterdam. The .ics carries Europe/Amsterdam with
its TZID, which every calendar shows in its own zone.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import force_locale

from ..extensions import babel_locale
from ..i18n import lazy_gettext as _l
from ..notifications.calendar import CalendarEvent, build_calendar
from ..notifications.services import Attachment, queue_mail
from ..urls import public_url
from . import calls
from .call_forms import DEFAULT_TIME_ZONE, time_zone_or_default
from .models import CALL_MODE_LABELS, AdviceCall, AdvisorProfile

KINDS = ("new", "update", "cancel")


@dataclass(frozen=True)
class When:
    """A call's moment as one person reads it: "dinsdag 12 januari 2027", "09:30", "10:00"."""

    day: str
    start: str
    end: str
    zone: str
    shows_zone: bool  # not Amsterdam: say which zone the times are in


def when(starts_at: datetime, ends_at: datetime, time_zone: str, locale: str) -> When:
    zone_name = time_zone_or_default(time_zone)
    zone = ZoneInfo(zone_name)
    babel = babel_locale(locale or "nl")
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return When(
        day=format_date(start.date(), "full", locale=babel),
        start=format_time(start, "HH:mm", locale=babel),
        end=format_time(end, "HH:mm", locale=babel),
        zone=zone_name,
        shows_zone=zone_name != DEFAULT_TIME_ZONE,
    )


def manage_url(call: AdviceCall) -> str:
    return public_url("advice.manage", token=calls.manage_token(call))


def meeting_url(call: AdviceCall) -> str | None:
    if call.mode != "online":
        return None
    return call.video_url or (call.advisor.meeting_url if call.advisor else None)


def _where(call: AdviceCall) -> str:
    if call.mode == "phone":
        return str(_l("Telefonisch: de adviseur belt %(phone)s", phone=call.phone or ""))
    return meeting_url(call) or str(_l("Online; de link volgt per e-mail"))


def _organizer() -> tuple[str, str]:
    return current_app.config["STAFF_EMAIL"], current_app.config["ORGANISATION_NAME"]


def call_event(call: AdviceCall, email: str, name: str, *, cancelled: bool = False):
    organizer_email, organizer_name = _organizer()
    organisation = call.organisation_name_given or (
        call.organisation.name if call.organisation else ""
    )
    lines = [
        str(_l("Kennismakingsgesprek met %(advisor)s", advisor=call.advisor.user.name)),
        str(_l("Organisatie: %(org)s", org=organisation)),
        str(CALL_MODE_LABELS.get(call.mode, call.mode)),
    ]
    url = meeting_url(call)
    if url:
        lines.append(str(_l("Online via: %(url)s", url=url)))
    if call.question:
        lines.append(call.question)
    return CalendarEvent(
        uid=call.uid,
        sequence=call.sequence,
        start=call.starts_at,
        end=call.ends_at,
        summary=str(_l("Kennismakingsgesprek burgerberaad (%(org)s)", org=organisation)),
        description="\n".join(lines),
        location=_where(call),
        url=url or None,
        organizer_email=organizer_email,
        organizer_name=organizer_name,
        attendee_email=email,
        attendee_name=name,
        cancelled=cancelled,
    )


def _subject(kind: str, organisation: str, *, for_advisor: bool):
    if for_advisor:
        if kind == "new":
            return _l("Nieuw kennismakingsgesprek met %(org)s", org=organisation)
        if kind == "update":
            return _l("Verzet: kennismakingsgesprek met %(org)s", org=organisation)
        return _l("Geannuleerd: kennismakingsgesprek met %(org)s", org=organisation)
    if kind == "new":
        return _l("Bevestigd: uw kennismakingsgesprek")
    if kind == "update":
        return _l("Verzet: uw kennismakingsgesprek")
    return _l("Geannuleerd: uw kennismakingsgesprek")


def _invite(call: AdviceCall, person, kind: str, *, for_advisor: bool) -> None:
    method = "CANCEL" if kind == "cancel" else "REQUEST"
    with force_locale(babel_locale(getattr(person, "locale", None) or "nl")):
        event = call_event(call, person.email, person.name, cancelled=kind == "cancel")
    ics = build_calendar([event], method)
    organisation = call.organisation_name_given or call.organisation.name
    queue_mail(
        to=person,
        subject=_subject(kind, organisation, for_advisor=for_advisor),
        template=f"advice/call_{kind}",
        context=call_mail_context(call, person, for_advisor=for_advisor),
        calendar_ics=ics,
        calendar_method=method,
        attachments=[Attachment("uitnodiging.ics", "application/ics", ics)],
    )


def call_mail_context(call: AdviceCall, person, *, for_advisor: bool) -> dict:
    """What every mail about a call shows, in the recipient's language and time zone."""
    locale = getattr(person, "locale", None) or "nl"
    return {
        "call": call,
        "name": person.name,
        "when": when(
            call.starts_at,
            call.ends_at,
            DEFAULT_TIME_ZONE if for_advisor else call.time_zone,
            locale,
        ),
        "where": _where(call),
        "for_advisor": for_advisor,
        "organisation": call.organisation_name_given or call.organisation.name,
        "advisor_name": call.advisor.user.name,
        "manage_url": None if for_advisor else manage_url(call),
        "book_url": public_url("advice.book"),
        "staff_url": public_url("advice_admin.call_detail", call_id=call.id)
        if for_advisor
        else None,
    }


def _people(call: AdviceCall, advisor: AdvisorProfile | None = None):
    """(person, for_advisor) for the client who booked and the advisor."""
    yield call.requester, False
    yield (advisor or call.advisor).user, True


def mail_call_booked(call: AdviceCall) -> None:
    for person, for_advisor in _people(call):
        _invite(call, person, "new", for_advisor=for_advisor)


def mail_call_moved(call: AdviceCall) -> None:
    for person, for_advisor in _people(call):
        _invite(call, person, "update", for_advisor=for_advisor)


def mail_call_cancelled(call: AdviceCall) -> None:
    for person, for_advisor in _people(call):
        _invite(call, person, "cancel", for_advisor=for_advisor)


def mail_call_reassigned(call: AdviceCall, old_advisor: AdvisorProfile) -> None:
    """The old advisor's calendar loses the call (CANCEL), the new one gets it (REQUEST); the
    client's invite is updated (the advisor's name is in it)."""
    _invite(call, old_advisor.user, "cancel", for_advisor=True)
    _invite(call, call.advisor.user, "new", for_advisor=True)
    _invite(call, call.requester, "update", for_advisor=False)
