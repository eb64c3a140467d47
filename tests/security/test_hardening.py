"""Hardening: security headers on every kind of response, cookie flags and proxy headers in the
production configuration, CSRF on every POST route, rate limits, secrets from the environment."""

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bbtraining import create_app
from bbtraining.extensions import db
from config import DEV_SECRET_KEY
from tests.conftest import PASSWORD, ROOT, CSRFClient
from tests.security.test_route_matrix import TABLE, app_rules
from tests.security.world import build_world

STRONG_KEY = "k3y-" + "x" * 44


def assert_security_headers(response, what: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", what
    assert "camera=()" in headers.get("Permissions-Policy", ""), what


def test_security_headers_on_every_kind_of_response(client, login):
    w = build_world()
    seen = {}

    def check(url, kind, method="GET", **kwargs):
        response = client.open(url, method=method, **kwargs)
        assert kind in response.content_type or kind == str(response.status_code), (
            url,
            response.status_code,
            response.content_type,
        )
        assert_security_headers(response, url)
        seen[kind] = url
        return response

    check("/", "text/html")
    check("/healthz", "application/json")
    check("/calendar/public.ics", "text/calendar")
    check("/static/css/app.css", "text/css")
    check("/bestaat-niet", "404")
    check("/account/", "302")
    check("/auth/login", "400", method="POST", data={"email": "x"})  # no CSRF token
    login(w.user("facilitator"))
    check(f"/invoices/{w.invoice.id}.pdf", "application/pdf")
    check("/alumni/privacy/export.json", "application/json")
    check(f"/alumni/{w.profile.id}/photo/{w.profile.photo_version}.jpg", "image/jpeg")
    check("/admin/", "403")
    client.post("/auth/logout")
    login(w.user("admin"))
    check("/admin/inhouse/export.csv", "text/csv")
    check(f"/admin/editions/{w.edition.id}/enrollments.csv", "text/csv")
    assert len(seen) == 11  # html, json, ics, css, pdf, jpeg, csv and the 302/400/403/404 pages


def _production_app(app, **overrides):
    prod = create_app(
        "production",
        SECRET_KEY=STRONG_KEY,
        PUBLIC_URL="https://bbtraining.test",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OUTBOX_AUTO_ENQUEUE=False,
        MAILBOX_DIR=app.config["MAILBOX_DIR"],
        RATELIMIT_KEY_PREFIX=app.config["RATELIMIT_KEY_PREFIX"] + "-prod",
        **overrides,
    )
    prod.test_client_class = CSRFClient
    return prod


@pytest.fixture
def production(app):
    prod = _production_app(app)
    yield prod
    with prod.app_context():
        db.session.remove()
        db.engine.dispose()


def _cookies(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def test_production_cookies_are_secure_httponly_and_host_only(production, make_user):
    user = make_user("facilitator")
    client = production.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "remember": "y"},
        # Over https Flask-WTF also wants the form to come from this site (as browsers say).
        headers={"Referer": "https://localhost/auth/login"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    cookies = _cookies(response)
    session_cookie = cookies["__Host-session"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in session_cookie, session_cookie
    assert "Domain=" not in session_cookie  # __Host-: bound to this host only
    remember = cookies["remember_token"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in remember, remember
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    assert_security_headers(response, "production login")


def test_production_trusts_exactly_one_proxy_for_scheme_and_client_address(production):
    """Behind the reverse proxy: https from X-Forwarded-Proto, so redirects and links stay
    https; a second, client-supplied X-Forwarded-For entry is not believed."""
    seen = {}

    @production.get("/_probe")
    def _probe():  # only on this throwaway app
        from flask import request, url_for

        seen.update(addr=request.remote_addr, link=url_for("auth.login", _external=True))
        return "ok"

    production.test_client().get(
        "/_probe",
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "training.example.nl",
            "X-Forwarded-For": "6.6.6.6, 203.0.113.9",
        },
    )
    assert seen["link"] == "https://training.example.nl/auth/login"
    assert seen["addr"] == "203.0.113.9"  # what our proxy saw, not what the client claimed


@pytest.mark.parametrize(
    "key", [None, DEV_SECRET_KEY, "kort-geheim", "x" * 31], ids=["unset", "dev", "short", "31"]
)
def test_production_refuses_to_start_without_a_strong_secret_key(monkeypatch, key):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    overrides = {} if key is None else {"SECRET_KEY": key}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SQLALCHEMY_DATABASE_URI="sqlite://", **overrides)
    assert create_app(
        "production",
        SQLALCHEMY_DATABASE_URI="sqlite://",
        SECRET_KEY=STRONG_KEY,
        PUBLIC_URL="https://bbtraining.test",
    )


def test_secrets_come_from_the_environment(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_from_env")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_env")
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-from-env")
    try:
        reloaded = importlib.reload(config)
        settings = reloaded.ProductionConfig
        assert settings.SECRET_KEY == STRONG_KEY
        assert settings.STRIPE_SECRET_KEY == "sk_test_from_env"
        assert settings.STRIPE_WEBHOOK_SECRET == "whsec_from_env"
        assert settings.SMTP_PASSWORD == "smtp-from-env"
    finally:
        monkeypatch.undo()
        importlib.reload(config)
    # Without them: no key to Stripe or SMTP at all, never a built-in one.
    assert (
        config.Config.STRIPE_SECRET_KEY is None or "STRIPE_SECRET_KEY" in __import__("os").environ
    )
    assert config.Config.SMTP_PASSWORD is None or "SMTP_PASSWORD" in __import__("os").environ


SECRET_PATTERNS = {
    "Stripe secret key": re.compile(r"sk_(live|test)_[0-9A-Za-z]{8,}"),
    "Stripe webhook secret": re.compile(r"whsec_[0-9A-Za-z]{8,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password in a URL": re.compile(r"://[^/\s:@\"']+:[^/\s@\"']+@"),
    "AWS key": re.compile(r"AKIA[0-9A-Z]{16}"),
}


def test_no_secrets_in_the_code():
    sources = [ROOT / "config.py", ROOT / "wsgi.py", *Path(ROOT / "bbtraining").rglob("*.py")]
    sources += list(Path(ROOT / "templates").rglob("*.*"))
    found = []
    for path in sources:
        text = path.read_text(errors="ignore")
        found += [
            f"{path.relative_to(ROOT)}: {name}"
            for name, p in SECRET_PATTERNS.items()
            if p.search(text)
        ]
    assert not found, found


# -- CSRF on every POST route ---------------------------------------------------------------------
CSRF_EXEMPT = {"/stripe/webhook"}  # authenticated by Stripe's signature instead


def _counts():
    from bbtraining.audit import AuditEntry
    from bbtraining.notifications.models import OutboxMessage

    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (AuditEntry, OutboxMessage)
    )


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(app, client):
    """As a role that may use the route (so the refusal is CSRF's, not the role gate's)."""
    w = build_world()
    preference = ("admin", "client", "facilitator", "trainer", "anonymous")
    by_role: dict[str, list[tuple[str, str]]] = {}
    for rule, methods in app_rules(app).items():
        if "POST" not in methods or rule in CSRF_EXEMPT:
            continue
        route = TABLE[rule].post or TABLE[rule]
        role = next(r for r in preference if r in route.allow)
        url = route.url(w, role) if callable(route.url) else route.url
        by_role.setdefault(role, []).append((rule, url))
    assert sum(len(v) for v in by_role.values()) > 60
    problems = []
    for role, routes in by_role.items():
        client.delete_cookie("session")
        if role != "anonymous":
            client.post("/auth/login", data={"email": w.user(role).email, "password": PASSWORD})
        for rule, url in routes:
            for data in ({}, {"csrf_token": "vervalst"}):
                before = _counts()
                response = client.post(url, data=data, csrf=False)
                body = response.get_data(as_text=True)
                if response.status_code != 400 or "Formulier verlopen" not in body:
                    problems.append(f"{role} {rule} {data}: {response.status_code}")
                elif _counts() != before:
                    problems.append(f"{role} {rule}: refused but wrote")
    assert not problems, problems
    assert set(by_role) >= {"admin", "client", "facilitator"}


# -- rate limits ----------------------------------------------------------------------------------
def _until_limited(post, limit: int) -> list[int]:
    return [post().status_code for _ in range(limit + 1)]


def test_password_reset_and_login_are_rate_limited_in_dutch(app, client):
    app.config.update(RESET_RATE_LIMIT="3 per minute", LOGIN_RATE_LIMIT="4 per minute")
    try:
        statuses = _until_limited(lambda: client.post("/auth/reset", data={"email": "a@b.nl"}), 3)
        assert statuses[-1] == 429 and 429 not in statuses[:-1]
        login = _until_limited(
            lambda: client.post("/auth/login", data={"email": "a@b.nl", "password": "x"}), 4
        )
        assert login[-1] == 429 and 429 not in login[:-1]
        response = client.post("/auth/login", data={"email": "a@b.nl", "password": "x"})
        assert "Te veel pogingen" in response.get_data(as_text=True)
    finally:
        app.config.update(RESET_RATE_LIMIT="5 per minute;20 per hour")
        app.config.update(LOGIN_RATE_LIMIT="10 per minute;50 per hour")


def test_contact_forms_are_rate_limited(app, client, login):
    """Inhouse requests and match requests share the contact limit."""
    w = build_world()
    old = app.config["CONTACT_RATE_LIMIT"]
    app.config["CONTACT_RATE_LIMIT"] = "3 per minute"
    try:
        url = f"/courses/{w.inhouse_course.slug}/request"
        statuses = _until_limited(lambda: client.post(url, data={"contact_name": "x"}), 3)
        assert statuses[-1] == 429 and set(statuses[:-1]) == {400}
        login(w.user("client"))
        before = _counts()
        statuses = _until_limited(
            lambda: client.post("/alumni/requests/new", data={"profiles": str(w.profile.id)}), 3
        )
        assert statuses[-1] == 429 and 429 not in statuses[:-1]
        assert _counts() == before
    finally:
        app.config["CONTACT_RATE_LIMIT"] = old
