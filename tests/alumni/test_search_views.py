"""The search pages: who may search, what a response may never contain, bad input."""

import re
from datetime import date

import pytest

from bbtraining.extensions import db


@pytest.fixture
def alumni(make_alumnus):
    return [
        make_alumnus(
            "Anna Utrecht",
            email="anna.prive@example.nl",
            phone="06-11112222",
            province="utrecht",
            travel=("gelderland",),
            languages=("nl", "ar"),
            tags=("jongeren",),
            assemblies=4,
            headline="Jongerenberaden",
            bio="Gesprekken met jongeren over klimaat.",
        ),
        make_alumnus(
            "Bram Gelderland",
            email="bram.prive@example.nl",
            phone="+31 6 3333 4444",
            province="gelderland",
            languages=("nl", "de"),
            assemblies=2,
            headline="Klimaatberaden",
            bio="Windmolens en de energietransitie.",
            blocked=(date(2031, 3, 14),),
        ),
    ]


def assert_no_contact_details(body: str, alumni) -> None:
    for profile in alumni:
        user = profile.user
        assert user.email not in body
        if user.phone:
            assert user.phone not in body
            assert re.sub(r"\D", "", user.phone) not in re.sub(r"\D", "", body) or False
    assert "prive@example.nl" not in body
    assert "mailto:" not in body
    assert '"email"' not in body and '"phone"' not in body and '"address"' not in body


SEARCHES = [
    "/alumni/",
    "/alumni/?province=utrecht",
    "/alumni/?language=ar&language=nl",
    "/alumni/?q=klimaat",
    "/alumni/?dates=14-03-2031",
    "/alumni/?date_from=2031-03-01&date_to=2031-03-31",
    "/alumni/?tag=jongeren&min_assemblies=1&min_years=0",
    "/alumni/?province=gelderland&q=windmolens&language=de",
]


def test_clients_search_and_contact_details_never_appear(client, login, make_client, alumni):
    login(make_client())
    for url in SEARCHES:
        html = client.get(url)
        assert html.status_code == 200, url
        assert_no_contact_details(html.get_data(as_text=True), alumni)
        as_json = client.get(url + ("&" if "?" in url else "?") + "format=json")
        assert as_json.status_code == 200
        assert as_json.is_json
        assert_no_contact_details(as_json.get_data(as_text=True), alumni)
        for card in as_json.json["results"]:
            assert not {"email", "phone", "address", "user_id"} & set(card)
        accept_json = client.get(url, headers={"Accept": "application/json"})
        assert accept_json.is_json
        assert_no_contact_details(accept_json.get_data(as_text=True), alumni)


def test_search_results_html_and_json_agree(client, login, make_client, alumni):
    login(make_client())
    page = client.get("/alumni/?province=gelderland").get_data(as_text=True)
    assert "2 gespreksbegeleiders gevonden" in page
    assert page.index("Bram Gelderland") < page.index("Anna Utrecht")
    data = client.get("/alumni/?province=gelderland&format=json").json
    assert [r["display_name"] for r in data["results"]] == ["Bram Gelderland", "Anna Utrecht"]
    assert data["total"] == 2
    assert data["province_counts"]["utrecht"] == 1
    assert data["results"][1]["travels_to"] == ["gelderland"]
    assert data["results"][0]["verified_trainings"] == ["Training gespreksbegeleiders"]
    blocked = client.get("/alumni/?dates=14-03-2031&format=json").json
    assert [r["display_name"] for r in blocked["results"]] == ["Anna Utrecht"]


def test_map_shows_counts_and_links_filter_by_province(client, login, make_client, alumni):
    login(make_client())
    page = client.get("/alumni/?language=nl").get_data(as_text=True)
    assert '<svg viewBox="0 0 490 580"' in page
    assert 'aria-label="Utrecht: 1"' in page
    assert 'aria-label="Gelderland: 2"' in page
    assert 'aria-label="Zeeland: 0"' in page
    link = re.search(
        r'<a href="([^"]+)" class="map-province[^"]*"\s+aria-label="Gelderland: 2"', page
    )
    assert link, "no link on the Gelderland shape"
    href = link.group(1).replace("&amp;", "&")
    assert "province=gelderland" in href and "language=nl" in href
    filtered = client.get(href).get_data(as_text=True)
    assert "2 gespreksbegeleiders gevonden" in filtered
    assert "map-province level-4 selected" in filtered or "selected" in filtered
    assert "style=" not in page and "<script" not in page.split("</main>")[0]


def test_only_clients_and_staff_may_search(client, login, make_user, alumni):
    assert client.get("/alumni/").status_code == 302  # to the login page
    login(make_user("facilitator"))
    assert client.get("/alumni/").status_code == 403
    assert client.get("/alumni/?format=json").status_code == 403
    assert client.get(f"/alumni/{alumni[0].id}").status_code == 404
    client.post("/auth/logout")
    login(make_user("admin"))
    assert client.get("/alumni/").status_code == 200


def test_profile_page_for_clients_without_contact(client, login, make_client, alumni):
    login(make_client())
    page = client.get(f"/alumni/{alumni[0].id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Anna Utrecht" in body and "Gesprekken met jongeren" in body
    assert_no_contact_details(body, alumni)


def test_hidden_or_unpublished_profiles_are_404_for_clients(
    client, login, make_client, make_user, make_alumnus
):
    from bbtraining.alumni import services

    hidden = make_alumnus("Verborgen")
    services.hide(hidden, "Ongepast", make_user("admin"))
    draft = make_alumnus("Concept", publish=False)
    db.session.commit()
    login(make_client())
    assert client.get(f"/alumni/{hidden.id}").status_code == 404
    assert client.get(f"/alumni/{draft.id}").status_code == 404
    assert "Verborgen" not in client.get("/alumni/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("province=atlantis", "Onbekende provincie"),
        ("language=xx", "Onbekende taal"),
        ("dates=31-02-2031", "geen datum"),
        ("dates=morgen", "geen datum"),
        ("date_from=2031-03-10&date_to=2031-03-01", "einddatum"),
        ("min_assemblies=-3", "0 tot 1000"),
        ("specialisation=bestaat-niet", "Onbekende specialisatie"),
        ("weekday=7", "Onbekende dag van de week"),
        ("weekday=maandag", "Onbekende dag van de week"),
        ("weekday=0&weekday=-1", "Onbekende dag van de week"),
        ("weekday=99999999999999999999", "Onbekende dag van de week"),
    ],
)
def test_bad_search_input_is_a_dutch_400(client, login, make_client, alumni, query, message):
    login(make_client())
    page = client.get(f"/alumni/?{query}")
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    as_json = client.get(f"/alumni/?{query}&format=json")
    assert as_json.status_code == 400
    assert message in as_json.get_data(as_text=True)


def test_pagination_links_keep_filters(client, login, make_client, make_alumnus, app):
    for i in range(3):
        make_alumnus(f"Persoon {i}", languages=("nl", "en"), assemblies=5 - i)
    app.config["ALUMNI_PAGE_SIZE"] = 2
    try:
        login(make_client())
        page = client.get("/alumni/?language=en").get_data(as_text=True)
        assert "Pagina 1 van 2" in page
        next_link = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
        assert "language=en" in next_link and "page=2" in next_link
        second = client.get(next_link).get_data(as_text=True)
        assert "Persoon 2" in second and "Persoon 0" not in second
    finally:
        app.config["ALUMNI_PAGE_SIZE"] = 20


def test_nav_link_for_clients_and_admins_only(client, login, make_client, make_user):
    login(make_user("facilitator"))
    assert "Alumni zoeken" not in client.get("/account/").get_data(as_text=True)
    client.post("/auth/logout")
    login(make_client())
    assert "Alumni zoeken" in client.get("/account/").get_data(as_text=True)


def test_weekday_filter_on_the_page_and_in_json(client, login, make_client, make_alumnus):
    make_alumnus("Zaterdagmens", weekdays=(5, 6), assemblies=3)
    make_alumnus("Doordeweeks", weekdays=(0, 1, 2), assemblies=2)
    login(make_client())
    page = client.get("/alumni/?weekday=5&weekday=6").get_data(as_text=True)
    assert "Zaterdagmens" in page and "Doordeweeks" not in page
    assert "alle gekozen dagen" in page
    assert re.search(r'<input[^>]*checked[^>]*value="5"|value="5"[^>]*checked', page)
    data = client.get("/alumni/?weekday=0&format=json").get_json()
    assert [r["display_name"] for r in data["results"]] == ["Doordeweeks"]
