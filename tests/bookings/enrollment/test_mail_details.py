"""Issue 15, item 14: what the enrollment mails and the page after enrolling say is exact."""

import re
from email import policy
from email.parser import BytesParser

from sqlalchemy import select

from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.courses.models import AMSTERDAM
from bbtraining.extensions import db
from bbtraining.notifications.mail import build_message
from tests.conftest import outbox_to


def _enroll(client, make_edition, make_user, login, billing_form):
    edition = make_edition(days=1)
    login(make_user("facilitator", email="eva@example.nl"))
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form())
    assert response.status_code == 302
    return edition, response


def test_invite_shows_a_plain_time_range(client, make_edition, make_user, login, billing_form):
    edition, _ = _enroll(client, make_edition, make_user, login, billing_form)
    session = edition.sessions[0]
    start = session.starts_at.astimezone(AMSTERDAM).strftime("%H:%M")
    end = session.ends_at.astimezone(AMSTERDAM).strftime("%H:%M")
    invite = next(m for m in outbox_to("eva@example.nl") if m.calendar_method == "REQUEST")
    assert f", {start}–{end}\n" in invite.text_body, invite.text_body
    assert "standaardtijd" not in invite.text_body and "zomertijd" not in invite.text_body
    assert not re.search(r"\d:\d\d:\d\d", invite.text_body)


def test_subjects_have_no_leading_space_in_the_delivered_mail(
    client, make_edition, make_user, login, billing_form
):
    _enroll(client, make_edition, make_user, login, billing_form)
    mails = outbox_to("eva@example.nl")
    assert mails
    for row in mails:
        assert row.subject == row.subject.strip()
        delivered = BytesParser(policy=policy.default).parsebytes(build_message(row).as_bytes())
        assert delivered["Subject"] == row.subject


def test_flash_after_enrolling_says_where_the_invoice_is(
    client, make_edition, make_user, login, billing_form
):
    _, response = _enroll(client, make_edition, make_user, login, billing_form)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "uw factuur downloadt u hieronder of via de link in die e-mail" in page
    assert "factuur staan in uw e-mail" not in page
    enrollment = db.session.scalar(select(Enrollment))
    # What the flash promises is true: the page links the invoice, the mail has a link too.
    assert f"/invoices/{enrollment.invoice.id}.pdf" in page
    confirmation = next(
        m for m in outbox_to("eva@example.nl") if m.subject.startswith("Inschrijving bevestigd")
    )
    assert f"/invoices/{enrollment.invoice.id}" in confirmation.text_body
    assert not confirmation.attachments
