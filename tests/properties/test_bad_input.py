"""Every form, filled with hostile and malformed values: never a 500, never a partial write,
always an answer in Dutch.

The forms are found, not listed: for each role, every page that role may open (the access table
of tests/security/test_route_matrix.py, plus a few pages that need a query string) is rendered
and its <form> elements are parsed. Hypothesis then fills each field with either a plausible
value (so that the other fields get past validation and the hostile one reaches the service) or
something hostile: very long text, NUL and control characters, odd unicode, SQL and HTML
injection, wrong types (several values for one field), missing fields, huge and negative
numbers, impossible dates.

After each submission:
- the status is below 500;
- a refusal (4xx) changed no table: every row count is as before;
- an HTML answer is in Dutch (`<html lang="nl">`), and its error messages carry no English
  framework defaults.
Rate limits are switched off here (tests/security covers them), so every example reaches the view.
"""

import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure, InvalidArgument
from sqlalchemy import text

from bbtraining.extensions import db, limiter
from tests.conftest import PASSWORD
from tests.security.test_route_matrix import TABLE, app_rules
from tests.security.world import ROLES, World, build_world

EXAMPLES_PER_FORM = 25
# Tried in every field of every form: NUL (PostgreSQL text refuses it), a number beyond any
# column, a negative number, text longer than any column.
SWEEP = ("naam\x00met-nul", "9" * 30, "-1", "A" * 5000)

# Pages whose forms only appear with a query string or a particular object.
EVERY_ROLE = [
    lambda w: f"/editions/{w.open_edition.id}/enroll",
    lambda w: f"/editions/{w.full_edition.id}/enroll",  # the waiting list form
]
EXTRA_PAGES = {
    "anonymous": EVERY_ROLE,
    "facilitator": EVERY_ROLE,
    "client": [
        *EVERY_ROLE,
        lambda w: f"/alumni/requests/new?profile={w.profile.id}&profile={w.profile2.id}",
    ],
    "trainer": EVERY_ROLE,
    "admin": [*EVERY_ROLE, lambda w: f"/alumni/requests/new?profile={w.profile.id}"],
}
# Forms that end the session or switch the language: nothing to fill, and they would change
# what every later request sees.
SKIP_ACTIONS = ("/auth/logout", "/language/")


# -- finding the forms --------------------------------------------------------------------------
@dataclass
class Field:
    name: str
    kind: str  # input type, "textarea" or "select"
    value: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False


@dataclass
class Form:
    page: str
    method: str
    action: str
    fields: dict[str, Field] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.action} (from {self.page})"


class FormParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: Field | None = None
        self.textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page
            self.form = Form(self.page, (a.get("method") or "get").upper(), action)
            return
        if self.form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                if name and name not in self.form.fields:  # a named button carries a value
                    self.form.fields[name] = Field(name, "hidden", a.get("value", ""))
                return
            existing = self.form.fields.get(name)
            if kind in ("radio", "checkbox"):
                if existing is None:
                    existing = self.form.fields[name] = Field(name, kind)
                existing.options.append(a.get("value", "y"))
                if "checked" in a:
                    existing.value = a.get("value", "y")
                existing.multiple = kind == "checkbox" and len(existing.options) > 1
            else:
                self.form.fields[name] = Field(name, kind, a.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea = self.form.fields[name] = Field(name, "textarea")
        elif tag == "select" and name:
            self.select = self.form.fields[name] = Field(name, "select", multiple="multiple" in a)
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            self.select.options.append(value)
            if "selected" in a or not self.select.value:
                self.select.value = value
        elif tag == "button" and name:
            self.form.fields[name] = Field(name, "hidden", a.get("value", ""))

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            self.forms.append(self.form)
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def pages_for(app, w: World, role: str) -> list[str]:
    urls = []
    for rule, methods in sorted(app_rules(app).items()):
        route = TABLE[rule]
        if "GET" not in methods or role not in route.allow or route.last:
            continue
        if rule.startswith(("/static/", "/healthz", "/dev/")) or rule.endswith(
            (".pdf", ".csv", ".ics", ".json", ".jpg")
        ):
            continue
        urls.append(route.url(w, role) if callable(route.url) else route.url)
    return urls + [build(w) for build in EXTRA_PAGES.get(role, [])]


def discover(client, app, w: World, role: str) -> list[Form]:
    found: dict[str, Form] = {}
    for url in pages_for(app, w, role):
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        parser = FormParser(url)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            path = urlsplit(form.action).path
            fillable = [f for f in form.fields if f != "csrf_token"]
            if path.startswith(SKIP_ACTIONS) or not fillable:
                continue
            # The same form on several pages (a button in every row) is filled once.
            generic = re.sub(r"/\d+", "/<id>", path)
            signature = f"{form.method} {generic} {sorted(form.fields)}"
            found.setdefault(signature, form)
    return list(found.values())


# -- hostile values -----------------------------------------------------------------------------
OMIT = object()
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "naam\x00met-nul",
    "\x1b[31m\x07\x08\x0b\x0c",
    "\r\n\r\n",
    "\ufeff\u200b\u202e",
    '\'; DROP TABLE "user"; --',
    "' OR '1'='1",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}{% raw %}",
    "%s%s%s%n",
    "../../../etc/passwd",
    '=HYPERLINK("http://x")',
    "😀" * 50,
    "Ω≈ç√∫˜µ≤≥÷ éèê ñ ß",
    "A" * 5_000,
    "é" * 70_000,
]
HOSTILE_NUMBERS = [
    "-1",
    "0",
    "-99999999999999999999999",
    "99999999999999999999999999999",
    "1e309",
    "NaN",
    "inf",
    "1,5",
    "0x10",
    "١٢",
    "3.14159",
]
HOSTILE_DATES = [
    "2024-02-30",
    "0000-00-00",
    "9999-12-31",
    "31-12-9999",
    "1-1-1",
    "2024-13-01",
    "morgen",
    "12:99",
    "25:00",
    "1970-01-01T00:00",
]
HOSTILE_EMAILS = ["@", "a@b", "naam@", "x" * 300 + "@example.nl", "naam@example.nl\r\nBcc: x@y.nl"]


def plausible(f: Field, n: int) -> str:
    """A value a careful person would type, so that validation gets past this field."""
    future = date.today() + timedelta(days=60)
    if f.kind in ("select", "radio"):
        return f.value or next((o for o in f.options if o), "")
    if f.kind == "checkbox":
        return f.options[0] if f.options else "y"
    if f.value.strip():
        return f.value
    # Text inputs that expect something particular, recognised by their name.
    name = f.name.rsplit("-", 1)[-1]
    if f.kind in ("text", "textarea"):
        for hint, value in (
            ("date", f"{future:%d-%m-%Y}"),
            ("day", f"{future:%d-%m-%Y}"),
            ("email", f"iemand-{n}@example.nl"),
            ("phone", "030 123 45 67"),
            ("url", "https://example.nl/"),
            ("price", "100"),
            ("amount", "100"),
            ("quantity", "2"),
            ("vat", "21"),
            ("postcode", "3511 AB"),
            ("country", "NL"),
        ):
            if hint in name:
                return value
    by_kind = {
        "email": f"iemand-{n}@example.nl",
        "password": "een-ander-wachtwoord-7",
        "number": "3",
        "date": future.isoformat(),
        "time": "10:00",
        "datetime-local": f"{future.isoformat()}T10:00",
        "tel": "030 123 45 67",
        "url": "https://example.nl/",
    }
    return by_kind.get(f.kind, f"Tekst {n}")


def field_values(f: Field) -> st.SearchStrategy:
    hostile = st.sampled_from(HOSTILE_TEXT + HOSTILE_NUMBERS + HOSTILE_DATES + HOSTILE_EMAILS)
    free_text = st.text(max_size=40)
    big_integers = st.integers(min_value=-(10**30), max_value=10**30).map(str)
    one = st.one_of(hostile, free_text, big_integers)
    several = st.lists(one, min_size=2, max_size=3)  # the wrong type: a list for one value
    strategies = [st.just(OMIT), one, several]
    if f.options:
        strategies.append(st.lists(st.sampled_from(f.options), min_size=2, max_size=3))
    return st.one_of(*strategies)


@st.composite
def form_data(draw, form: Form) -> dict:
    """Mostly one or two bad fields among plausible ones, so the bad value gets past the
    form's other checks and reaches the service and the database; sometimes all bad."""
    names = [name for name in form.fields if name != "csrf_token"]
    bad = draw(
        st.one_of(
            st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True),
            st.just(names),
        )
    )
    return {name: draw(field_values(form.fields[name])) if name in bad else None for name in names}


# -- judging the answer -------------------------------------------------------------------------
ENGLISH = re.compile(
    r"\b(this field|is required|not a valid|invalid|must be|please|choose|enter a|error)\b", re.I
)
ALERT = re.compile(r'role="alert"[^>]*>(.*?)</', re.S)


def row_counts() -> dict[str, int]:
    tables = [t.name for t in db.metadata.sorted_tables]
    selects = [f"SELECT '{name}', COUNT(*) FROM \"{name}\"" for name in tables]  # noqa: S608
    union = " UNION ALL ".join(selects)
    db.session.rollback()
    return dict(db.session.execute(text(union)).all())


def problems_with(response, before: dict[str, int]) -> list[str]:
    problems = []
    status = response.status_code
    if status >= 500:
        return [f"{status} server error"]
    if 400 <= status < 500:
        after = row_counts()
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        if changed:
            problems.append(f"refused with {status} but rows changed: {changed}")
    if "text/html" in response.content_type and not 300 <= status < 400:
        body = response.get_data(as_text=True)
        if '<html lang="nl">' not in body:
            problems.append('answer not in Dutch (no <html lang="nl">)')
        english = [m for m in ALERT.findall(body) if ENGLISH.search(m)]
        if english:
            problems.append(f"English error text: {english[:2]}")
        if status >= 400 and 'role="alert"' not in body and "<h1>" not in body:
            problems.append(f"refused with {status} without saying why")
    return problems


def submit(client, form: Form, values: dict, token: str, n: int):
    data: dict[str, object] = {"csrf_token": token}
    for name, value in values.items():
        if value is OMIT:
            continue
        data[name] = plausible(form.fields[name], n) if value is None else value
    if form.method == "GET":
        data.pop("csrf_token")
        return client.get(form.action, query_string=data)
    return client.post(form.action, data=data)


class Visitor:
    """The role's browser session, put back when a form changed it: a registration signs the
    visitor in, a new password renews the session. Later forms must still be filled by the
    same role with a valid CSRF token, or they would test nothing."""

    def __init__(self, client, user):
        self.client, self.user = client, user
        self.start()

    def _state(self):
        with self.client.session_transaction() as session:
            return session.get("_user_id"), session.get("csrf_token")

    def start(self) -> None:
        for cookie in ("session", "remember_token"):
            self.client.delete_cookie(cookie)
        if self.user is not None:
            # The reset form on a token page may have given the account another password.
            db.session.rollback()
            db.session.refresh(self.user)
            if not self.user.check_password(PASSWORD):
                self.user.set_password(PASSWORD)
                db.session.commit()
            data = {"email": self.user.email, "password": PASSWORD}
            assert self.client.post("/auth/login", data=data).status_code == 302
        self.token = self.client._token()
        self.state = self._state()

    def keep(self) -> None:
        if self._state() != self.state:
            self.start()


def fill_form(visitor: Visitor, form: Form, counter: dict) -> None:
    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        database=None,
        # The same examples every run, so CI does not turn red at random; HYPOTHESIS_EXPLORE=1
        # lets a local run look further.
        derandomize=os.environ.get("HYPOTHESIS_EXPLORE") != "1",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(values=form_data(form))
    def fill(values):
        counter["n"] += 1
        before = row_counts()
        response = submit(visitor.client, form, values, visitor.token, counter["n"])
        problems = problems_with(response, before)
        visitor.keep()
        assert not problems, f"{form.key}: {problems}"

    # Before the random examples: each field in turn gets each of the values that most often
    # break a page, with every other field plausible.
    names = [name for name in form.fields if name != "csrf_token"]
    for name in names:
        for value in SWEEP:
            fill = example(values={n: value if n == name else None for n in names})(fill)
    fill()


@pytest.fixture
def unlimited():
    limiter.enabled = False
    yield
    limiter.enabled = True


@pytest.mark.parametrize("role", ROLES)
def test_no_form_fails_on_bad_input(app, client, unlimited, role):
    w = build_world()
    visitor = Visitor(client, w.user(role))
    forms = discover(client, app, w, role)
    assert forms, f"no forms found for {role}"
    failures: dict[str, str] = {}
    counter = {"n": 0}
    for form in forms:
        try:
            fill_form(visitor, form, counter)
        except InvalidArgument:
            raise
        except FlakyFailure as exc:  # the first failure did not repeat: the state moved on
            failures[form.key] = "; ".join(str(e)[:700] for e in exc.exceptions)
        except AssertionError as exc:
            failures[form.key] = str(exc)[:1500]
        except Exception as exc:  # a 500 raised through the test client, a database error
            failures[form.key] = f"{type(exc).__name__}: {exc}"[:1500]
        db.session.rollback()
        visitor.keep()

    assert not failures, f"{role}: {len(failures)} of {len(forms)} forms:\n" + "\n\n".join(
        f"{key}\n  {why}" for key, why in failures.items()
    )


# -- the variable parts of URLs -----------------------------------------------------------------
PATH_VALUES = [
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "%ff%fe",
    "A" * 3000,
    "%F0%9F%98%80",
    "%3Cscript%3E",
    "'%20OR%201=1",
    "-1",
    "9" * 30,
]


@pytest.mark.parametrize("role", ["anonymous", "admin"])
def test_odd_values_in_url_parts_are_never_a_server_error(app, client, unlimited, role):
    """Slugs, tokens, names and codes in the path: a 4xx (or the page), never a 500."""
    w = build_world()
    Visitor(client, w.user(role))
    problems = []
    for rule in app.url_map.iter_rules():
        names = [
            n
            for n, conv in rule._converters.items()
            if type(conv).__name__ != "BoundedIntConverter"
        ]
        if not names:
            continue
        for value in PATH_VALUES:
            values = {arg: 1 for arg in rule.arguments}
            values.update({name: "__value__" for name in names})
            if "decision" in values:
                values["decision"] = "accept"
            if "action" in values:
                values["action"] = "hide"
            try:
                _domain, path = rule.build(values)
            except Exception:  # noqa: S112 - a value an `any(...)` converter refuses
                continue
            url = path.replace("__value__", value)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                before = row_counts()
                try:
                    response = client.open(url, method=method, data={"csrf_token": client._token()})
                except Exception as exc:
                    problems.append(f"{method} {url[:120]}: {type(exc).__name__}: {exc}"[:300])
                    db.session.rollback()
                    continue
                found = problems_with(response, before)
                if found:
                    problems.append(f"{method} {url[:120]}: {found}")
    assert not problems, "\n".join(problems)


QUERY_NAMES = (
    "page",
    "q",
    "status",
    "sessions",
    "format",
    "next",
    "role",
    "shortlist",
    "profile",
    "course",
    "kind",
    "phase",
    "audience",
    "delivery",
    "province",
    "language",
    "min_age",
    "betaling",
)


@pytest.mark.parametrize("role", ROLES)
def test_odd_query_parameters_are_never_a_server_error(app, client, unlimited, role):
    """The parameters pages read from links (page numbers, filters, `next`), each page given
    all of them at once with the same odd value."""
    w = build_world()
    Visitor(client, w.user(role))
    problems = []
    for page in pages_for(app, w, role):
        for value in (*SWEEP, "0", "-99999999999999999999", "%"):
            before = row_counts()
            try:
                query = urlencode({name: value for name in QUERY_NAMES})
                response = client.get(page + ("&" if "?" in page else "?") + query)
            except Exception as exc:
                problems.append(f"{page} = {value[:20]!r}: {type(exc).__name__}: {exc}"[:300])
                db.session.rollback()
                continue
            found = problems_with(response, before)
            if found:
                problems.append(f"{page} = {value[:20]!r}: {found}")
    assert not problems, "\n".join(problems)
