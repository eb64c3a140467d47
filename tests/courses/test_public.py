"""The public catalog: home by phase, filters and search, course pages, JSON-LD, public ics."""

import html
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar

from bbtraining.courses import catalog as catalog_rules
from bbtraining.courses import editions as editions_rules
from bbtraining.courses import trainers
from bbtraining.courses.models import AMSTERDAM
from bbtraining.extensions import db
from tests.courses.conftest import in_days


@pytest.fixture
def catalog(make_course, make_edition, make_user):
    """Five published courses covering every kind, phase and delivery, and one draft."""
    trainer = make_user("trainer", name="Amira El Idrissi")
    trainer.bio = "Begeleidde tafels in beraden over klimaat en wonen."
    courses = {
        "A": make_course(
            slug="inspiratie",
            title="Inspiratiesessie voor de raad",
            kind="inspiratiesessie",
            audience="council",
            phases=("verkenning",),
            delivery="inhouse",
            price_seat=None,
        ),
        "B": make_course(
            slug="communicatie",
            title="Masterclass communicatie",
            kind="masterclass",
            audience="communication",
            phases=("uitvoering",),
            delivery="inhouse",
            price_seat=None,
        ),
        "C": make_course(
            slug="basistraining",
            title="Basistraining gespreksbegeleider",
            kind="facilitator-training",
            audience="facilitators",
            phases=("uitvoering",),
            delivery="open",
            price_inhouse=None,
            price_seat=Decimal("1195.00"),
            learning_goals="Ideeën ophalen aan tafel\nStille deelnemers betrekken",
            qualifies_for_alumni=True,
        ),
        "D": make_course(
            slug="sparring",
            title="Sparring voor de voorzitter",
            kind="chair-sparring",
            audience="chairs",
            phases=("voorbereiding", "uitvoering"),
            delivery="inhouse",
            price_seat=None,
            description="Gesprekken over de rol van de onafhankelijk VOORZITTER.",
        ),
        "E": make_course(
            slug="ambtenaren",
            title="Masterclass ambtenaren",
            kind="masterclass",
            audience="civil-servants",
            phases=("verkenning", "voorbereiding"),
            delivery="both",
        ),
        "draft": make_course(
            slug="concept",
            title="Concept masterclass",
            phases=("verkenning",),
            published=False,
        ),
    }
    editions = {
        "C1": make_edition(
            courses["C"], days=(30, 31), capacity=16, seats_taken=12, trainers=[trainer]
        ),
        "C2": make_edition(courses["C"], days=(70,), capacity=10, seats_taken=10),
        "E1": make_edition(courses["E"], days=(90,), capacity=20, location="Den Haag"),
        "draft": make_edition(courses["draft"], days=(40,)),
    }
    db.session.commit()
    return {"courses": courses, "editions": editions, "trainer": trainer}


def _titles(response) -> set[str]:
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    grid = page.split('class="course-grid"', 1)[1] if 'class="course-grid"' in page else ""
    return {
        html.unescape(t) for t in re.findall(r'<h3><a href="/courses/[^"]+">([^<]+)</a></h3>', grid)
    }


def _expect(catalog, *keys) -> set[str]:
    return {catalog["courses"][k].title for k in keys}


ALL = ("A", "B", "C", "D", "E")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("kind=masterclass", ("B", "E")),
        ("kind=facilitator-training", ("C",)),
        ("kind=inspiratiesessie", ("A",)),
        ("kind=chair-sparring", ("D",)),
        ("phase=verkenning", ("A", "E")),
        ("phase=voorbereiding", ("D", "E")),
        ("phase=uitvoering", ("B", "C", "D")),
        ("audience=chairs", ("D",)),
        ("audience=civil-servants", ("E",)),
        ("delivery=inhouse", ("A", "B", "D", "E")),  # 'both' matches inhouse
        ("delivery=open", ("C", "E")),  # and open
        ("from={d10}", ("C", "E")),
        ("from={d60}", ("C", "E")),
        ("from={d80}", ("E",)),
        ("from={d100}", ()),
        ("q=GESPREKSBEGELEIDER", ("C",)),  # title, any case
        ("q=ideeen", ("C",)),  # learning goals, accent-insensitive
        ("q=IDEE%C3%8BN", ("C",)),  # upper case with diaeresis, also on SQLite
        ("q=onafhankelijk+voorzitter", ("D",)),  # description, every word must match
        ("q=korte+omschrijving", ALL),  # summary
        ("q=100%25", ()),  # LIKE wildcards are literal
        ("kind=masterclass&phase=verkenning", ("E",)),
        ("kind=masterclass&delivery=open", ("E",)),
        ("phase=uitvoering&delivery=inhouse&q=voorzitter", ("D",)),
        ("phase=uitvoering&audience=facilitators&from={d10}", ("C",)),
    ],
)
def test_filters_alone_and_combined(client, catalog, query, expected):
    dates = {f"d{n}": in_days(n).isoformat() for n in (10, 60, 80, 100)}
    response = client.get("/courses/?" + query.format(**dates))
    assert _titles(response) == _expect(catalog, *expected)


@pytest.mark.parametrize(
    "query",
    [
        "kind=webinar",
        "phase=afronding",
        "audience=iedereen",
        "delivery=both",
        "delivery=",
        "from=2026-13-45",
        "from=morgen",
        "kind[]=masterclass",
        "q=" + "x" * 5000,
        "kind=%00",
        "q=%00",
        "q=ab%00cd&from=%00",
        "phase=verkenning%27%3B+DROP+TABLE+course%3B--",
    ],
)
def test_unknown_filter_values_are_ignored_never_a_500(client, catalog, query):
    response = client.get("/courses/?" + query)
    assert response.status_code == 200
    if not query.startswith("q="):
        assert _titles(response) == _expect(catalog, *ALL)


def test_first_known_value_wins_when_repeated(client, catalog):
    response = client.get("/courses/?kind=webinar&kind=chair-sparring&kind=masterclass")
    assert _titles(response) == _expect(catalog, "D")


def test_filter_form_reflects_url_and_chips_drop_one_filter(client, catalog):
    page = client.get("/courses/?kind=masterclass&phase=verkenning&q=ambt").get_data(as_text=True)
    assert '<option value="masterclass" selected>' in page
    assert '<option value="verkenning" selected>' in page
    assert 'value="ambt"' in page
    assert 'href="/courses/?phase=verkenning&amp;q=ambt"' in page  # drops kind
    assert 'href="/courses/?kind=masterclass&amp;q=ambt"' in page  # drops phase
    assert "1 training" in page


def test_empty_result_suggests_what_to_change(client, catalog):
    response = client.get("/courses/?kind=chair-sparring&phase=verkenning")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Geen trainingen gevonden" in page
    assert _titles(response) == set()
    # Dropping the phase leaves the sparring; dropping the kind leaves the verkenning courses.
    assert re.search(
        r'href="/courses/\?kind=chair-sparring">Zonder fase verkenning</a> \(1 training\)', page
    )
    assert re.search(
        r'href="/courses/\?phase=verkenning">Zonder Sparring voor de voorzitter</a>'
        r" \(2 trainingen\)",
        page,
    )
    assert 'href="/courses/">Alle trainingen bekijken' in page


def test_catalog_url_round_trips():
    filters = catalog_rules.CatalogFilters.from_args(
        {"kind": "masterclass", "q": " a  b ", "from": "2027-01-05"}
    )
    assert filters.to_args() == {"kind": "masterclass", "from": "2027-01-05", "q": "a b"}
    assert catalog_rules.CatalogFilters.from_args(filters.to_args()) == filters
    assert filters.without("from").to_args() == {"kind": "masterclass", "q": "a b"}


def test_home_shows_catalog_by_phase(client, catalog):
    page = client.get("/").get_data(as_text=True)
    assert "Waar staat u?" in page
    sections = {
        phase: page.split(f'id="fase-{phase}"', 1)[1].split("</article>", 1)[0]
        for phase in ("verkenning", "voorbereiding", "uitvoering")
    }
    expected = {"verkenning": "AE", "voorbereiding": "DE", "uitvoering": "BCD"}
    for phase, keys in expected.items():
        for key in ALL:
            title = html.escape(catalog["courses"][key].title)
            assert (title in sections[phase]) == (key in keys), (phase, key)
        assert "Concept masterclass" not in sections[phase]
    assert 'href="/courses/?phase=uitvoering"' in page
    assert "/calendar/public.ics" in page
    # Next open editions, soonest first, never of an unpublished course.
    upcoming = page.split('id="upcoming-title"', 1)[1]
    assert upcoming.index("Basistraining") < upcoming.index("Masterclass ambtenaren")
    assert "Concept masterclass" not in upcoming


# -- course page ---------------------------------------------------------------------------------
def test_course_page_prices_editions_and_calls_to_action(client, catalog):
    c1, c2 = catalog["editions"]["C1"], catalog["editions"]["C2"]
    page = client.get("/courses/basistraining").get_data(as_text=True)
    assert "Ideeën ophalen aan tafel" in page and "Wat u leert" in page
    assert "€\xa01.195,00" in page and "€\xa01.445,95" in page and "incl. 21% btw" in page
    assert "Eerstvolgende editie" in page
    first_day = c1.sessions[0].local_start
    assert f"{first_day.day} " in page and "09:30–16:30" in page
    assert "Nog 4 plaatsen" in page
    assert f'href="/editions/{c1.id}/enroll">Inschrijven' in page
    assert "vol — wachtlijst" in page
    assert f'href="/editions/{c2.id}/enroll">Zet mij op de wachtlijst' in page
    assert "/request" not in page  # open only
    assert "alumnipool" in page
    # The trainer of an upcoming edition, with bio.
    assert "Amira El Idrissi" in page and "klimaat en wonen" in page


def test_inhouse_course_page_links_to_request(client, catalog):
    page = client.get("/courses/inspiratie").get_data(as_text=True)
    assert 'href="/courses/inspiratie/request"' in page
    assert "€\xa01.000,00" in page and "€\xa01.210,00" in page
    assert "/enroll" not in page


def test_past_and_cancelled_editions_are_not_offered(client, catalog, make_edition):
    course = catalog["courses"]["E"]
    past = make_edition(course, days=(-3,))
    cancelled = make_edition(course, days=(50,))
    editions_rules.cancel_edition(cancelled)
    db.session.commit()
    page = client.get("/courses/ambtenaren").get_data(as_text=True)
    assert f"/editions/{catalog['editions']['E1'].id}/enroll" in page
    assert f"/editions/{past.id}/enroll" not in page
    assert f"/editions/{cancelled.id}/enroll" not in page


def test_enrollment_closed_after_deadline(client, catalog):
    edition = catalog["editions"]["E1"]
    edition.enrollment_deadline = editions_rules.utcnow() - timedelta(hours=1)
    db.session.commit()
    page = client.get("/courses/ambtenaren").get_data(as_text=True)
    assert "Inschrijving gesloten" in page
    assert f"/editions/{edition.id}/enroll" not in page
    [instance] = _jsonld(page)["hasCourseInstance"]
    assert "url" not in instance["offers"] and "availability" not in instance["offers"]


@pytest.mark.parametrize(
    "slug", ["bestaat-niet", "concept", "BASISTRAINING", "..", "%00", "a%00b", "x" * 300]
)
def test_unknown_or_unpublished_course_is_a_dutch_404(client, catalog, slug):
    response = client.get(f"/courses/{slug}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Pagina niet gevonden" in page and "Concept masterclass" not in page


def test_admin_may_preview_unpublished_course(client, catalog, make_user, login):
    login(make_user("client"))
    assert client.get("/courses/concept").status_code == 404
    client.post("/auth/logout")
    login(make_user("admin"))
    page = client.get("/courses/concept").get_data(as_text=True)
    assert "niet gepubliceerd" in page and "Concept masterclass" in page


def _jsonld(page: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match, "no JSON-LD"
    return json.loads(match.group(1))


def test_jsonld_describes_course_and_editions(client, catalog):
    data = _jsonld(client.get("/courses/basistraining").get_data(as_text=True))
    assert data["@context"] == "https://schema.org" and data["@type"] == "Course"
    assert data["name"] == "Basistraining gespreksbegeleider"
    assert data["url"] == "http://bbtraining.test/courses/basistraining"
    assert data["provider"]["@type"] == "Organization" and data["provider"]["name"]
    assert data["teaches"] == ["Ideeën ophalen aan tafel", "Stille deelnemers betrekken"]
    first, second = data["hasCourseInstance"]
    c1 = catalog["editions"]["C1"]
    assert first["@type"] == "CourseInstance" and first["courseMode"] == "Onsite"
    assert first["startDate"] == c1.sessions[0].starts_at.astimezone(AMSTERDAM).isoformat()
    assert first["endDate"] == c1.sessions[1].ends_at.astimezone(AMSTERDAM).isoformat()
    assert first["startDate"].endswith(("+01:00", "+02:00"))
    assert first["location"][0]["name"] == "Utrecht, Stadhuis"
    assert first["remainingAttendeeCapacity"] == 4 and first["maximumAttendeeCapacity"] == 16
    assert first["offers"]["price"] == "1445.95" and first["offers"]["priceCurrency"] == "EUR"
    assert first["offers"]["availability"] == "https://schema.org/InStock"
    assert first["offers"]["url"].endswith(f"/editions/{c1.id}/enroll")
    assert first["instructor"] == [{"@type": "Person", "name": "Amira El Idrissi"}]
    assert len(first["subEvent"]) == 2 and first["subEvent"][0]["@type"] == "Event"
    assert second["offers"]["availability"] == "https://schema.org/SoldOut"


def test_jsonld_cannot_break_out_of_its_script(client, make_course):
    make_course(slug="gevaarlijk", title='Titel </script><script>alert("x")</script>')
    page = client.get("/courses/gevaarlijk").get_data(as_text=True)
    assert "<script>alert" not in page
    assert _jsonld(page)["name"] == 'Titel </script><script>alert("x")</script>'


# -- public calendar -----------------------------------------------------------------------------
def test_public_ics_lists_upcoming_open_sessions_in_amsterdam_time(
    client, catalog, make_edition, make_inhouse_session
):
    course_c = catalog["courses"]["C"]
    make_edition(course_c, days=(-2,))  # past
    cancelled = make_edition(course_c, days=(45,))
    editions_rules.cancel_edition(cancelled)
    partly = make_edition(course_c, days=(55, 56))
    editions_rules.cancel_session(partly.sessions[1])
    make_inhouse_session(catalog["trainer"], day=33)
    db.session.commit()

    response = client.get("/calendar/public.ics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/calendar")
    calendar = Calendar.from_ical(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    [timezone] = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == "Europe/Amsterdam"
    events = calendar.walk("VEVENT")
    c1, c2, e1 = (catalog["editions"][k] for k in ("C1", "C2", "E1"))
    expected = [*c1.sessions, partly.sessions[0], *c2.sessions, *e1.sessions]
    assert [str(e["UID"]) for e in events] == [
        f"public-session-{s.id}@bbtraining" for s in expected
    ]
    first = events[0]
    assert first["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert first["DTSTART"].dt.strftime("%H:%M") == "09:30"
    assert first["DTSTART"].dt == c1.sessions[0].starts_at
    assert str(first["SUMMARY"]) == "Basistraining gespreksbegeleider (dag 1 van 2)"
    assert str(first["LOCATION"]) == "Utrecht, Stadhuis"
    assert "http://bbtraining.test/courses/basistraining" in str(first["DESCRIPTION"])
    assert "Concept masterclass" not in response.get_data(as_text=True)


def test_moved_session_has_higher_sequence_in_feed(client, catalog):
    session = catalog["editions"]["E1"].sessions[0]
    editions_rules.move_session(
        session,
        trainers.Slot(session.starts_at + timedelta(days=1), session.ends_at + timedelta(days=1)),
    )
    db.session.commit()
    calendar = Calendar.from_ical(client.get("/calendar/public.ics").data)
    [event] = [
        e for e in calendar.walk("VEVENT") if str(e["UID"]).endswith(f"-{session.id}@bbtraining")
    ]
    assert int(event["SEQUENCE"]) == 1


def test_empty_public_ics_still_parses(client):
    calendar = Calendar.from_ical(client.get("/calendar/public.ics").data)
    assert calendar.walk("VEVENT") == []


def test_english_pages_write_dates_and_times_the_british_way(client, make_edition):
    edition = make_edition(days=(30,), start="14:00", end="17:30")
    day = edition.sessions[0].starts_at.astimezone(AMSTERDAM).date()
    assert client.post("/language/en", data={"next": "/"}).status_code == 302

    page = client.get(f"/courses/{edition.course.slug}").get_data(as_text=True)
    assert '<html lang="en">' in page
    # "Tuesday 29 December 2026", not "Tuesday, December 29, 2026"
    assert f"{day:%A} {day.day} {day:%B} {day.year}" in page
    assert "14:00" in page and "2:00 PM" not in page
