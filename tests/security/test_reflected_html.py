"""No page ever shows HTML that came from the request.

Every form of every page a role may open (found as tests/properties/test_bad_input.py finds them)
is sent once per field with an HTML payload in that field and plausible values in the others;
every page is opened with the payload in each query parameter it may read. Neither the answer
nor the page a redirect leads to (where a flash message appears) may contain the payload
unescaped. Messages are built one way (bbtraining/i18n.py); the last test keeps it that way.
"""

import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.properties.test_bad_input import QUERY_NAMES, Visitor, discover, pages_for, plausible
from tests.security.world import ROLES, build_world

# No spaces or commas: fields that split a list (dates, tags) keep it whole.
PAYLOAD = '"><svg/onload=alert(1)><script>x</script>'
PAYLOADS = (PAYLOAD, '"><img src=x onerror=alert(1)>')
RAW = ("<svg/onload", "<script>x", "<img src=x")
ROOT = Path(__file__).resolve().parents[2]


def _read_by_views() -> set[str]:
    """The query parameters the code reads by name."""
    names = set(QUERY_NAMES)
    for path in (ROOT / "bbtraining").rglob("*.py"):
        names.update(re.findall(r'request\.args\.get(?:list)?\("(\w+)"', path.read_text()))
    return names


def _unescaped(client, response) -> str | None:
    """The raw payload, where the answer (or the page it redirects to) shows it as HTML."""
    if response.status_code in (301, 302, 303) and response.location:
        location = urlsplit(response.location)
        response = client.get(location.path, query_string=location.query)
    if "text/html" not in (response.content_type or ""):
        return None
    body = response.get_data(as_text=True)
    for raw in RAW:
        at = body.find(raw)
        if at >= 0:
            return body[max(0, at - 150) : at + 80]
    return None


@pytest.fixture
def unlimited():
    from bbtraining.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True


@pytest.mark.parametrize("role", ROLES)
def test_no_form_field_reflects_html(app, client, unlimited, role):
    from bbtraining.extensions import db

    w = build_world()
    visitor = Visitor(client, w.user(role))
    forms = discover(client, app, w, role)
    assert forms
    found = []
    n = 0
    for form in forms:
        names = [name for name in form.fields if name != "csrf_token"]
        for name in names:
            n += 1
            data = {other: plausible(form.fields[other], n) for other in names}
            data[name] = PAYLOAD
            if form.method == "GET":
                response = client.get(form.action, query_string=data)
            else:
                response = client.post(form.action, data={**data, "csrf_token": visitor.token})
            shown = _unescaped(client, response)
            if shown:
                found.append(f"{form.method} {form.action} field {name!r}: …{shown}…")
            db.session.rollback()
            visitor.keep()
    assert not found, f"{role}: payload shown as HTML:\n" + "\n".join(found)


@pytest.mark.parametrize("role", ROLES)
def test_no_query_parameter_reflects_html(app, client, unlimited, role):
    w = build_world()
    Visitor(client, w.user(role))
    names = sorted(_read_by_views())
    found = []
    for page in pages_for(app, w, role):
        for name, payload in ((n, p) for n in names for p in PAYLOADS):
            url = page + ("&" if "?" in page else "?") + urlencode({name: payload})
            shown = _unescaped(client, client.get(url))
            if shown:
                found.append(f"GET {url}: …{shown}…")
    assert not found, f"{role}: payload shown as HTML:\n" + "\n".join(found)


def test_alumni_dates_error_is_escaped(client, login):
    """The issue's example: a client's search with a script for a date."""
    w = build_world()
    login(w.user("client"))
    body = client.get("/alumni/", query_string={"dates": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; is geen datum" in body


def test_messages_with_values_are_text_not_html(app):
    """One way to build a message: bbtraining.i18n.lazy_gettext (`_l`); a formatted message is
    not Markup-safe, so Jinja escapes the value in it."""
    from markupsafe import escape

    from bbtraining.i18n import lazy_gettext as _l

    with app.test_request_context():
        message = _l("%(value)s is geen datum.", value="<b>x</b>")
        assert str(escape(message)) == "&lt;b&gt;x&lt;/b&gt; is geen datum."
        assert str(message) == "<b>x</b> is geen datum."  # mails and PDFs get the text


def test_no_module_takes_lazy_gettext_from_flask_babel():
    offenders = []
    for path in (ROOT / "bbtraining").rglob("*.py"):
        if path.name == "i18n.py" and path.parent.name == "bbtraining":
            continue
        source = path.read_text()
        if re.search(r"from flask_babel import[^\n]*\blazy_(n)?gettext\b", source) or re.search(
            r"flask_babel\.lazy_", source
        ):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"import lazy_gettext from bbtraining.i18n instead: {offenders}"
