"""Factories for inhouse-booking tests: the `inhouse` fixture hands out courses, clients and
bookings in each state (request, proposal, scheduled, delivered, invoiced)."""

from datetime import time, timedelta
from decimal import Decimal

import pytest

from bbtraining.bookings.inhouse import delivery, drafts, invoicing, proposals, requests
from bbtraining.bookings.inhouse.models import local_datetime, today_amsterdam
from bbtraining.db_types import utcnow
from bbtraining.extensions import db


class InhouseKit:
    def __init__(self, make_course, make_user, make_organisation):
        self.make_course = make_course
        self.make_user = make_user
        self.make_organisation = make_organisation
        self._staff = None
        self._trainer = None

    def course(self, **fields):
        defaults = {
            "kind": "inspiratiesessie",
            "audience": "council",
            "delivery": "inhouse",
            "price_inhouse": Decimal("1450.00"),
            "duration_minutes": 120,
            "qualifies_for_alumni": False,
            "title": "Inspiratiesessie burgerberaad",
        }
        return self.make_course(**{**defaults, **fields})

    @property
    def staff(self):
        if self._staff is None:
            self._staff = self.make_user("admin", email="staf@example.nl", name="Sanne Staf")
        return self._staff

    @property
    def trainer(self):
        if self._trainer is None:
            self._trainer = self.make_user(
                "trainer", email="trainer@example.nl", name="Joost Trainer"
            )
        return self._trainer

    def client_user(self, organisation=None, **kwargs):
        organisation = organisation or self.make_organisation()
        return self.make_user("client", organisation=organisation, **kwargs)

    def request_data(self, **overrides) -> requests.RequestData:
        today = today_amsterdam()
        data = {
            "contact_name": "Pieter van Dijk",
            "contact_email": "griffie@utrecht.example.nl",
            "expected_participants": 25,
            "delivery_mode": "venue",
            "venue": "Stadhuis, Stadsplateau 1, Utrecht",
            "date_options": [
                (today + timedelta(days=30), "evening"),
                (today + timedelta(days=37), "afternoon"),
            ],
            "assembly_phase": "verkenning",
            "assembly_context": "Een burgerberaad over de energietransitie.",
            "questions": "Kan de raad ook meedoen?",
        }
        data.update(overrides)
        return requests.RequestData(**data)

    def booking(self, client=None, course=None, **overrides):
        client = client or self.client_user()
        course = course or self.course()
        overrides.setdefault("contact_email", client.email)
        overrides.setdefault("contact_name", client.name)
        booking, _new = requests.submit_request(course, self.request_data(**overrides), user=client)
        db.session.commit()
        return booking

    def session_draft(self, days: int = 30, start=time(19, 30), hours: int = 2, trainer=None):
        day = today_amsterdam() + timedelta(days=days)
        starts = local_datetime(day, start)
        return drafts.SessionDraft(
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours),
            trainer=trainer or self.trainer,
            location="Stadhuis Utrecht",
        )

    def lines(self):
        return [
            drafts.LineDraft("session-fee", "Inspiratiesessie", Decimal(1), Decimal("1450.00")),
            drafts.LineDraft("travel", "Reiskosten", Decimal(1), Decimal("45.00")),
            drafts.LineDraft("materials", "Materialen", Decimal(25), Decimal("4.50")),
        ]

    def proposal(self, booking, *, sessions=None, valid_days: int = 14, **kwargs):
        proposal = proposals.send_proposal(
            booking,
            by=kwargs.pop("by", self.staff),
            sessions=sessions or [self.session_draft()],
            lines=kwargs.pop("lines", self.lines()),
            valid_until=today_amsterdam() + timedelta(days=valid_days),
            vat_rate=kwargs.pop("vat_rate", Decimal("21.00")),
            terms=kwargs.pop("terms", "Annuleren kan tot vier weken vooraf."),
            note=kwargs.pop("note", ""),
        )
        db.session.commit()
        return proposal

    def accept(self, booking, by=None, po: str = "PO-4500012345"):
        sessions = proposals.accept_proposal(
            booking,
            by=by or booking.requested_by,
            version=booking.current_proposal.version,
            po_number=po,
            agreed_to_terms=True,
        )
        db.session.commit()
        return sessions

    def scheduled(self, client=None, **kwargs):
        booking = self.booking(client)
        self.proposal(booking, **kwargs)
        self.accept(booking)
        return booking

    def delivered(self, client=None, booking=None):
        """A booking whose sessions have ended (their times moved into the past)."""
        booking = booking or self.scheduled(client)
        shift = max(s.ends_at for s in booking.sessions) - utcnow() + timedelta(days=1)
        for session in booking.sessions:
            session.starts_at = session.starts_at - shift
            session.ends_at = session.ends_at - shift
        db.session.commit()
        delivery.mark_delivered(booking, by=self.staff)
        db.session.commit()
        return booking

    def invoiced(self, client=None):
        booking = self.delivered(client)
        invoicing.issue_booking_invoice(
            booking, by=self.staff, lines=invoicing.invoice_lines_from_proposal(booking)
        )
        db.session.commit()
        return booking


@pytest.fixture
def inhouse(make_course, make_user, make_organisation):
    return InhouseKit(make_course, make_user, make_organisation)
