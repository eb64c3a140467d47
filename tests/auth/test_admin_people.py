from sqlalchemy import select

from bbtraining.audit import AuditEntry
from bbtraining.auth.models import Organisation, User
from bbtraining.extensions import db


def test_staff_make_someone_a_trainer_and_client(client, make_user, make_organisation, login):
    org = make_organisation("Gemeente Zwolle")
    person = make_user("facilitator", name="Eva de Boer")
    login(make_user("admin"))
    assert "Eva de Boer" in client.get("/admin/users/?q=eva").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{person.id}",
        data={"roles": ["trainer", "client"], "organisation_id": org.id, "is_active_account": "y"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(User, person.id)
    assert person.roles == {"trainer", "client"} and person.organisation_id == org.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.access_changed"))


def test_client_without_organisation_refused(client, make_user, login):
    person = make_user("facilitator")
    login(make_user("admin"))
    response = client.post(
        f"/admin/users/{person.id}",
        data={"roles": ["client"], "organisation_id": 0, "is_active_account": "y"},
    )
    assert response.status_code == 400
    assert "hoort bij een organisatie" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, person.id).roles == {"facilitator"}


def test_admin_cannot_lock_themselves_out(client, make_user, login):
    admin = make_user("admin")
    login(admin)
    response = client.post(
        f"/admin/users/{admin.id}",
        data={"roles": ["trainer"], "organisation_id": 0, "is_active_account": "y"},
    )
    assert "eigen beheerrechten" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_admin


def test_deactivated_account_is_logged_out(app, client, make_user, login):
    from tests.conftest import CSRFClient

    person = make_user("facilitator")
    app.test_client_class = CSRFClient
    their_browser = app.test_client()
    their_browser.post(
        "/auth/login", data={"email": person.email, "password": "een-goed-wachtwoord-42"}
    )
    assert their_browser.get("/account/").status_code == 200
    login(make_user("admin"))
    client.post(f"/admin/users/{person.id}", data={"roles": ["facilitator"], "organisation_id": 0})
    assert their_browser.get("/account/").status_code == 302


def test_organisations_add_and_refuse_bad_cbs_code(client, make_user, login):
    login(make_user("admin"))
    response = client.post(
        "/admin/organisations/",
        data={"name": "Gemeente Deventer", "kind": "gemeente", "cbs_code": "123"},
    )
    assert response.status_code == 400 and "GM0344" in response.get_data(as_text=True)
    assert db.session.scalar(select(Organisation)) is None
    client.post(
        "/admin/organisations/",
        data={"name": "Gemeente Deventer", "kind": "gemeente", "cbs_code": "gm0150"},
    )
    org = db.session.scalar(select(Organisation))
    assert org.cbs_code == "GM0150"
    response = client.post(
        "/admin/organisations/", data={"name": "gemeente deventer", "kind": "gemeente"}
    )
    assert "bestaat al" in response.get_data(as_text=True)


def test_people_pages_are_staff_only(client, make_user, login):
    login(make_user("trainer"))
    for url in ("/admin/users/", "/admin/organisations/", "/admin/users/1"):
        assert client.get(url).status_code == 403
