"""Every PDF with names and places people typed: odd text prints, it never breaks the page."""

import pytest
from sqlalchemy import update

from bbtraining.extensions import db
from tests.conftest import PASSWORD
from tests.security.test_route_matrix import TABLE
from tests.security.world import build_world

HOSTILE = [
    "Émile 😀 中文 ﷽ \u202eomgekeerd\u202c",
    "<b>vet</b> **ster** &amp; {{ 7*7 }}",
    "regel één\r\nregel twee\tmet tab\x1b[31m\x07",
    "W" * 300,
]


@pytest.mark.parametrize("text", HOSTILE, ids=["unicode", "markup", "control", "long"])
def test_pdfs_print_any_name(app, client, text):
    from bbtraining.auth.models import Organisation, User
    from bbtraining.bookings.inhouse.models import InhouseBooking
    from bbtraining.courses.models import Course, TrainingSession

    w = build_world()
    for model, values in (
        (User, {"name": text[:200]}),
        (Organisation, {"name": text[:200]}),
        (Course, {"title": text[:200]}),
        (TrainingSession, {"location": text[:200]}),
        (InhouseBooking, {"contact_name": text[:200]}),
    ):
        db.session.execute(update(model).values(**values))
    db.session.commit()
    problems = []
    for rule, route in TABLE.items():
        if not rule.endswith(".pdf"):
            continue
        role = "admin" if "admin" in route.allow else sorted(route.allow - {"anonymous"})[0]
        url = route.url(w, role)
        client.delete_cookie("session")
        user = w.user(role)
        client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        response = client.get(url)
        if response.status_code != 200 or not response.data.startswith(b"%PDF"):
            problems.append(f"{url} as {role}: {response.status_code}")
    assert not problems, "\n".join(problems)
