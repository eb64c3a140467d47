"""The advisor's own pages: weekly hours, days off and extra hours, rules for calls; and the
admin who makes someone an advisor. Bad input gets a Dutch message and changes nothing."""

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.advice.models import AdvisorDateOverride, AdvisorProfile
from bbtraining.audit import AuditEntry
from bbtraining.extensions import db
from tests import factories

EMPTY_ROWS = {f"rows-{i}-{part}": "" for i in range(14) for part in ("weekday", "starts", "ends")}


def hours_of(profile) -> list[tuple[int, str, str]]:
    db.session.expire_all()
    profile = db.session.get(AdvisorProfile, profile.id)
    return [(h.weekday, f"{h.starts:%H:%M}", f"{h.ends:%H:%M}") for h in profile.hours]


def rows(*given: tuple[str, str, str]) -> dict:
    data = dict(EMPTY_ROWS)
    for i, (weekday, starts, ends) in enumerate(given):
        data |= {f"rows-{i}-weekday": weekday, f"rows-{i}-starts": starts, f"rows-{i}-ends": ends}
    return data


RULES = {
    "active": "y",
    "call_minutes": "45",
    "buffer_before_minutes": "5",
    "buffer_after_minutes": "15",
    "min_notice_hours": "48",
    "horizon_days": "30",
    "max_calls_per_day": "3",
    "travel_buffer_minutes": "90",
    "meeting_url": "https://meet.example.nl/marieke",
}


@pytest.fixture
def advisor(make_advisor):
    return make_advisor(name="Marieke Hoekstra", hours=(("0", "09:00", "12:00"),))


@pytest.fixture
def page(advisor):
    return f"/admin/advies/adviseurs/{advisor.id}"


# -- the page ------------------------------------------------------------------------------------
def test_an_advisor_finds_their_page_from_the_menu(client, login, advisor, page):
    login(advisor.user)

    home = client.get("/account/")
    assert "Mijn beschikbaarheid" in home.get_data(as_text=True)
    response = client.get("/admin/advies/beschikbaarheid")
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    body = client.get(page).get_data(as_text=True)
    assert "Vaste uren per week" in body and 'value="09:00"' in body


def test_an_advisor_without_a_profile_starts_one(client, login, make_user):
    user = make_user("advisor")
    login(user)

    assert "Beschikbaarheid instellen" in client.get("/admin/advies/beschikbaarheid").get_data(
        as_text=True
    )
    response = client.post("/admin/advies/beschikbaarheid")

    profile = db.session.scalar(select(AdvisorProfile).where(AdvisorProfile.user_id == user.id))
    assert response.status_code == 302 and profile is not None
    assert profile.call_minutes == 30 and profile.min_notice_hours == 24


def test_another_advisors_page_is_a_404_and_an_admin_opens_any(
    client, login, make_advisor, make_user, advisor, page
):
    colleague = make_advisor()
    login(colleague.user)
    assert client.get(page).status_code == 404
    assert client.post(f"{page}/uren", data=rows(("1", "09:00", "10:00"))).status_code == 404
    assert hours_of(advisor) == [(0, "09:00", "12:00")]

    client.post("/auth/logout")
    login(make_user("admin"))
    assert "Marieke Hoekstra" in client.get(page).get_data(as_text=True)


def test_other_roles_are_refused(client, login, make_user, page):
    login(make_user("trainer"))

    assert client.get(page).status_code == 403
    assert client.get("/admin/advies/adviseurs/").status_code == 403


# -- weekly hours ----------------------------------------------------------------------------------
def test_saving_weekly_hours_replaces_them(client, login, advisor, page):
    login(advisor.user)

    response = client.post(
        f"{page}/uren",
        data=rows(("1", "13:00", "17:00"), ("1", "09:00", "12:00"), ("3", "10:00", "11:30")),
    )

    assert response.status_code == 302
    assert hours_of(advisor) == [
        (1, "09:00", "12:00"),
        (1, "13:00", "17:00"),
        (3, "10:00", "11:30"),
    ]
    assert db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "advisor.hours")
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            [("0", "12:00", "09:00")],
            "Op maandag moet de eindtijd na de begintijd liggen.",
        ),
        (
            [("2", "09:00", "12:00"), ("2", "11:00", "14:00")],
            "Op woensdag overlappen twee blokken; maak er één blok van.",
        ),
        ([("0", "09:00", "")], "Vul een begin- en eindtijd in."),
        ([("", "09:00", "12:00")], "Kies een dag van de week."),
    ],
)
def test_bad_hours_are_refused_and_nothing_changes(client, login, advisor, page, given, message):
    login(advisor.user)

    response = client.post(f"{page}/uren", data=rows(*given))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert hours_of(advisor) == [(0, "09:00", "12:00")]


def test_a_time_that_is_no_time_is_refused_in_dutch(client, login, advisor, page):
    login(advisor.user)

    response = client.post(f"{page}/uren", data=rows(("0", "25:00", "26:00")))

    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "Not a valid" not in body
    assert "Controleer de gemarkeerde velden." in body
    assert hours_of(advisor) == [(0, "09:00", "12:00")]


# -- rules -----------------------------------------------------------------------------------------
def test_saving_the_rules(client, login, advisor, page):
    login(advisor.user)

    assert client.post(f"{page}/regels", data=RULES).status_code == 302

    db.session.refresh(advisor)
    assert (advisor.call_minutes, advisor.buffer_before_minutes, advisor.buffer_after_minutes) == (
        45,
        5,
        15,
    )
    assert (advisor.min_notice_hours, advisor.horizon_days, advisor.max_calls_per_day) == (
        48,
        30,
        3,
    )
    assert advisor.travel_buffer_minutes == 90
    assert advisor.meeting_url == "https://meet.example.nl/marieke"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("buffer_before_minutes", "-5", "Vul een getal van 0 tot 240 minuten in."),
        ("call_minutes", "0", "Een gesprek duurt tussen 5 en 480 minuten."),
        ("max_calls_per_day", "-1", "Vul een getal van 1 tot 20 gesprekken in."),
        ("horizon_days", "", "Dit veld is verplicht."),
        (
            "meeting_url",
            "http://meet.example.nl",
            "Vul een volledige link in, beginnend met https://.",
        ),
    ],
)
def test_bad_rules_are_refused_and_nothing_changes(
    client, login, advisor, page, field, value, message
):
    login(advisor.user)

    response = client.post(f"{page}/regels", data=RULES | {field: value})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.refresh(advisor)
    assert advisor.call_minutes == 30 and advisor.meeting_url is None


def test_a_post_without_the_csrf_token_changes_nothing(client, login, advisor, page):
    login(advisor.user)

    response = client.post(f"{page}/regels", data=RULES, csrf=False)

    assert response.status_code == 400
    db.session.refresh(advisor)
    assert advisor.call_minutes == 30


# -- days off and extra hours ----------------------------------------------------------------------
def test_adding_and_removing_a_day_off(client, login, advisor, page):
    login(advisor.user)
    day = factories.in_days(7)

    response = client.post(
        f"{page}/afwijkingen", data={"day": day.isoformat(), "kind": "off", "note": "Congres"}
    )

    assert response.status_code == 302
    [override] = db.session.scalars(select(AdvisorDateOverride)).all()
    assert (override.day, override.kind, override.whole_day) == (day, "off", True)
    assert "Congres" in client.get(page).get_data(as_text=True)

    assert client.post(f"{page}/afwijkingen/{override.id}/verwijderen").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(AdvisorDateOverride)) == 0


def test_extra_hours_are_kept_with_their_times(client, login, advisor, page):
    login(advisor.user)

    client.post(
        f"{page}/afwijkingen",
        data={
            "day": factories.in_days(5).isoformat(),
            "kind": "extra",
            "starts": "18:00",
            "ends": "20:00",
        },
    )

    [override] = db.session.scalars(select(AdvisorDateOverride)).all()
    assert (override.starts, override.ends) == (time(18), time(20))


@pytest.mark.parametrize(
    ("data", "in_days", "message"),
    [
        ({"kind": "extra"}, 3, "Vul de begin- en eindtijd van de extra uren in."),
        (
            {"kind": "off", "starts": "12:00", "ends": "10:00"},
            3,
            "De eindtijd moet na de begintijd liggen.",
        ),
        ({"kind": "off", "starts": "12:00"}, 3, "Vul een begin- én eindtijd in"),
        ({"kind": "off"}, -1, "Kies een datum vanaf vandaag."),
        ({"kind": "off"}, None, "Dit veld is verplicht."),
    ],
)
def test_bad_overrides_are_refused_and_nothing_changes(
    client, login, advisor, page, data, in_days, message
):
    login(advisor.user)
    day = "" if in_days is None else factories.in_days(in_days).isoformat()

    response = client.post(f"{page}/afwijkingen", data=data | {"day": day})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AdvisorDateOverride)) == 0


def test_another_advisors_override_cannot_be_removed(client, login, make_advisor, advisor, page):
    colleague = make_advisor()
    colleague.overrides.append(
        AdvisorDateOverride(day=factories.in_days(3) + timedelta(days=1), kind="off")
    )
    db.session.commit()
    other = colleague.overrides[0]
    login(advisor.user)

    assert client.post(f"{page}/afwijkingen/{other.id}/verwijderen").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AdvisorDateOverride)) == 1


# -- making someone an advisor ---------------------------------------------------------------------
def test_an_admin_makes_a_trainer_an_advisor(client, login, make_user):
    trainer = make_user("trainer", email="joost@example.nl", name="Joost Bakker")
    login(make_user("admin"))

    response = client.post("/admin/advies/adviseurs/", data={"email": " Joost@example.nl "})

    profile = db.session.scalar(select(AdvisorProfile).where(AdvisorProfile.user_id == trainer.id))
    assert response.status_code == 302 and profile is not None
    db.session.refresh(trainer)
    assert trainer.is_advisor
    assert "Joost Bakker" in client.get("/admin/advies/adviseurs/").get_data(as_text=True)


def test_an_unknown_address_is_said_plainly(client, login, make_user):
    login(make_user("admin"))

    response = client.post("/admin/advies/adviseurs/", data={"email": "niemand@example.nl"})

    assert response.status_code == 400
    assert "Er is geen account met dit e-mailadres." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AdvisorProfile)) == 0


# -- the demo ------------------------------------------------------------------------------------
def test_the_demo_has_an_advisor_with_hours_and_calls(app, client):
    from bbtraining.advice.models import AdviceCall
    from bbtraining.auth.demo import DEMO_PASSWORD
    from bbtraining.auth.models import User

    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "adviseur@example.nl" in result.output
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0  # again: no duplicates

    db.session.expire_all()
    marieke = User.by_email("adviseur@example.nl")
    profile = db.session.scalar(select(AdvisorProfile).where(AdvisorProfile.user_id == marieke.id))
    assert len(profile.hours) == 8
    statuses = sorted(
        db.session.scalars(select(AdviceCall.status).where(AdviceCall.advisor_id == profile.id))
    )
    assert statuses == ["booked", "held", "no_show"]
    assert User.by_email("trainer@example.nl").is_advisor
    client.post("/auth/login", data={"email": marieke.email, "password": DEMO_PASSWORD})
    assert "Vaste uren per week" in client.get(f"/admin/advies/adviseurs/{profile.id}").get_data(
        as_text=True
    )
