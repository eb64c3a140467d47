import os
import subprocess
import sys

import pytest

from bbtraining import create_app
from tests.conftest import ROOT, database_url_for_tests


def test_security_headers_on_every_response(client):
    for url in ("/", "/auth/login", "/does-not-exist", "/healthz"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_dutch_404_and_403_pages(client, make_user, login):
    response = client.get("/bestaat-niet")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.get_data(as_text=True)
    login(make_user("facilitator"))
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "Geen toegang" in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login?next=%2Faccount%2F" in response.location


def test_language_switch_to_english_and_back(client):
    assert '<html lang="nl">' in client.get("/").get_data(as_text=True)
    client.post("/language/en", data={"next": "/auth/login"})
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log in" in page and "Wachtwoord vergeten?" not in page
    client.post("/language/nl")
    assert "Wachtwoord vergeten?" in client.get("/auth/login").get_data(as_text=True)
    assert client.post("/language/xx").status_code == 404


def test_accept_language_picks_english(client):
    page = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_money_and_dates_formatted_dutch(app):
    from datetime import UTC, datetime
    from decimal import Decimal

    with app.test_request_context("/"):
        money = app.jinja_env.filters["money"](Decimal("1210.5"))
        assert money.replace("\xa0", " ") == "€ 1.210,50"
        when = app.jinja_env.filters["datetime"](datetime(2027, 1, 12, 8, 0, tzinfo=UTC), "short")
        assert when == "12-01-2027, 09:00"  # CLDR nl short format, in Amsterdam time


def test_production_refuses_dev_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", PUBLIC_URL="https://training.example.nl")


# What production needs to start; each refusal below takes away one of them.
SAFE_PRODUCTION = {
    "SECRET_KEY": "x" * 40,
    "PUBLIC_URL": "https://training.example.nl",
    "SQLALCHEMY_DATABASE_URI": "sqlite://",
}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SECRET_KEY": "kort"}, "SECRET_KEY"),
        ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE must be True"),
        ({"REMEMBER_COOKIE_SECURE": False}, "REMEMBER_COOKIE_SECURE must be True"),
        ({"PUBLIC_URL": "http://training.example.nl"}, "PUBLIC_URL to the site's https"),
        ({"PUBLIC_URL": ""}, "PUBLIC_URL to the site's https"),
        ({"PUBLIC_URL": "https://"}, "PUBLIC_URL to the site's https"),
        ({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": None}, "STRIPE_WEBHOOK"),
    ],
    ids=[
        "short-secret",
        "session-cookie",
        "remember-cookie",
        "http-url",
        "no-url",
        "no-host",
        "stripe-without-webhook-secret",
    ],
)
def test_production_refuses_to_start_unsafe(overrides, named):
    with pytest.raises(RuntimeError, match="Refusing to start") as refused:
        create_app("production", **{**SAFE_PRODUCTION, **overrides})
    assert named in str(refused.value)


def test_production_names_every_problem_at_once():
    with pytest.raises(RuntimeError) as refused:
        create_app(
            "production",
            SECRET_KEY="kort",
            PUBLIC_URL="http://x.nl",
            STRIPE_SECRET_KEY="sk_test_x",
            STRIPE_WEBHOOK_SECRET=None,
            SQLALCHEMY_DATABASE_URI="sqlite://",
        )
    for named in ("SECRET_KEY", "PUBLIC_URL", "STRIPE_WEBHOOK_SECRET"):
        assert named in str(refused.value)


def test_production_starts_when_safe_and_other_configs_start_as_they_are():
    assert create_app("production", **SAFE_PRODUCTION)
    assert create_app(
        "production", **SAFE_PRODUCTION, STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="w"
    )
    # Development (make run) and testing keep their laptop defaults: http, the dev secret.
    for name in ("development", "testing"):
        app = create_app(name, SQLALCHEMY_DATABASE_URI="sqlite://")
        assert app.config["PUBLIC_URL"].startswith("http")


def test_production_cookies_are_secure(monkeypatch):
    prod = create_app("production", **SAFE_PRODUCTION)
    assert prod.config["SESSION_COOKIE_SECURE"] and prod.config["REMEMBER_COOKIE_SECURE"]
    assert prod.config["SESSION_COOKIE_HTTPONLY"]
    response = prod.test_client().get("/auth/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" in response.headers


def test_migrations_match_the_models(tmp_path):
    """`flask db upgrade` builds the schema the models describe (no missing migration)."""
    url = database_url_for_tests()
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    else:
        import sqlalchemy as sa

        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        name = f"bbt_migrations_{os.getpid()}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = url.rsplit("/", 1)[0] + f"/{name}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLASK_APP": "wsgi:app",
        "BBTRAINING_INSTANCE": str(tmp_path),
    }
    flask = [sys.executable, "-m", "flask"]
    upgrade = subprocess.run(
        [*flask, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    check = subprocess.run(
        [*flask, "db", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    seed = subprocess.run(
        [*flask, "seed-demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert seed.returncode == 0, seed.stderr[-2000:]
    assert "beheer@example.nl" in seed.stdout
