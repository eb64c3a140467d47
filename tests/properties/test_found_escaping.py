"""User text in the formats we write besides HTML pages: calendar files, JSON-LD, mail bodies.

Each format must carry the text as text: a line break in a title adds no calendar property, a
`</script>` in a course title does not end the JSON-LD script element, an HTML mail escapes it.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bbtraining.notifications.calendar import CalendarEvent, build_calendar

INJECTIONS = [
    "Training\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:x",
    "a;b,c\\d\nSUMMARY:tweede",
    "</script><script>alert(1)</script>",
]
START = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(text=st.one_of(st.sampled_from(INJECTIONS), st.text(min_size=1, max_size=80)))
def test_calendar_text_stays_in_its_property(text):
    event = CalendarEvent(
        uid="session-1@bbtraining",
        sequence=0,
        start=START,
        end=START + timedelta(hours=2),
        summary=text,
        description=text,
        location=text,
        organizer_email="info@bbtraining.example",
        attendee_email="deelnemer@example.org",
        attendee_name=text,
    )
    data = build_calendar([event], method="REQUEST")
    events = Calendar.from_ical(data).walk("VEVENT")
    assert len(events) == 1
    (parsed,) = events
    assert str(parsed["UID"]) == "session-1@bbtraining"
    attendees = parsed.get("ATTENDEE")
    assert not isinstance(attendees, list)  # no second attendee slipped in

    # Line endings aside (iCalendar has one kind), the text comes back as it went in.
    def same(value):
        return str(value).replace("\r\n", "\n").replace("\r", "\n") == text.replace(
            "\r\n", "\n"
        ).replace("\r", "\n")

    assert same(parsed["SUMMARY"]) and same(parsed["LOCATION"])


def test_jsonld_cannot_end_its_script_element(client, app):
    from bbtraining.courses.models import Course
    from bbtraining.extensions import db

    course = Course(
        slug="script-in-titel",
        title="</script><script>alert(1)</script>",
        kind="masterclass",
        audience="civil-servants",
        delivery="open",
        summary="<!-- </script> -->",
        published=True,
    )
    course.phases = ["verkenning"]
    db.session.add(course)
    db.session.commit()
    body = client.get("/courses/script-in-titel").text
    script = body.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in script and "alert(1)" in script  # the title is there, as \u003c escapes


def test_html_mails_escape_user_text(app):
    from bbtraining.extensions import db
    from bbtraining.notifications.services import queue_mail

    class User:
        name = first_name = "<b>Eva</b>"
        email = "eva@example.nl"

    with app.test_request_context():
        row = queue_mail(
            to=User(),
            subject="<script>x</script>",
            template="auth/verify",
            context={"user": User(), "link": "http://x/verify"},
        )
        db.session.commit()
    assert "<b>Eva</b>" in row.text_body  # the text part is text
    assert "<b>Eva</b>" not in row.html_body and "<script>x" not in row.html_body
    assert "&lt;b&gt;Eva&lt;/b&gt;" in row.html_body and "&lt;script&gt;x" in row.html_body
