"""Issue #15, items 1-3: links follow the served address, the people tile on /admin/ is HTML,
and the language chosen before signing in stays."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bbtraining.auth.models import User
from bbtraining.extensions import db
from scripts.run_dev import child_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "http://127.0.0.1:5000"),
        ({"PORT": "5055"}, "http://127.0.0.1:5055"),
        ({"HOST": "localhost", "PORT": "8080"}, "http://localhost:8080"),
        ({"HOST": "0.0.0.0", "PORT": "5055"}, "http://127.0.0.1:5055"),  # noqa: S104
        ({"HOST": "::1", "PORT": "5055"}, "http://[::1]:5055"),
        (
            {"PORT": "5055", "PUBLIC_URL": "https://training.example.nl"},
            "https://training.example.nl",
        ),
    ],
)
def test_make_run_links_point_at_the_address_it_serves(environ, expected):
    env = child_env(environ)
    assert env["PUBLIC_URL"] == expected
    assert env["PORT"] == environ.get("PORT", "5000")


def test_links_in_the_app_follow_public_url_from_make_run():
    """A process started with run_dev's environment builds every absolute link on its address."""
    program = (
        "from bbtraining import create_app\n"
        "from bbtraining.urls import public_url\n"
        "app = create_app('development', SQLALCHEMY_DATABASE_URI='sqlite://')\n"
        "with app.app_context():\n"
        "    print(public_url('bookings.certificate_verify', code='ABC'))\n"
    )
    environ = {k: v for k, v in os.environ.items() if k not in {"PUBLIC_URL", "HOST", "PORT"}}
    done = subprocess.run(  # noqa: S603 - our own interpreter and program
        [sys.executable, "-c", program],
        env=child_env({**environ, "PORT": "5055"}),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip().startswith("http://127.0.0.1:5055/")


@pytest.mark.parametrize("language", ["nl", "en"])
def test_admin_people_tile_is_html_not_text(client, make_user, login, language):
    login(make_user("admin"))
    client.post(f"/language/{language}")
    page = client.get("/admin/").get_data(as_text=True)
    assert "&lt;article&gt;" not in page and "&lt;a href" not in page
    title = "Mensen en organisaties" if language == "nl" else "People and organisations"
    assert f"<h2>{title}</h2>" in page
    assert 'href="/admin/users/"' in page
    assert page.count(f"<h2>{title}</h2>") == 1  # registered once, however many apps exist


def test_language_chosen_before_login_is_kept(client, make_user):
    user = make_user("facilitator")
    assert user.locale == "nl"
    client.post("/language/en")
    response = client.post(
        "/auth/login", data={"email": user.email, "password": "een-goed-wachtwoord-42"}
    )
    assert response.status_code == 302
    page = client.get("/account/", follow_redirects=True).get_data(as_text=True)
    assert 'lang="en"' in page
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"  # mails follow the chosen language too


def test_login_without_a_choice_keeps_the_accounts_language(client, make_user):
    user = make_user("facilitator")
    user.locale = "en"
    db.session.commit()
    response = client.post(
        "/auth/login", data={"email": user.email, "password": "een-goed-wachtwoord-42"}
    )
    assert response.status_code == 302
    assert 'lang="en"' in client.get("/account/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"


def test_wrong_password_with_a_chosen_language_changes_nothing(client, make_user):
    user = make_user("facilitator")
    client.post("/language/en")
    response = client.post("/auth/login", data={"email": user.email, "password": "fout"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "nl"
