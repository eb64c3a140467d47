"""With a real worker, broker and SMTP server: the request's mails arrive, and an invoice goes
to Stripe in the background after it was committed. Concurrent acceptance books only once."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.inhouse import proposals
from bbtraining.bookings.inhouse.models import InhouseBooking, today_amsterdam
from bbtraining.courses.models import TrainingSession
from bbtraining.extensions import db
from tests.stripe_stub import StripeStub

pytestmark = pytest.mark.services


def _wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_request_mails_reach_client_and_staff(inhouse, client, login, celery_worker, smtp_server):
    course = inhouse.course(slug="inspiratie")
    me = inhouse.client_user(email="pieter@utrecht.example.nl")
    login(me)
    today = today_amsterdam()
    response = client.post(
        f"/courses/{course.slug}/request",
        data={
            "contact_name": "Pieter",
            "contact_email": "pieter@utrecht.example.nl",
            "expected_participants": "20",
            "delivery_mode": "online",
            "date_1": (today + timedelta(days=30)).isoformat(),
            "part_1": "morning",
            "assembly_phase": "unknown",
        },
    )
    assert response.status_code == 302
    messages = smtp_server.wait_for(2)
    recipients = sorted(rcpt for rcpts, _msg in messages for rcpt in rcpts)
    assert recipients == ["pieter@utrecht.example.nl", "trainingen@bbtraining.localhost"]
    staff_mail = next(msg for rcpts, msg in messages if "trainingen" in rcpts[0])
    assert "Nieuwe inhouse-aanvraag" in staff_mail["Subject"]


@pytest.fixture
def stripe_for_worker(monkeypatch):
    """The stub, configured for this process and (through the environment) for the worker."""
    from flask import current_app

    with StripeStub() as stub:
        settings = {
            "STRIPE_SECRET_KEY": "sk_test_worker",
            "STRIPE_WEBHOOK_SECRET": "whsec_worker",
            "STRIPE_API_BASE": stub.url,
        }
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        old = {key: current_app.config.get(key) for key in settings}
        current_app.config.update(settings)
        yield stub
        current_app.config.update(old)


def test_invoice_reaches_stripe_through_the_worker(
    inhouse, client, login, stripe_for_worker, celery_worker
):
    booking = inhouse.delivered()
    login(inhouse.staff)
    data = {
        "lines-0-kind": "session-fee",
        "lines-0-description": "Inspiratiesessie",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "1450",
    }
    assert client.post(f"/admin/inhouse/{booking.id}/invoice", data=data).status_code == 302
    invoice_id = db.session.get(InhouseBooking, booking.id).invoice_id
    assert _wait_for(lambda: db.session.get(Invoice, invoice_id).stripe_invoice_id is not None), (
        celery_worker.log_path.read_text()[-3000:]
    )
    stripe_id = db.session.get(Invoice, invoice_id).stripe_invoice_id
    assert stripe_id in stripe_for_worker.sent_invoices


def test_two_colleagues_accepting_at_once_book_the_sessions_once(inhouse, app):
    booking = inhouse.booking()
    colleague = inhouse.client_user(booking.organisation)
    inhouse.proposal(booking)
    people = [booking.requested_by_id, colleague.id]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(user_id: int) -> None:
        from bbtraining.auth.models import User

        with app.app_context():
            try:
                mine = db.session.get(InhouseBooking, booking.id)
                user = db.session.get(User, user_id)
                _ = mine.current_proposal, mine.organisation, user.roles
                barrier.wait(timeout=10)
                proposals.accept_proposal(
                    mine, by=user, version=1, po_number=f"PO-{user_id}", agreed_to_terms=True
                )
                db.session.commit()
                outcomes.append("accepted")
            except Exception as exc:  # StaleDataError, or the move refused: either way, once
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(uid,)) for uid in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("accepted") == 1, outcomes
    db.session.expire_all()
    assert db.session.get(InhouseBooking, booking.id).status == "scheduled"
    assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 1
