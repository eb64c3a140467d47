"""Personal calendar feeds: `/calendar/<token>.ics`, the sessions someone takes part in or leads.

The token in the URL is the only credential (calendar apps cannot log in), so it is never
written to a log here, and a wrong token is a plain 404 that says nothing about who exists.
Each event keeps the UID of the invite we mailed for that session when there is one, so a
calendar that has both shows one appointment; otherwise the UID is derived from (session, user).
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import Response, abort, current_app
from sqlalchemy import func, or_, select

from ...auth.models import User
from ...db_types import utcnow
from ...extensions import db
from ...notifications.calendar import CalendarEvent, build_calendar, ics_content_type
from .. import bp
from .invites import CalendarInvite, calendar_event
from .participants import sessions_for_user

MAX_TOKEN_LENGTH = 64


def feed_user(token: str) -> User | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.is_active:
        return None
    return user


def _invites_by_session(user: User, session_ids: list[int]) -> dict[int, CalendarInvite]:
    if not session_ids:
        return {}
    invites = db.session.scalars(
        select(CalendarInvite)
        .where(
            CalendarInvite.session_id.in_(session_ids),
            or_(
                CalendarInvite.attendee_key == f"trainer:{user.id}",
                func.lower(CalendarInvite.email) == user.email.lower(),
            ),
        )
        .order_by(CalendarInvite.id)
    )
    found: dict[int, CalendarInvite] = {}
    for invite in invites:
        found.setdefault(invite.session_id, invite)
    return found


@dataclass(frozen=True)
class _FeedEntry:
    """What `calendar_event` needs from an invite, for sessions we never mailed one for."""

    uid: str
    sequence: int
    email: str
    name: str


def feed_uid(session_id: int, user_id: int) -> str:
    return f"bbt-feed-{session_id}-{user_id}@bbtraining"


def user_feed(user: User) -> bytes:
    since = utcnow() - timedelta(days=current_app.config["CALENDAR_FEED_PAST_DAYS"])
    sessions = sessions_for_user(user, since=since)
    invites = _invites_by_session(user, [s.id for s in sessions])
    events = []
    for session in sessions:
        invite = invites.get(session.id) or _FeedEntry(
            uid=feed_uid(session.id, user.id),
            sequence=session.revision,
            email=user.email,
            name=user.name,
        )
        event = calendar_event(session, invite, cancelled=session.is_cancelled)
        # A feed is published, not an invitation: no organizer or attendee to answer to.
        events.append(
            CalendarEvent(
                uid=event.uid,
                sequence=event.sequence,
                start=event.start,
                end=event.end,
                summary=event.summary,
                description=event.description,
                location=event.location,
                url=event.url,
                cancelled=event.cancelled,
            )
        )
    return build_calendar(events, name=current_app.config["SITE_NAME"])


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    user = feed_user(token)
    if user is None:
        abort(404)
    response = Response(user_feed(user), content_type=ics_content_type(None))
    response.headers["Content-Disposition"] = 'inline; filename="trainingen.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    # The URL is a secret: keep it out of Referer headers and search engines.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
