"""Download all my data; delete my account (anonymised, bookkeeping kept)."""

import json
from datetime import date, timedelta

from sqlalchemy import func, select

from bbtraining.alumni import matches, search
from bbtraining.alumni.match_models import MatchRecipient, MatchRequest
from bbtraining.alumni.models import AlumniConsent, AlumniProfile, ProfileLanguage, TravelProvince
from bbtraining.audit import AuditEntry
from bbtraining.auth.models import User
from bbtraining.bookings.attendance.qualifications import Qualification
from bbtraining.extensions import db
from tests.conftest import PASSWORD


def make_request(client_user, profiles):
    request_ = matches.create_request(
        client_user,
        profiles,
        assembly="Burgerberaad Wonen",
        organisation_name="Gemeente Test",
        dates=[date.today() + timedelta(days=30)],
        place="Raadzaal",
        role="table",
        message="Graag uw hulp.",
    )
    db.session.commit()
    return request_


def test_export_holds_account_profile_consents_and_requests(
    client, login, make_alumnus, make_client
):
    profile = make_alumnus(
        "Anna",
        email="anna@example.nl",
        phone="06-1",
        travel=("gelderland",),
        languages=("nl", "fy"),
    )
    client_user = make_client("Pieter")
    make_request(client_user, [profile])
    login(profile.user)
    response = client.get("/alumni/privacy/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["account"]["email"] == "anna@example.nl" and data["account"]["phone"] == "06-1"
    assert "password_hash" not in json.dumps(
        data
    ) and profile.user.password_hash not in response.get_data(as_text=True)
    assert data["alumni_profile"]["languages"] == ["nl", "fy"]
    assert data["alumni_profile"]["travel_provinces"] == ["gelderland"]
    assert data["consents"][0]["version"] == "2025-1"
    assert data["verified_trainings"][0]["course"] == "Training gespreksbegeleiders"
    assert data["match_requests_received"][0]["assembly"] == "Burgerberaad Wonen"
    assert data["match_requests_received"][0]["status"] == "pending"
    client.post("/auth/logout")
    login(client_user)
    sent = json.loads(client.get("/alumni/privacy/export.json").data)
    assert sent["match_requests_sent"][0]["recipients"] == [{"name": "Anna", "status": "pending"}]
    assert sent["alumni_profile"] is None


def test_delete_account_anonymises_and_keeps_bookkeeping(client, login, make_alumnus, make_client):
    profile = make_alumnus("Anna", email="anna@example.nl", phone="06-1", travel=("gelderland",))
    user_id, profile_id = profile.user_id, profile.id
    client_user = make_client("Pieter")
    request_ = make_request(client_user, [profile])
    login(profile.user)
    page = client.get("/alumni/privacy").get_data(as_text=True)
    assert "Account definitief verwijderen" in page

    wrong = client.post("/alumni/privacy/delete", data={"password": "fout", "confirm": "y"})
    assert wrong.status_code == 400 and "Uw wachtwoord klopt niet" in wrong.get_data(as_text=True)
    unticked = client.post("/alumni/privacy/delete", data={"password": PASSWORD})
    assert unticked.status_code == 400 and "Vink aan" in unticked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user_id).deleted_at is None

    done = client.post("/alumni/privacy/delete", data={"password": PASSWORD, "confirm": "y"})
    assert done.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user_id)
    assert user.name == "Verwijderde gebruiker"
    assert user.email == f"deleted-{user_id}@invalid"
    assert user.password_hash is None and user.phone is None and user.deleted_at is not None
    assert not user.roles
    assert db.session.get(AlumniProfile, profile_id) is None
    for model in (ProfileLanguage, TravelProvince, AlumniConsent):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    # Bookkeeping keeps its rows and foreign keys.
    assert db.session.scalar(select(Qualification.user_id)) == user_id
    recipient = db.session.scalar(select(MatchRecipient))
    assert recipient.alumnus_id == user_id and recipient.status == "expired"
    assert db.session.get(MatchRequest, request_.id) is not None
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "user.deleted")
        )
        == 1
    )
    # Logged out, and the old credentials no longer work.
    assert client.get("/account/").status_code == 302
    login_again = client.post(
        "/auth/login", data={"email": "anna@example.nl", "password": PASSWORD}
    )
    assert login_again.status_code != 302
    assert search.search(search.SearchCriteria()).total == 0


def test_client_deleting_account_closes_their_open_requests(
    client, login, make_alumnus, make_client
):
    profile = make_alumnus("Anna")
    client_user = make_client("Pieter")
    request_ = make_request(client_user, [profile])
    login(client_user)
    client.post("/alumni/privacy/delete", data={"password": PASSWORD, "confirm": "y"})
    db.session.expire_all()
    assert request_.message == ""
    assert request_.recipients[0].status == "expired"
    assert request_.client.name == "Verwijderde gebruiker"


def test_privacy_pages_need_login(client):
    assert client.get("/alumni/privacy/export.json").status_code == 302
    assert (
        client.post("/alumni/privacy/delete", data={"password": "x", "confirm": "y"}).status_code
        == 302
    )


def test_delete_without_csrf_is_refused(client, login, make_alumnus):
    profile = make_alumnus("Anna")
    login(profile.user)
    response = client.post(
        "/alumni/privacy/delete", data={"password": PASSWORD, "confirm": "y"}, csrf=False
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert profile.user.deleted_at is None
