"""Issue 15, item 13: a number is followed by the noun in the right number ("1 beraad", not
"1 beraden"), on the alumni card, the staff overview and the flash after sending a request."""

from tests.alumni.test_matches import send_request


def test_alumni_card_counts_in_singular_and_plural(client, login, make_alumnus, make_client):
    make_alumnus("Een Keer", assemblies=1, sessions=1, years=1)
    make_alumnus("Vaker Wel", assemblies=3, sessions=12, years=2)
    login(make_client())
    page = client.get("/alumni/").get_data(as_text=True)
    assert "1 beraad, 1 sessie, 1 jaar" in page
    assert "3 beraden, 12 sessies, 2 jaar" in page
    assert "1 beraden" not in page and "1 sessies" not in page


def test_sending_to_one_says_one_facilitator(client, login, make_alumnus, make_client, make_user):
    anna = make_alumnus("Anna", email="anna@example.nl")
    login(make_client())
    response = send_request(client, [anna])
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uw verzoek is verstuurd aan 1 gespreksbegeleider. U krijgt bericht zodra die" in page
    assert "(s)" not in page

    client.post("/auth/logout")
    login(make_user("admin"))
    overview = client.get("/admin/alumni/matches").get_data(as_text=True)
    assert "1 gespreksbegeleider moet nog antwoorden." in overview
    assert "1 gespreksbegeleiders" not in overview
    tile = client.get("/admin/").get_data(as_text=True)
    assert "1 gespreksbegeleider moet nog antwoorden" in tile


def test_english_keeps_its_own_plurals(client, login, make_alumnus, make_client):
    make_alumnus("Een Keer", assemblies=1, sessions=2, years=1)
    login(make_client())
    client.post("/language/en")
    page = client.get("/alumni/").get_data(as_text=True)
    assert "1 assembly, 2 sessions, 1 year" in page


def test_demo_course_title_is_grammatical():
    from bbtraining.courses.demo import COURSES

    titles = " ".join(str(value) for spec in COURSES for value in spec.values())
    assert "onafhankelijke voorzitter" in titles
    assert "onafhankelijk voorzitter" not in titles
    assert "onafhankelijk toezichthouder" not in titles


def test_course_page_names_the_last_free_cancellation_day(client, make_course, make_edition):
    course = make_course()
    edition = make_edition(course, free_cancellation_days=1)
    page = client.get(f"/courses/{course.slug}").get_data(as_text=True)
    # The course page names the edition's own last day (enrollment's one rule), so no count.
    from bbtraining.bookings.enrollment import policy

    assert policy.offered_free_cancellation(edition) is not None
    assert "Kosteloos annuleren kan tot en met" in page
    assert "1 dagen" not in page
