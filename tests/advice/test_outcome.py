"""After the call: held or missed, the outcome (notes for staff only, phase, next step) and what
the client is sent; the staff list of calls; the reminder the day before, once."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bbtraining.advice import tasks
from bbtraining.advice.models import AdviceCall
from bbtraining.audit import AuditEntry
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.conftest import outbox_to


@pytest.fixture
def held_call(make_advisor, make_call):
    advisor = make_advisor(name="Anke Adviseur")
    return make_call(advisor, utcnow().replace(microsecond=0) - timedelta(hours=2))


def _outcome(**overrides):
    data = {
        "outcome_phase": "voorbereiding",
        "next_step": "courses",
        "courses": [],
        "outcome_notes": "Wethouder twijfelt nog; griffier enthousiast.",
    }
    data.update(overrides)
    return data


def _reload(call):
    db.session.expire_all()
    return db.session.get(AdviceCall, call.id)


def test_the_advisor_suggests_courses_and_the_client_gets_them_as_links(
    client, login, held_call, make_course
):
    course = make_course(slug="masterclass-mandaat", title="Masterclass mandaat")
    course.phases = ["voorbereiding"]
    other = make_course(slug="training-uitvoering", title="Training uitvoering")
    other.phases = ["uitvoering"]
    db.session.commit()
    login(held_call.advisor.user)
    page = client.get(f"/admin/advies/gesprekken/{held_call.id}").get_data(as_text=True)
    assert "Masterclass mandaat" in page
    url = f"/admin/advies/gesprekken/{held_call.id}/uitkomst"
    response = client.post(url, data=_outcome(courses=[str(course.id)]))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    call = _reload(held_call)
    assert call.status == "held" and call.next_step == "courses"
    assert call.outcome_phase == "voorbereiding" and [c.id for c in call.suggested_courses] == [
        course.id
    ]
    assert call.outcome_notes.startswith("Wethouder") and call.outcome_recorded_at
    [mail] = [m for m in outbox_to(call.requester.email) if "vervolg" in m.subject.lower()]
    assert "http://bbtraining.test/courses/masterclass-mandaat" in mail.text_body
    assert "Wethouder" not in mail.text_body  # notes stay with staff
    assert db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "advice.outcome_recorded")
    )
    # Saving the same outcome again sends nothing new.
    client.post(url, data=_outcome(courses=[str(course.id)]))
    assert len([m for m in outbox_to(call.requester.email) if "vervolg" in m.subject.lower()]) == 1


def test_an_inhouse_next_step_links_to_a_prefilled_request(client, login, held_call, make_course):
    course = make_course(slug="inspiratie", title="Inspiratiesessie", delivery="inhouse")
    course.phases = ["verkenning"]
    db.session.commit()
    login(held_call.advisor.user)
    response = client.post(
        f"/admin/advies/gesprekken/{held_call.id}/uitkomst",
        data=_outcome(outcome_phase="verkenning", next_step="inhouse", courses=[str(course.id)]),
    )
    assert response.status_code == 303
    [mail] = [m for m in outbox_to(held_call.requester.email) if "vervolg" in m.subject.lower()]
    link = next(w for w in mail.text_body.split() if "/courses/inspiratie/request" in w)
    query = parse_qs(urlsplit(link).query)
    assert query["assembly_phase"] == ["verkenning"]
    assert query["assembly_context"] == ["Hoe beginnen we?"]
    client.post("/auth/logout")
    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query).get_data(as_text=True)
    assert "Hoe beginnen we?</textarea>" in page
    assert '<option selected value="verkenning">' in page


def test_a_strippenkaart_next_step_tells_the_client_and_staff(client, login, held_call):
    login(held_call.advisor.user)
    response = client.post(
        f"/admin/advies/gesprekken/{held_call.id}/uitkomst", data=_outcome(next_step="bundle")
    )
    assert response.status_code == 303
    [mail] = [m for m in outbox_to(held_call.requester.email) if "vervolg" in m.subject.lower()]
    assert "advies-strippenkaart" in mail.text_body
    [staff] = outbox_to("trainingen@bbtraining.localhost")
    assert "Strippenkaart" in staff.subject and held_call.organisation.name in staff.subject


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"next_step": "courses", "courses": []}, "Kies minstens één training om voor te stellen."),
        ({"outcome_phase": "afronding"}, "Ongeldige keuze."),
        ({"next_step": "taart"}, "Ongeldige keuze."),
        ({"next_step": "", "outcome_notes": "x" * 5001}, "Houd uw tekst korter dan"),
    ],
)
def test_a_bad_outcome_is_refused_and_changes_nothing(client, login, held_call, overrides, message):
    login(held_call.advisor.user)
    response = client.post(
        f"/admin/advies/gesprekken/{held_call.id}/uitkomst", data=_outcome(**overrides)
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    call = _reload(held_call)
    assert call.outcome_recorded_at is None and call.status == "booked"
    assert outbox_to(call.requester.email) == []


def test_no_outcome_before_the_call_or_for_a_cancelled_one(client, login, make_advisor, make_call):
    advisor = make_advisor()
    future = make_call(advisor, utcnow() + timedelta(days=3))
    cancelled = make_call(
        advisor, utcnow() - timedelta(days=3), status="cancelled", cancelled_at=utcnow()
    )
    login(advisor.user)
    for call, message in (
        (future, "Dit gesprek moet nog plaatsvinden."),
        (cancelled, "Dit gesprek is geannuleerd"),
    ):
        response = client.post(
            f"/admin/advies/gesprekken/{call.id}/uitkomst", data=_outcome(next_step="bundle")
        )
        assert response.status_code == 400 and message in response.get_data(as_text=True)
        assert _reload(call).outcome_recorded_at is None


def test_held_and_no_show_and_the_staff_list(client, login, held_call, make_advisor, make_call):
    login(held_call.advisor.user)
    url = f"/admin/advies/gesprekken/{held_call.id}/status"
    client.post(url, data={"status": "no_show"})
    assert _reload(held_call).status == "no_show"
    page = client.get("/admin/advies/gesprekken").get_data(as_text=True)
    assert "Niet verschenen (afgelopen 30 dagen)" in page
    assert held_call.organisation.name in page
    client.post(url, data={"status": "held"})
    assert _reload(held_call).status == "held"
    # Another advisor's call is not this advisor's to see.
    other = make_call(make_advisor(name="Bram Adviseur"), utcnow() + timedelta(days=1))
    assert client.get(f"/admin/advies/gesprekken/{other.id}").status_code == 404
    assert (
        client.post(
            f"/admin/advies/gesprekken/{other.id}/status", data={"status": "held"}
        ).status_code
        == 404
    )


def test_the_staff_list_shows_today_and_this_week_per_advisor(
    client, login, make_user, make_advisor, make_call
):
    anke, bram = make_advisor(name="Anke Adviseur"), make_advisor(name="Bram Adviseur")
    now = utcnow()
    make_call(anke, now + timedelta(minutes=5), organisation=None)
    far = make_call(bram, now + timedelta(days=40))
    login(make_user("admin"))
    page = client.get("/admin/advies/gesprekken").get_data(as_text=True)
    assert "Anke Adviseur" in page
    assert far.organisation.name not in page  # not this week
    login_page = client.get("/admin/advies/gesprekken")
    assert login_page.status_code == 200


def test_the_reminder_goes_out_the_day_before_exactly_once(make_advisor, make_call):
    advisor = make_advisor()
    now = utcnow()
    tomorrow = make_call(advisor, now + timedelta(hours=20), created_at=now - timedelta(days=5))
    just_booked = make_call(advisor, now + timedelta(hours=22), created_at=now - timedelta(hours=1))
    next_week = make_call(advisor, now + timedelta(days=7), created_at=now - timedelta(days=1))
    assert tasks.send_due_call_reminders(now) == 1
    assert tasks.send_due_call_reminders(now) == 0  # a second beat finds nothing to claim
    reminders = [
        m for m in outbox_to(tomorrow.requester.email) if m.subject.startswith("Herinnering")
    ]
    assert len(reminders) == 1 and "morgen" in reminders[0].text_body
    assert "/advies/gesprek/" in reminders[0].text_body
    assert outbox_to(just_booked.requester.email) == []  # they just got the confirmation
    assert outbox_to(next_week.requester.email) == []
    assert _reload(tomorrow).reminder_sent_at is not None


def test_the_reminder_runs_on_the_worker_beat(app):
    from bbtraining import task_modules

    assert "bbtraining.advice.tasks" in task_modules()
    entry = app.config["CELERY_BEAT_SCHEDULE"]["advice-call-reminders"]
    assert entry["task"] == "advice.send_call_reminders"


def test_a_moved_call_is_reminded_again_for_its_new_time(make_advisor, make_call):
    advisor = make_advisor()
    now = utcnow()
    call = make_call(advisor, now + timedelta(hours=20), created_at=now - timedelta(days=5))
    assert tasks.send_due_call_reminders(now) == 1
    start = call.starts_at + timedelta(hours=2)
    call.move_to(start, start + timedelta(minutes=30), start, start + timedelta(minutes=40))
    db.session.commit()
    assert tasks.send_due_call_reminders(now) == 1
    assert len([m for m in outbox_to(call.requester.email) if "Herinnering" in m.subject]) == 2
