"""Demo inhouse bookings for `flask seed-demo`: a fresh request, a proposal waiting for the
client, and a scheduled booking, all for Gemeente Utrecht (griffie@example.nl).

Runs after the accounts and the catalog seeders. Idempotent: it does nothing once the demo
organisation has inhouse bookings. When the catalog has no inhouse course yet (the catalog
seeder is absent), it creates the one course it needs.
"""

from datetime import time, timedelta
from decimal import Decimal

from sqlalchemy import select

from ...auth.models import User
from ...courses.models import Course
from ...extensions import db
from . import drafts, proposals, requests
from .models import InhouseBooking, local_datetime, today_amsterdam

CLIENT_EMAIL = "griffie@example.nl"
STAFF_EMAIL = "beheer@example.nl"
TRAINER_EMAIL = "trainer@example.nl"


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


def seed() -> None:
    client = User.by_email(CLIENT_EMAIL)
    staff = User.by_email(STAFF_EMAIL)
    trainer = User.by_email(TRAINER_EMAIL)
    if client is None or client.organisation is None or staff is None or trainer is None:
        return  # the accounts seeder did not run
    exists = db.session.scalar(
        select(InhouseBooking.id).where(InhouseBooking.organisation_id == client.organisation_id)
    )
    if exists:
        return
    course = _inhouse_course()
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
