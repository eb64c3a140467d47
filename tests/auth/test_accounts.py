import re

import pytest
from sqlalchemy import select

from bbtraining.audit import AuditEntry
from bbtraining.auth.models import Organisation, User
from bbtraining.extensions import db
from tests.conftest import PASSWORD, outbox_to


def _register(client, **overrides):
    data = {
        "name": "Eva de Boer",
        "email": "eva@example.nl",
        "password": "zeven-lange-woorden",
        "password_confirm": "zeven-lange-woorden",
        "account_type": "facilitator",
        "organisation_kind": "gemeente",
    }
    data.update(overrides)
    return client.post("/auth/register", data=data)


def _link_in(mail_text: str) -> str:
    match = re.search(r"http://bbtraining\.test(/\S+)", mail_text)
    assert match, mail_text
    return match.group(1)


def test_register_creates_facilitator_and_mails_verification(client):
    response = _register(client)
    assert response.status_code == 302
    user = User.by_email("eva@example.nl")
    assert user is not None and user.roles == {"facilitator"}
    assert not user.email_verified
    assert user.password_hash and "zeven" not in user.password_hash
    [mail] = outbox_to("eva@example.nl")
    assert mail.subject == "Bevestig uw e-mailadres"
    client.get(_link_in(mail.text_body))
    db.session.expire_all()
    assert User.by_email("eva@example.nl").email_verified
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.email_verified"))


def test_register_as_client_creates_organisation(client):
    _register(client, account_type="client", organisation_name="Gemeente Zwolle")
    user = User.by_email("eva@example.nl")
    assert user.roles == {"client"}
    assert user.organisation.name == "Gemeente Zwolle"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "geen-adres"}, "Vul een geldig e-mailadres in"),
        ({"password": "kort", "password_confirm": "kort"}, "minstens 10 tekens"),
        ({"password": "wachtwoord123", "password_confirm": "wachtwoord123"}, "te makkelijk"),
        ({"password_confirm": "iets-anders-dan-dat"}, "niet gelijk"),
        ({"name": ""}, "Dit veld is verplicht"),
        ({"account_type": "client", "organisation_name": ""}, "naam van uw organisatie"),
    ],
)
def test_register_bad_input_is_refused_with_dutch_message(client, overrides, message):
    response = _register(client, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User)) is None
    assert db.session.scalar(select(Organisation)) is None


def test_register_duplicate_email_refused(client, make_user):
    make_user(email="eva@example.nl")
    response = _register(client, email="EVA@example.nl ")
    assert response.status_code == 400
    assert "Er bestaat al een account" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(User)).all()) == 1


def test_register_into_existing_organisation_needs_staff(client, make_organisation):
    make_organisation("Gemeente Zwolle")
    response = _register(client, account_type="client", organisation_name="gemeente zwolle")
    assert response.status_code == 400
    assert "heeft al een account bij ons" in response.get_data(as_text=True)
    assert User.by_email("eva@example.nl") is None


def test_login_logout_and_wrong_password(client, make_user):
    user = make_user()
    response = client.post("/auth/login", data={"email": user.email, "password": "fout"})
    assert "Het e-mailadres of wachtwoord klopt niet" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302
    # Unknown accounts get the very same message: nothing reveals whether an address exists.
    response = client.post("/auth/login", data={"email": "niemand@example.nl", "password": "x"})
    assert "Het e-mailadres of wachtwoord klopt niet" in response.get_data(as_text=True)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    client.post("/auth/logout")
    assert client.get("/account/").status_code == 302


def test_logout_by_get_does_not_log_out(client, make_user, login):
    login(make_user())
    client.get("/auth/logout")
    assert client.get("/account/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_next_only_to_this_site(client, make_user, target):
    user = make_user()
    response = client.post(
        f"/auth/login?next={target}", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.location in ("/account/", "http://localhost/account/")


def test_next_to_this_site_is_followed(client, make_user):
    user = make_user()
    response = client.post(
        "/auth/login?next=/courses/?phase=verkenning",
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.location.endswith("/courses/?phase=verkenning")


def test_csrf_token_required(client, make_user):
    user = make_user()
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert "Het formulier is verlopen" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_password_reset_flow_single_use(client, make_user):
    user = make_user()
    response = client.post("/auth/reset", data={"email": user.email})
    assert response.status_code == 302
    [mail] = outbox_to(user.email)
    link = _link_in(mail.text_body)
    response = client.post(
        link, data={"password": "nieuw-en-lang-genoeg", "password_confirm": "nieuw-en-lang-genoeg"}
    )
    assert response.status_code == 302
    assert (
        client.post(
            "/auth/login", data={"email": user.email, "password": "nieuw-en-lang-genoeg"}
        ).status_code
        == 302
    )
    client.post("/auth/logout")
    # The link worked once; a second use is refused with a clear message.
    response = client.get(link, follow_redirects=True)
    assert "ongeldig of al gebruikt" in response.get_data(as_text=True)


def test_password_reset_unknown_email_same_answer(client):
    response = client.post(
        "/auth/reset", data={"email": "onbekend@example.nl"}, follow_redirects=True
    )
    assert "Als er een account bij dit e-mailadres hoort" in response.get_data(as_text=True)
    assert outbox_to("onbekend@example.nl") == []


def test_password_reset_token_expires(client, make_user, app):
    user = make_user()
    client.post("/auth/reset", data={"email": user.email})
    link = _link_in(outbox_to(user.email)[0].text_body)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    try:
        response = client.get(link, follow_redirects=True)
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = 3600
    assert "Deze link is verlopen" in response.get_data(as_text=True)


def test_reset_with_weak_password_changes_nothing(client, make_user):
    user = make_user()
    old_hash = user.password_hash
    client.post("/auth/reset", data={"email": user.email})
    link = _link_in(outbox_to(user.email)[0].text_body)
    response = client.post(link, data={"password": "kort", "password_confirm": "kort"})
    assert response.status_code == 400
    assert "minstens 10 tekens" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_tampered_token_refused(client):
    response = client.get("/auth/reset/not-a-token", follow_redirects=True)
    assert "ongeldig of al gebruikt" in response.get_data(as_text=True)


def test_change_password_logs_out_other_sessions(app, make_user, login, client):
    user = make_user()
    login(user)
    from tests.conftest import CSRFClient

    app.test_client_class = CSRFClient
    second = app.test_client()
    assert (
        second.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code
        == 302
    )
    assert second.get("/account/").status_code == 200
    response = client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "password": "een-nieuw-wachtwoord",
            "password_confirm": "een-nieuw-wachtwoord",
        },
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert second.get("/account/").status_code == 302


def test_change_password_wrong_current(client, make_user, login):
    user = make_user()
    login(user)
    response = client.post(
        "/auth/password",
        data={
            "current_password": "fout",
            "password": "een-nieuw-wachtwoord",
            "password_confirm": "een-nieuw-wachtwoord",
        },
    )
    assert "Uw huidige wachtwoord klopt niet" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)


def test_remember_me_sets_cookie(client, make_user):
    user = make_user()
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert "remember_token" in response.headers.get("Set-Cookie", "") or any(
        "remember_token" in c for c in response.headers.getlist("Set-Cookie")
    )


def test_login_rate_limited(client, make_user, app):
    user = make_user()
    statuses = [
        client.post("/auth/login", data={"email": user.email, "password": "fout"}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "te vaak geprobeerd" in response.get_data(as_text=True)


def test_reset_rate_limited(client):
    statuses = [
        client.post("/auth/reset", data={"email": "x@example.nl"}).status_code for _ in range(6)
    ]
    assert statuses[-1] == 429


def test_create_admin_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-admin", "baas@example.nl", "--password", "heel-lang-wachtwoord"]
    )
    assert result.exit_code == 0, result.output
    assert User.by_email("baas@example.nl").is_admin
    result = runner.invoke(args=["create-admin", "zwak@example.nl", "--password", "kort"])
    assert result.exit_code != 0
    assert "minstens 10 tekens" in result.output
    assert User.by_email("zwak@example.nl") is None


def test_email_verification_token_expiry_leaves_unverified(client, make_user, app):
    user = make_user(verified=False)
    from bbtraining.auth.services import make_verify_token

    token = make_verify_token(user)
    app.config["EMAIL_VERIFY_MAX_AGE"] = -1
    try:
        response = client.get(f"/auth/verify/{token}", follow_redirects=True)
    finally:
        app.config["EMAIL_VERIFY_MAX_AGE"] = 3 * 24 * 3600
    assert "verlopen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(User, user.id).email_verified
