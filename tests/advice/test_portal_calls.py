"""The client's portal: their organisation's calls, upcoming and past, with what was agreed
(never the staff notes); another organisation's call is a 404."""

from datetime import timedelta

from bbtraining.db_types import utcnow
from bbtraining.extensions import db


def test_the_dashboard_shows_the_organisations_calls_and_what_was_agreed(
    client, login, make_advisor, make_call, make_user, make_organisation, make_course
):
    advisor = make_advisor(name="Anke Adviseur")
    org = make_organisation("Gemeente Houten")
    asker = make_user("client", organisation=org, name="Griffier Houten")
    colleague = make_user("client", organisation=org, name="Collega Houten")
    course = make_course(slug="masterclass-mandaat", title="Masterclass mandaat")
    past = make_call(
        advisor,
        utcnow() - timedelta(days=7),
        organisation=org,
        requester=asker,
        status="held",
        outcome_phase="voorbereiding",
        next_step="courses",
        outcome_notes="Geheim: wethouder twijfelt.",
        outcome_recorded_at=utcnow() - timedelta(days=6),
    )
    past.suggested_courses = [course]
    db.session.commit()
    upcoming = make_call(advisor, utcnow() + timedelta(days=3), organisation=org, requester=asker)
    login(colleague)  # a colleague of the same organisation sees them too
    page = client.get("/account/").get_data(as_text=True)
    assert "Gesprekken met onze adviseur" in page
    assert f"/advies/gesprekken/{upcoming.id}" in page and f"/advies/gesprekken/{past.id}" in page
    assert "Trainingen voor deze fase" in page
    detail = client.get(f"/advies/gesprekken/{past.id}").get_data(as_text=True)
    assert "Voorbereiding" in detail and "/courses/masterclass-mandaat" in detail
    assert "Geheim" not in detail and "Geheim" not in page
    assert "Verzetten of annuleren" not in detail  # only the requester holds the link


def test_another_organisations_call_is_a_404(
    client, login, make_advisor, make_call, make_user, make_organisation
):
    advisor = make_advisor()
    theirs = make_call(advisor, utcnow() + timedelta(days=3), question="Vraag van Drenthe")
    me = make_user("client", organisation=make_organisation("Gemeente Houten"))
    login(me)
    response = client.get(f"/advies/gesprekken/{theirs.id}")
    assert response.status_code == 404
    assert "Vraag van Drenthe" not in response.get_data(as_text=True)
    assert f"/advies/gesprekken/{theirs.id}" not in client.get("/account/").get_data(as_text=True)
    assert client.get("/advies/gesprekken/999999").status_code == 404


def test_a_requester_whose_membership_is_unconfirmed_is_not_shown_to_the_organisation(
    client, login, make_advisor, make_call, make_user, make_organisation
):
    """Someone who named an existing organisation sees their own call; its clients do not,
    until staff confirm the membership (as with inhouse requests)."""
    advisor = make_advisor()
    org = make_organisation("Gemeente Houten")
    stranger = make_user("client", organisation=None)
    call = make_call(advisor, utcnow() + timedelta(days=3), organisation=org, requester=stranger)
    member = make_user("client", organisation=org)
    login(member)
    assert client.get(f"/advies/gesprekken/{call.id}").status_code == 404
    client.post("/auth/logout")
    login(stranger)
    assert client.get(f"/advies/gesprekken/{call.id}").status_code == 200
    assert f"/advies/gesprekken/{call.id}" in client.get("/account/").get_data(as_text=True)
