"""Demo inhouse bookings for `flask seed-demo`: a fresh request, a proposal waiting for the
client, and a scheduled booking, all for Gemeente Utrecht (griffie@example.nl); and a session
today for Provincie Gelderland (projectleider@example.nl) given by trainer@example.nl, so the
attendance sheet and the QR check-in can be tried on the day `make run` starts.

Runs after the accounts and the catalog seeders. Idempotent: the Utrecht bookings are made once;
the session today only when the trainer has none today (a new day brings a new one). When the
catalog has no inhouse course yet (the catalog seeder is absent), it creates the one course it
needs.
"""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from ...auth.models import User
from ...courses.models import AMSTERDAM, Course, SessionStatus, TrainingSession
from ...db_types import utcnow
from ...extensions import db
from . import drafts, participants, proposals, requests
from .models import InhouseBooking, local_datetime, today_amsterdam

CLIENT_EMAIL = "griffie@example.nl"
STAFF_EMAIL = "beheer@example.nl"
TRAINER_EMAIL = "trainer@example.nl"
TODAY_CLIENT_EMAIL = "projectleider@example.nl"
# On today's list: Lotte has a demo account, so she can check in with the QR code herself.
TODAY_PARTICIPANTS = (
    ("Lotte Jansen", "begeleider@example.nl", "gespreksbegeleider"),
    ("Henk Wolters", "h.wolters@gelderland.example.nl", "statenlid"),
    ("Esra Kaya", "e.kaya@gelderland.example.nl", "statenlid"),
    ("Gerrit Post", "g.post@gelderland.example.nl", "griffier"),
    ("Mirjam de Boer", "m.deboer@gelderland.example.nl", "beleidsmedewerker"),
)
TODAY_LENGTH = timedelta(hours=3)


def _inhouse_course() -> Course:
    course = db.session.scalar(
        select(Course)
        .where(Course.published.is_(True), Course.delivery.in_(("inhouse", "both")))
        .order_by(Course.kind != "inspiratiesessie", Course.id)
        .limit(1)
    )
    if course is None:
        course = Course(
            slug="inspiratiesessie-burgerberaad",
            title="Inspiratiesessie burgerberaad",
            kind="inspiratiesessie",
            audience="council",
            delivery="inhouse",
            summary="Wat een burgerberaad is, wat het vraagt van raad en college, en waar u "
            "begint.",
            duration_minutes=120,
            session_count=1,
            price_inhouse=Decimal("1450.00"),
            max_group_size=40,
            published=True,
        )
        course.phases = ["verkenning"]
        db.session.add(course)
        db.session.flush()
    return course


def _request(course, client, *, day_offset: int, participants: int) -> InhouseBooking:
    today = today_amsterdam()
    booking, _new = requests.submit_request(
        course,
        requests.RequestData(
            contact_name=client.name,
            contact_email=client.email,
            expected_participants=participants,
            delivery_mode="venue",
            venue="Stadhuis Utrecht, Stadsplateau 1",
            date_options=[
                (today + timedelta(days=day_offset), "evening"),
                (today + timedelta(days=day_offset + 7), "evening"),
            ],
            assembly_phase="verkenning",
            assembly_context="De raad overweegt een burgerberaad over de energietransitie.",
        ),
        user=client,
    )
    return booking


def _proposal(booking, staff, trainer, *, day_offset: int, send: bool = True) -> None:
    """A proposal sent to the client, or (send=False) a draft staff can still preview and edit."""
    day = today_amsterdam() + timedelta(days=day_offset)
    proposals.save_draft(
        booking,
        by=staff,
        sessions=[
            drafts.SessionDraft(
                starts_at=local_datetime(day, time(19, 30)),
                ends_at=local_datetime(day, time(21, 30)),
                trainer=trainer,
                location=booking.venue or "Online",
            )
        ],
        lines=[
            drafts.LineDraft(
                "session-fee",
                booking.course.title,
                Decimal(1),
                booking.course.price_inhouse or Decimal("1450.00"),
            ),
            drafts.LineDraft("travel", "Reiskosten", Decimal(1), Decimal("45.00")),
        ],
        valid_until=today_amsterdam() + timedelta(days=30),
        vat_rate=booking.course.vat_rate or Decimal("21.00"),
        terms=proposals.default_terms(),
    )
    if send:
        proposals.send_draft(booking, by=staff)


def today_window(now: datetime) -> tuple[datetime, datetime]:
    """A session that runs now: from the last quarter hour (check-in opens half an hour before),
    three hours long, within today in Dutch time."""
    local = now.astimezone(AMSTERDAM)
    start = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    day_start = datetime.combine(local.date(), time(0, 0), tzinfo=AMSTERDAM)
    day_end = datetime.combine(local.date(), time(23, 59), tzinfo=AMSTERDAM)
    start = max(start - timedelta(minutes=15), day_start)
    return start.astimezone(UTC), min(start + TODAY_LENGTH, day_end).astimezone(UTC)


def trainer_session_today(trainer: User, now: datetime) -> TrainingSession | None:
    day_start = datetime.combine(now.astimezone(AMSTERDAM).date(), time(0, 0), tzinfo=AMSTERDAM)
    return db.session.scalar(
        select(TrainingSession)
        .where(
            TrainingSession.trainer_id == trainer.id,
            TrainingSession.status != SessionStatus.CANCELLED,
            TrainingSession.starts_at >= day_start,
            TrainingSession.starts_at < day_start + timedelta(days=1),
        )
        .limit(1)
    )


def _session_today(course, client, staff, trainer) -> None:
    """Booked and agreed earlier, given today. A proposal only plans the future, so the agreed
    session (tomorrow evening) is moved to today as a trainer would move it."""
    now = utcnow()
    if trainer_session_today(trainer, now) is not None:
        return
    booking, _new = requests.submit_request(
        course,
        requests.RequestData(
            contact_name=client.name,
            contact_email=client.email,
            expected_participants=len(TODAY_PARTICIPANTS),
            delivery_mode="venue",
            venue="Provinciehuis Arnhem, Statenzaal",
            date_options=[(today_amsterdam() + timedelta(days=1), "evening")],
            assembly_phase="verkenning",
            assembly_context="Provinciale Staten verkennen een burgerberaad over stikstof.",
        ),
        user=client,
    )
    _proposal(booking, staff, trainer, day_offset=1)
    proposals.accept_proposal(
        booking, by=client, version=1, po_number="PG-2026-118", agreed_to_terms=True
    )
    for name, email, role in TODAY_PARTICIPANTS:
        participants.add_participant(booking, by=client, name=name, email=email, role=role)
    [session] = booking.active_sessions
    starts_at, ends_at = today_window(now)
    session.reschedule(starts_at, ends_at, note="Verplaatst naar vandaag (demo)")
    db.session.flush()


def seed() -> None:
    client = User.by_email(CLIENT_EMAIL)
    staff = User.by_email(STAFF_EMAIL)
    trainer = User.by_email(TRAINER_EMAIL)
    if client is None or client.organisation is None or staff is None or trainer is None:
        return  # the accounts seeder did not run
    course = _inhouse_course()
    today_client = User.by_email(TODAY_CLIENT_EMAIL)
    if today_client is not None and today_client.organisation is not None:
        _session_today(course, today_client, staff, trainer)
    exists = db.session.scalar(
        select(InhouseBooking.id).where(InhouseBooking.organisation_id == client.organisation_id)
    )
    if exists:
        return
    drafted = _request(course, client, day_offset=40, participants=25)
    _proposal(drafted, staff, trainer, day_offset=41, send=False)
    waiting = _request(course, client, day_offset=50, participants=30)
    _proposal(waiting, staff, trainer, day_offset=52)
    scheduled = _request(course, client, day_offset=60, participants=35)
    _proposal(scheduled, staff, trainer, day_offset=61)
    proposals.accept_proposal(
        scheduled,
        by=client,
        version=1,
        po_number="4500012345",
        agreed_to_terms=True,
    )
    db.session.flush()
