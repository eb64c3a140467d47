"""Inputs the property tests found that broke a page, kept as plain examples."""

from urllib.parse import urlsplit

from tests.properties.test_bad_input import FormParser, plausible, row_counts
from tests.security.world import build_world


def _form(client, page: str, action_part: str):
    parser = FormParser(page)
    parser.feed(client.get(page).get_data(as_text=True))
    return next(f for f in parser.forms if action_part in urlsplit(f.action).path)


def _post(client, form, **overrides):
    data = {name: plausible(f, 1) for name, f in form.fields.items() if name != "csrf_token"}
    data.update(overrides)
    return client.post(form.action, data=data)


def test_ids_beyond_what_an_integer_column_holds_are_a_404(client, login):
    w = build_world()
    huge = "9" * 25
    assert client.get(f"/editions/{huge}/enroll").status_code == 404
    assert client.get(f"/editions/{2**31}/enroll").status_code == 404
    assert client.get(f"/courses/{w.course.slug}").status_code == 200
    login(w.user("client"))
    assert client.get(f"/alumni/requests/{huge}").status_code == 404
    assert client.get(f"/alumni/requests/{2**31}").status_code == 404
    # Ids from a query string go the same way.
    response = client.get(f"/alumni/requests/new?profile={w.profile.id}&shortlist={huge}")
    assert response.status_code == 404
    response = client.get(f"/alumni/requests/new?profile={w.profile.id}&shortlist={2**31}")
    assert response.status_code == 404
    assert '<html lang="nl">' in response.get_data(as_text=True)


def test_a_session_time_that_is_no_time_is_refused_in_dutch(client, login):
    w = build_world()
    login(w.user("admin"))
    page = f"/admin/courses/{w.course.id}/editions/new"
    form = _form(client, page, "/editions/new")
    before = row_counts()
    response = _post(client, form, **{"sessions-0-start": "25:99"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ongeldige waarde." in body and "Not a valid" not in body
    assert row_counts() == before


def test_an_amount_with_more_digits_than_money_has_is_refused(client, login):
    w = build_world()
    login(w.user("admin"))
    page = f"/admin/inhouse/{w.booking.id}/proposal"
    form = _form(client, page, "/proposal")
    before = row_counts()
    response = _post(client, form, **{"lines-0-quantity": "9" * 30})
    assert response.status_code == 400
    assert "Vul een bedrag of getal in, bijvoorbeeld 1250,00." in response.get_data(as_text=True)
    assert row_counts() == before


def test_nul_characters_never_reach_the_database(client, login):
    """PostgreSQL refuses NUL in text; they are dropped from every form field and query
    parameter, as the course and inhouse forms already did for their own fields."""
    from bbtraining.auth.models import User

    response = client.post(
        "/auth/register",
        data={
            "name": "Eva\x00 de Vries",
            "email": "lotte\x00@example.nl",
            "password": "een-lang-wachtwoord-1",
            "password_confirm": "een-lang-wachtwoord-1",
            "account_type": "facilitator",
            "organisation_kind": "gemeente",
        },
    )
    assert response.status_code == 302
    assert User.by_email("lotte@example.nl").name == "Eva de Vries"
    client.post("/auth/logout")
    w = build_world()
    login(w.user("admin"))
    response = client.get("/admin/users/?q=Sanne%00")
    assert response.status_code == 200 and "Sanne Staf" in response.get_data(as_text=True)


def test_a_profile_number_beyond_any_id_is_just_unavailable(client, login):
    w = build_world()
    login(w.user("client"))
    page = f"/alumni/requests/new?profile={w.profile.id}"
    form = _form(client, page, "/alumni/requests/new")
    before = row_counts()
    response = _post(client, form, profiles=f"{w.profile.id},{2**31}")
    assert response.status_code == 400
    assert "niet (meer) beschikbaar" in response.get_data(as_text=True)
    assert row_counts() == before


def test_a_trainer_chosen_twice_is_assigned_once(client, login):
    from bbtraining.courses.models import Edition
    from bbtraining.extensions import db

    w = build_world()
    login(w.user("admin"))
    trainer_id = w.user("trainer").id  # not yet on this edition
    url = f"/admin/courses/editions/{w.draft_edition.id}/trainers"
    response = client.post(url, data={"trainers": [str(trainer_id), str(trainer_id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert [t.id for t in db.session.get(Edition, w.draft_edition.id).trainers] == [trainer_id]


def test_a_capacity_beyond_any_room_is_refused(client, login):
    w = build_world()
    login(w.user("admin"))
    before = row_counts()
    url = f"/admin/courses/editions/{w.draft_edition.id}/capacity"
    response = client.post(url, data={"capacity": str(2**31)})
    assert response.status_code == 400
    assert "Een editie heeft hooguit 1000 plaatsen." in response.get_data(as_text=True)
    form = _form(client, f"/admin/courses/{w.course.id}/editions/new", "/editions/new")
    response = _post(client, form, capacity="1001")
    assert response.status_code == 400
    assert "Een editie heeft hooguit 1000 plaatsen." in response.get_data(as_text=True)
    assert row_counts() == before


def test_the_pipeline_filter_ignores_a_course_that_is_not_in_its_list(client, login):
    w = build_world()
    login(w.user("admin"))
    response = client.get(f"/admin/inhouse/?course={2**31}&status=all")
    assert response.status_code == 400
    assert w.org_a.name in response.get_data(as_text=True)  # the unfiltered pipeline


def test_alumni_search_for_a_course_number_beyond_any_id(client, login):
    w = build_world()
    login(w.user("client"))
    response = client.get(f"/alumni/?course={2**31}")
    assert response.status_code == 200
    assert w.profile.display_name not in response.get_data(as_text=True)  # as any unknown course
    response = client.get(f"/alumni/?course={w.course.id}")
    assert w.profile.display_name in response.get_data(as_text=True)


def test_a_nul_in_a_slug_or_token_is_a_404(client):
    w = build_world()
    assert client.get("/courses/%00/request").status_code == 404
    assert client.get(f"/courses/{w.inhouse_course.slug}%00").status_code == 404
    assert client.get("/auth/reset/abc%00def").status_code == 404
    assert client.get(f"/courses/{w.inhouse_course.slug}/request").status_code == 200


def test_a_page_number_beyond_any_page_is_the_last_page(client, login):
    w = build_world()
    login(w.user("admin"))
    for page in ("/admin/alumni/profiles", "/admin/alumni/matches"):
        response = client.get(f"{page}?page={'9' * 25}")
        assert response.status_code == 200, page
