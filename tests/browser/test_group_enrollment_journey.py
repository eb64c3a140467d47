"""A council clerk enrolls three colleagues in Chromium; each colleague is a participant of their
own all the way: an invite through real SMTP, a row on the trainer's sheet, a certificate, an
evaluation request and the invitation to the alumni pool (issue #18, named seats)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bbtraining.auth import services as auth_services
from bbtraining.bookings.attendance import completion
from bbtraining.bookings.attendance.certificates import Certificate
from bbtraining.bookings.attendance.models import AttendanceRecord
from bbtraining.bookings.attendance.qualifications import Qualification
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.bookings.evaluation.models import EvaluationRequest
from bbtraining.bookings.evaluation.tasks import send_due_evaluation_requests
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from bbtraining.notifications import tasks as outbox
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

COLLEAGUES = [
    ("Anna Bakker", "anna@zeist.example.nl"),
    ("Bram Claes", "bram@zeist.example.nl"),
    ("Chaima El Amrani", "chaima@zeist.example.nl"),
]


def _delivered(smtp_server, count):
    outbox.deliver_due_now()
    return smtp_server.wait_for(count, timeout=30)


def _to(messages, email):
    return [message for recipients, message in messages if recipients == [email]]


def test_three_colleagues_each_get_invite_attendance_certificate_and_alumni_invitation(
    app, page, phone_page, make_edition, make_user, smtp_server
):
    trainer = make_user("trainer", name="Tamara Trainer", email="trainer@example.nl")
    edition = make_edition(capacity=6, days=1, start_in_days=10, trainer=trainer)
    booker = make_user("client", name="Greet Griffier", email="griffie@zeist.example.nl")

    # The clerk enrolls three colleagues, not herself, paying by invoice.
    browser_login(page, booker)
    page.goto(f"{page.base_url}/editions/{edition.id}/enroll")
    page.get_by_label("Aantal deelnemers").fill("3")
    page.get_by_label("Ik neem zelf niet deel").check()
    for number, (name, email) in enumerate(COLLEAGUES, start=1):
        page.get_by_label(f"Naam collega {number}").fill(name)
        page.get_by_label(f"E-mail collega {number}").fill(email)
    page.get_by_label("Organisatie (optioneel)").fill("Gemeente Zeist")
    page.get_by_label("Straat en huisnummer").fill("Het Rond 1")
    page.get_by_label("Postcode").fill("3701 HS")
    page.get_by_label("Plaats", exact=True).fill("Zeist")
    page.get_by_label("Ik ga akkoord met de annuleringsvoorwaarden").check()
    page.get_by_role("button", name=re.compile("Inschrijven voor")).click()
    page.wait_for_url(re.compile(r"/enrollments/\d+$"))
    assert page.locator("#enrollment-status").inner_text() == "Bevestigd"
    seats = page.locator("#seats")
    for name, _email in COLLEAGUES:
        assert seats.locator(f"input[value='{name}']").count() == 1

    db.session.expire_all()
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.seats == 3 and enrollment.invoice.buyer_name == "Gemeente Zeist"
    assert all(name in enrollment.invoice.lines[0].description for name, _ in COLLEAGUES)

    # Each colleague receives their own calendar invite, through SMTP; the clerk gets none.
    messages = _delivered(smtp_server, 5)  # 3 invites, the confirmation and the invoice mail
    for _name, email in COLLEAGUES:
        [invite] = _to(messages, email)
        [ics] = [p for p in invite.walk() if p.get_content_type() == "text/calendar"]
        text = ics.get_content()
        assert "METHOD:REQUEST" in text and f"mailto:{email}" in text.replace("\r\n ", "")
    assert all("text/calendar" not in str(m) for m in _to(messages, booker.email))

    # The day itself: the trainer marks each of them present on a phone.
    session = edition.sessions[0]
    session.starts_at = utcnow() - timedelta(minutes=10)
    session.ends_at = session.starts_at + timedelta(hours=3)
    db.session.commit()
    browser_login(phone_page, trainer)
    phone_page.goto(f"{phone_page.base_url}/attendance/sessions/{session.id}")
    rows = phone_page.locator("li.attendance-row")
    assert rows.count() == 3
    for name, _email in COLLEAGUES:
        row = rows.filter(has_text=name)
        row.get_by_role("button", name="Aanwezig", exact=True).tap()
    phone_page.locator("#sheet-counts").get_by_text("3 aanwezig").wait_for()
    db.session.expire_all()
    marked = db.session.scalars(select(AttendanceRecord)).all()
    assert sorted((r.email, r.status) for r in marked) == [
        (email, "present") for _name, email in sorted(COLLEAGUES, key=lambda c: c[1])
    ]

    # After the training: completion, a certificate each, then (settled) mailed with the
    # invitation to the alumni pool, and an evaluation request each.
    session.starts_at = utcnow() - timedelta(hours=4)
    session.ends_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert completion.run_due_completions() == 1
    db.session.commit()
    certificates = db.session.scalars(select(Certificate)).all()
    assert sorted(c.completion.email for c in certificates) == sorted(e for _n, e in COLLEAGUES)
    for certificate in certificates:
        certificate.valid_since -= completion.SETTLE_DELAY
    db.session.commit()
    assert completion.settle_completions() == 3
    assert send_due_evaluation_requests(utcnow() + timedelta(hours=3)) == 1  # one round
    db.session.commit()
    asked = db.session.scalars(select(EvaluationRequest.email)).all()
    assert sorted(asked) == sorted(email for _name, email in COLLEAGUES)
    messages = _delivered(smtp_server, 5 + 3 * 3)
    for _name, email in COLLEAGUES:
        subjects = sorted(m["Subject"] for m in _to(messages, email))
        assert any(s.startswith("Uw certificaat") for s in subjects), subjects
        assert "Sluit u aan bij de alumnipool" in subjects, subjects
        assert len(subjects) == 4, subjects  # invite, certificate, alumni, evaluation
        [certificate_mail] = [m for m in _to(messages, email) if "certificaat" in m["Subject"]]
        pdfs = [p for p in certificate_mail.iter_attachments() if "pdf" in p.get_content_type()]
        assert len(pdfs) == 1

    # Anna makes an account with her address: the training becomes her qualification and she
    # is invited to publish her profile.
    with app.test_request_context():  # the verification mail's link is built from a request
        anna = auth_services.register_user(
            name="Anna Bakker",
            email="anna@zeist.example.nl",
            password="zeven groene bomen langs de weg",
        )
        db.session.commit()
    auth_services.verify_email(auth_services.make_verify_token(anna))
    db.session.commit()
    qualification = db.session.scalar(select(Qualification))
    assert qualification.user_id == anna.id and qualification.edition_id == edition.id
    messages = _delivered(smtp_server, 5 + 3 * 3 + 2)  # verification, then the alumni invite
    assert "Publiceer uw profiel in de alumnipool" in [
        m["Subject"] for m in _to(messages, "anna@zeist.example.nl")
    ]
