"""Issue 15, item 19: a new facilitator's overview says where to start and what comes next;
the full edition's button says what it does."""

from bbtraining.bookings.attendance.qualifications import record_qualification
from bbtraining.extensions import db


def test_new_facilitator_is_pointed_to_the_basic_training(
    client, login, make_user, make_course, make_edition, make_enrollment
):
    masterclass = make_course(kind="masterclass", title="Masterclass eerst")
    make_edition(masterclass, start_in_days=5)
    basic = make_course(title="Basistraining gespreksbegeleider", qualifies_for_alumni=True)
    edition = make_edition(basic, capacity=4, start_in_days=20)
    later = make_edition(basic, start_in_days=60)
    newcomer = make_user("facilitator")
    login(newcomer)
    page = client.get("/account/").get_data(as_text=True)
    assert "Aan de slag als gespreksbegeleider" in page
    assert f'href="/courses/{basic.slug}">Basistraining gespreksbegeleider</a>' in page
    assert f'href="/editions/{edition.id}/enroll">Inschrijven</a>' in page
    assert f"/editions/{later.id}/enroll" not in page and "Masterclass eerst" not in page
    assert "Er zijn nog 4 plaatsen vrij." in page
    assert "alumnipool" in page

    # Once enrolled, the enrollment itself is the next step.
    make_enrollment(edition, newcomer)
    page = client.get("/account/").get_data(as_text=True)
    assert "Aan de slag als gespreksbegeleider" not in page
    assert "Mijn inschrijvingen" in page


def test_full_edition_offers_the_waiting_list_in_words_that_act(
    client, login, make_user, make_course, make_edition, make_enrollment
):
    basic = make_course(qualifies_for_alumni=True)
    edition = make_edition(basic, capacity=1)
    make_enrollment(edition, make_user("facilitator"))
    login(make_user("facilitator"))
    page = client.get("/account/").get_data(as_text=True)
    assert "Deze editie is vol; u kunt op de wachtlijst." in page
    assert f'href="/editions/{edition.id}/enroll">Zet mij op de wachtlijst</a>' in page
    course_page = client.get(f"/courses/{basic.slug}").get_data(as_text=True)
    assert "Zet mij op de wachtlijst" in course_page
    assert ">Op de wachtlijst<" not in course_page


def test_without_a_planned_edition_the_course_page_is_the_pointer(
    client, login, make_user, make_course
):
    basic = make_course(qualifies_for_alumni=True)
    login(make_user("facilitator"))
    page = client.get("/account/").get_data(as_text=True)
    assert f'href="/courses/{basic.slug}"' in page
    assert "Er is nog geen nieuwe editie gepland." in page


def test_others_do_not_get_the_first_steps(
    client, login, make_user, make_organisation, make_course
):
    basic = make_course(qualifies_for_alumni=True)
    login(make_user("client", organisation=make_organisation()))
    assert "Aan de slag als gespreksbegeleider" not in client.get("/account/").get_data(
        as_text=True
    )
    client.post("/auth/logout")
    # A facilitator whose training staff recorded already has the alumni pool as next step.
    alumnus = make_user("facilitator")
    record_qualification(alumnus, basic, source="admin")
    db.session.commit()
    login(alumnus)
    assert "Aan de slag als gespreksbegeleider" not in client.get("/account/").get_data(
        as_text=True
    )
