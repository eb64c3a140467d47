"""What users type into titles and names reaches mail subjects: one line, never a new header."""

from bbtraining.extensions import db
from bbtraining.notifications.mail import build_message
from bbtraining.notifications.services import SUBJECT_MAX, queue_mail


class _User:
    name = "Eva"
    email = "eva@example.nl"


def _queue(subject: str):
    row = queue_mail(
        to="eva@example.nl",
        subject=subject,
        template="auth/verify",
        context={"user": _User(), "link": "http://x/verify"},
    )
    db.session.commit()
    return row


def test_a_line_break_in_a_subject_adds_no_header(app):
    with app.test_request_context():
        row = _queue("Uitnodiging: Training\r\nBcc: iemand@evil.example\nX: y")
    assert row.subject == "Uitnodiging: Training Bcc: iemand@evil.example X: y"
    message = build_message(row)  # refused at delivery before: a header may not hold \n
    assert message["Bcc"] is None and message["X"] is None
    assert "\n" not in message["Subject"]


def test_a_long_title_fits_the_subject_column(app):
    with app.test_request_context():
        row = _queue("Uitnodiging: " + "lang " * 100)
    assert len(row.subject) == SUBJECT_MAX and row.subject.endswith("…")
