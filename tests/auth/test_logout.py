"""Logging out ends the session on the server: a copied cookie opens nothing afterwards."""

import pytest

from bbtraining.auth.models import User
from bbtraining.extensions import db
from tests.conftest import PASSWORD, CSRFClient


def _fresh_client(app):
    app.test_client_class = CSRFClient
    return app.test_client()


@pytest.mark.parametrize("cookie_name", ["session", "remember_token"])
def test_cookies_copied_before_logout_open_nothing_afterwards(app, client, make_user, cookie_name):
    user = make_user()
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    copied = client.get_cookie(cookie_name)
    assert copied is not None, f"no {cookie_name} cookie after login with remember-me"

    # The copied cookie alone opens the account while the session lasts.
    replay = _fresh_client(app)
    replay.set_cookie(cookie_name, copied.value)
    assert replay.get("/account/").status_code == 200

    assert client.post("/auth/logout").status_code == 302
    assert client.get("/account/").status_code == 302

    for attempt in range(2):  # the remember cookie would log in again on the first request
        stale = _fresh_client(app)
        stale.set_cookie(cookie_name, copied.value)
        response = stale.get("/account/")
        assert response.status_code == 302, (cookie_name, attempt)
        assert "/auth/login" in response.location


def test_logout_ends_every_session_of_the_account(app, client, make_user, login):
    """Logout means everywhere: the session token is one per account (see services.log_out)."""
    user = make_user()
    login(user)
    other_device = _fresh_client(app)
    assert (
        other_device.post(
            "/auth/login", data={"email": user.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    token_before = user.session_token
    client.post("/auth/logout")
    assert other_device.get("/account/").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).session_token != token_before
    # Logging in again works, with the new token.
    assert login(user).get("/account/").status_code == 200


def test_logout_when_not_signed_in_changes_nothing(client, make_user):
    user = make_user()
    token_before = user.session_token
    response = client.post("/auth/logout")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).session_token == token_before
