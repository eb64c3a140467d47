"""Staff pages under /admin/courses/: authorization, forms, and every refusal over HTTP."""

import re
from datetime import UTC
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bbtraining.courses.models import Course, Edition, TrainingSession
from bbtraining.extensions import db
from tests.courses.conftest import in_days


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin(make_user, login):
    user = make_user("admin", name="Sanne de Vries")
    login(user)
    return user


def _admin_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("courses_admin.")]
    assert len(rules) >= 15, "the admin blueprint lost its routes"
    return rules


def _url(rule) -> str:
    return re.sub(r"<int:\w+>", "1", rule.rule)


@pytest.mark.parametrize("role", ["facilitator", "trainer", "client"])
def test_every_admin_url_is_forbidden_for_non_admins(
    app, client, make_user, login, role, make_edition
):
    edition = make_edition()  # id 1 exists, so a 403 is not a 404 in disguise
    assert edition.id == 1 and edition.course_id == 1 and edition.sessions[0].id == 1
    login(make_user(role))
    for rule in _admin_rules(app):
        for method in {"GET", "POST"} & rule.methods:
            # POSTs carry a valid CSRF token: the refusal must come from the role check.
            if method == "POST":
                response = client.post(_url(rule), data={})
            else:
                response = client.get(_url(rule))
            assert response.status_code == 403, (rule.rule, method, response.status_code)
            assert "Geen toegang" in _text(response)
    assert db.session.get(Edition, 1).status == "scheduled"


def test_every_admin_url_sends_anonymous_visitors_to_login(app, client):
    for rule in _admin_rules(app):
        for method in {"GET", "POST"} & rule.methods:
            if method == "POST":
                response = client.post(_url(rule), data={})
            else:
                response = client.get(_url(rule))
            assert response.status_code == 302, (rule.rule, method)
            assert response.headers["Location"].startswith("/auth/login"), rule.rule


def test_admin_pages_render(client, admin, make_edition, make_user):
    trainer = make_user("trainer", name="Joost Bakker")
    edition = make_edition(trainers=[trainer])
    for url in [
        "/admin/courses/",
        "/admin/courses/new",
        f"/admin/courses/{edition.course_id}/edit",
        f"/admin/courses/{edition.course_id}/editions/new",
        f"/admin/courses/{edition.course_id}/editions/new?sessions=4",
        f"/admin/courses/{edition.course_id}/editions/new?sessions=abc",
        "/admin/courses/editions/",
        f"/admin/courses/editions/{edition.id}",
        f"/admin/courses/sessions/{edition.sessions[0].id}/move",
        "/admin/courses/trainers/",
        f"/admin/courses/trainers/{trainer.id}",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    form = _text(client.get(f"/admin/courses/{edition.course_id}/editions/new?sessions=4"))
    assert "sessions-3-day" in form and "sessions-4-day" not in form
    assert client.get("/admin/courses/999/edit").status_code == 404
    assert client.get(f"/admin/courses/trainers/{admin.id}").status_code == 404  # not a trainer


def test_admin_tile_shows_upcoming_editions_with_fill_rate(client, admin, make_edition):
    make_edition(capacity=16, seats_taken=12)
    page = _text(client.get("/admin/"))
    assert "12/16 bezet (75%)" in page
    assert 'href="/admin/courses/"' in page


# -- courses -------------------------------------------------------------------------------------
COURSE_FORM = {
    "title": "Masterclass loting",
    "slug": "",
    "kind": "masterclass",
    "audience": "civil-servants",
    "delivery": "both",
    "phases": ["verkenning", "voorbereiding"],
    "summary": "Alles over loting.",
    "description": "Eerste alinea.\n\nTweede alinea.",
    "learning_goals": "Doel een\nDoel twee",
    "duration_minutes": "240",
    "session_count": "1",
    "price_inhouse": "€ 2.450,50",
    "price_seat": "495",
    "vat_rate": "21",
    "max_group_size": "20",
    "completion_min_percent": "100",
}


def test_create_edit_and_publish_course(client, admin):
    response = client.post("/admin/courses/new", data=COURSE_FORM)
    assert response.status_code == 302
    course = db.session.scalar(select(Course))
    assert course.slug == "masterclass-loting" and not course.published
    assert course.price_inhouse == Decimal("2450.50") and course.price_seat == Decimal("495")
    assert course.phases == ["verkenning", "voorbereiding"]
    assert client.get("/courses/masterclass-loting").status_code == 200  # admin preview

    response = client.post(
        f"/admin/courses/{course.id}/edit", data={**COURSE_FORM, "title": "Masterclass loten"}
    )
    assert response.status_code == 302
    response = client.post(f"/admin/courses/{course.id}/publish", follow_redirects=True)
    assert "staat nu in de catalogus" in _text(response)
    db.session.expire_all()
    assert course.published and course.title == "Masterclass loten"
    client.post("/auth/logout")
    assert client.get("/courses/masterclass-loting").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "Dit veld is verplicht."),
        ({"phases": []}, "Kies minstens één fase."),
        ({"price_seat": "gratis"}, "Vul een bedrag in euro in"),
        ({"price_seat": "-5"}, "Vul een bedrag van 0 of meer in."),
        ({"price_seat": "12,345"}, "hoogstens twee cijfers achter de komma"),
        ({"max_group_size": "0"}, "groepsgrootte moet minstens 1"),
        ({"kind": "webinar"}, "Ongeldige keuze."),
        ({"slug": "Met Spaties"}, "kleine letters, cijfers en streepjes"),
        ({"duration_minutes": "tien"}, "Ongeldig getal."),
    ],
)
def test_course_form_refusals_change_nothing(client, admin, overrides, message):
    response = client.post("/admin/courses/new", data={**COURSE_FORM, **overrides})
    assert response.status_code == 400
    assert message in _text(response)
    assert _count(Course) == 0


def test_duplicate_slug_refused_over_http(client, admin, make_course):
    make_course(slug="masterclass-loting")
    response = client.post("/admin/courses/new", data={**COURSE_FORM, "slug": "masterclass-loting"})
    assert response.status_code == 400
    assert "Er bestaat al een training met het webadres masterclass-loting." in _text(response)
    assert _count(Course) == 1


def test_publish_without_price_refused_over_http(client, admin, make_course):
    course = make_course(delivery="inhouse", price_inhouse=None, published=False)
    response = client.post(f"/admin/courses/{course.id}/publish", follow_redirects=True)
    assert "Vul een prijs per sessie (inhouse) in voordat u deze training publiceert." in _text(
        response
    )
    db.session.expire_all()
    assert not db.session.get(Course, course.id).published


def test_publish_without_csrf_token_is_refused(client, admin, make_course):
    course = make_course(published=False)
    response = client.post(f"/admin/courses/{course.id}/publish", csrf=False)
    assert response.status_code == 400
    db.session.expire_all()
    assert not db.session.get(Course, course.id).published


# -- editions ------------------------------------------------------------------------------------
def _edition_form(**overrides):
    data = {
        "capacity": "14",
        "location": "Zwolle, Stadshuis",
        "online_url": "",
        "enrollment_deadline": "",
        "price_seat": "",
        "free_cancellation_days": "14",
        "late_refund_percent": "0",
        "cancellation_policy": "",
        "sessions-0-day": in_days(40).isoformat(),
        "sessions-0-start": "09:30",
        "sessions-0-end": "16:30",
        "sessions-1-day": in_days(41).isoformat(),
        "sessions-1-start": "09:30",
        "sessions-1-end": "16:30",
        "sessions-2-day": "",  # an unused row
        "sessions-2-start": "09:30",
        "sessions-2-end": "16:30",
    }
    data.update(overrides)
    return data


def test_schedule_multi_day_edition_over_http(client, admin, make_course, make_user):
    course = make_course(delivery="open")
    trainer = make_user("trainer", name="Joost Bakker")
    response = client.post(
        f"/admin/courses/{course.id}/editions/new",
        data=_edition_form(trainers=[str(trainer.id)], enrollment_deadline=f"{in_days(33)}T23:59"),
    )
    assert response.status_code == 302, _text(response)[:3000]
    edition = db.session.scalar(select(Edition))
    assert response.headers["Location"] == f"/admin/courses/editions/{edition.id}"
    assert len(edition.sessions) == 2 and edition.capacity == 14
    assert [s.local_start.strftime("%H:%M") for s in edition.sessions] == ["09:30", "09:30"]
    assert edition.sessions[0].starts_at.tzinfo == UTC
    assert edition.trainers == [trainer]
    assert (
        edition.enrollment_deadline.astimezone(edition.sessions[0].local_start.tzinfo).strftime(
            "%H:%M"
        )
        == "23:59"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sessions-1-end": "08:00"}, "Sessie 2: de eindtijd moet na de begintijd liggen."),
        ({"capacity": "0"}, "De capaciteit moet minstens 1 zijn."),
        ({"capacity": ""}, "Vul het aantal plaatsen in."),
        ({"location": ""}, "Vul een locatie of een online link in."),
        ({"online_url": "zoom"}, "Vul een volledige link in"),
        ({"sessions-0-day": "", "sessions-1-day": ""}, "Plan minstens één sessie"),
        ({"sessions-0-day": "2020-01-01"}, "Sessie 1 ligt in het verleden."),
        ({"sessions-0-day": "31-02-2027"}, "Ongeldige datum."),
        ({"sessions-1-start": ""}, "Vul een begin- en eindtijd in."),
    ],
)
def test_schedule_refusals_over_http_change_nothing(client, admin, make_course, overrides, message):
    course = make_course(delivery="open")
    response = client.post(
        f"/admin/courses/{course.id}/editions/new", data=_edition_form(**overrides)
    )
    assert response.status_code == 400
    assert message in _text(response)
    assert _count(Edition) == 0 and _count(TrainingSession) == 0


def test_double_booked_trainer_refused_over_http(
    client, admin, make_course, make_user, make_inhouse_session
):
    trainer = make_user("trainer", name="Joost Bakker")
    make_inhouse_session(trainer, day=41, start="15:00", end="17:00")
    course = make_course(delivery="open")
    response = client.post(
        f"/admin/courses/{course.id}/editions/new", data=_edition_form(trainers=[str(trainer.id)])
    )
    assert response.status_code == 400
    assert "Joost Bakker geeft op dat moment al een sessie" in _text(response)
    assert _count(Edition) == 0


def test_edition_tools_over_http(client, admin, make_edition, make_user):
    trainer = make_user("trainer", name="Amira El Idrissi")
    edition = make_edition(days=(30, 31), capacity=12, seats_taken=7)
    base = f"/admin/courses/editions/{edition.id}"

    response = client.post(base + "/capacity", data={"capacity": "6"})
    assert response.status_code == 400
    assert "Er zijn al 7 plaatsen bezet" in _text(response)
    response = client.post(base + "/capacity", data={"capacity": "0"})
    assert response.status_code == 400 and "minstens 1" in _text(response)
    response = client.post(base + "/capacity", data={"capacity": "veel"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).capacity == 12
    assert client.post(base + "/capacity", data={"capacity": "16"}).status_code == 302

    assert client.post(base + "/trainers", data={"trainers": [str(trainer.id)]}).status_code == 302
    response = client.post(base + "/trainers", data={"trainers": [str(admin.id)]})
    assert response.status_code == 400  # not offered as a choice: not a trainer

    response = client.post(base + "/duplicate", data={"first_day": in_days(30).isoformat()})
    assert response.status_code == 400 and "andere startdatum" in _text(response)
    response = client.post(base + "/duplicate", data={"first_day": in_days(90).isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    copy = db.session.scalars(select(Edition).order_by(Edition.id.desc())).first()
    assert response.headers["Location"] == f"/admin/courses/editions/{copy.id}"
    assert copy.capacity == 16 and copy.trainers == [trainer]
    assert [s.local_start.date() for s in copy.sessions] == [in_days(90), in_days(91)]

    response = client.post(base + "/cancel", data={"reason": "Te weinig aanmeldingen"})
    assert response.status_code == 302
    db.session.expire_all()
    original = db.session.get(Edition, edition.id)
    assert original.status == "cancelled" and all(s.is_cancelled for s in original.sessions)
    response = client.post(base + "/cancel", data={"reason": "nogmaals"})
    assert response.status_code == 400 and "Alleen een geplande editie" in _text(response)
    assert "Te weinig aanmeldingen" in _text(client.get(base))


def test_move_and_cancel_session_over_http(client, admin, make_edition):
    edition = make_edition(days=(30, 31))
    session = edition.sessions[1]
    url = f"/admin/courses/sessions/{session.id}"

    response = client.post(
        url + "/move",
        data={"day": in_days(32).isoformat(), "start": "17:00", "end": "10:00", "location": ""},
    )
    assert response.status_code == 400
    assert "De eindtijd moet na de begintijd liggen." in _text(response)
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).revision == 0

    response = client.post(
        url + "/move",
        data={
            "day": in_days(32).isoformat(),
            "start": "10:00",
            "end": "15:00",
            "location": "Zaal 4",
            "note": "De zaal was dubbel geboekt.",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    moved = db.session.get(TrainingSession, session.id)
    assert moved.revision == 1 and moved.location == "Zaal 4"
    assert moved.local_start.strftime("%Y-%m-%d %H:%M") == f"{in_days(32)} 10:00"
    assert moved.change_note == "De zaal was dubbel geboekt."

    assert client.post(url + "/cancel", data={"reason": "Ziek"}).status_code == 302
    response = client.post(url + "/cancel", data={"reason": "Nogmaals"})
    assert response.status_code == 400 and "Deze sessie is al geannuleerd." in _text(response)
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).revision == 2


def test_trainer_bio_edit_shows_on_course_page(client, admin, make_edition, make_user):
    trainer = make_user("trainer", name="Joost Bakker")
    edition = make_edition(trainers=[trainer])
    edition.course.published = True
    db.session.commit()
    response = client.post(
        f"/admin/courses/trainers/{trainer.id}",
        data={"bio": "Oud-griffier, begeleidde drie beraden."},
    )
    assert response.status_code == 302
    page = _text(client.get(f"/courses/{edition.course.slug}"))
    assert "Oud-griffier, begeleidde drie beraden." in page


def test_control_characters_in_forms_never_cause_a_500(client, admin):
    response = client.post(
        "/admin/courses/new",
        data={**COURSE_FORM, "title": "Master\x00class", "description": "Een\x00\nregel"},
    )
    assert response.status_code == 302
    course = db.session.scalar(select(Course))
    assert course.title == "Masterclass" and course.description == "Een\nregel"
