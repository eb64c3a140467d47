"""A saved change is never reported as lost: when the database connection dies after the
commit, the answer is the success redirect; when it dies before, the page says nothing was
saved and nothing was. The connection is killed for real, with pg_terminate_backend from a
second connection."""

import pytest
from sqlalchemy import create_engine, event, func, select, text

from bbtraining.auth.models import User
from bbtraining.bookings.inhouse.models import InhouseBooking
from bbtraining.extensions import db
from tests.bookings.inhouse.conftest import inhouse  # noqa: F401 - the fixture
from tests.bookings.inhouse.test_inhouse_request import _form as inhouse_form
from tests.conftest import require

pytestmark = pytest.mark.services


@pytest.fixture
def killer(app):
    """kill_after_commit() / kill_before_commit(): the next request's database connection is
    terminated right after (or before) its commit, from another connection."""
    require(db.engine.dialect.name == "postgresql", "PostgreSQL")
    admin = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    state = {"moment": None, "armed": False, "killed": 0}

    def terminate(pid: int) -> None:
        with admin.connect() as conn:
            # With a timeout PostgreSQL waits until the backend is gone.
            conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        state["killed"] += 1

    def before_commit(session):
        if state["moment"] == "before" and state["killed"] == 0:
            terminate(session.connection().connection.dbapi_connection.info.backend_pid)

    def after_commit(_session):
        if state["moment"] == "after" and state["killed"] == 0:
            state["armed"] = True

    def on_checkout(dbapi_connection, _record, _proxy):
        # The first connection taken after the commit (after the pool's liveness ping) dies.
        if state["armed"]:
            state["armed"] = False
            terminate(dbapi_connection.info.backend_pid)

    event.listen(db.session, "before_commit", before_commit)
    event.listen(db.session, "after_commit", after_commit)
    event.listen(db.engine, "checkout", on_checkout)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does, with the 500 page

    class Killer:
        def kill_after_commit(self):
            state.update(moment="after", killed=0)

        def kill_before_commit(self):
            state.update(moment="before", killed=0)

        @property
        def killed(self) -> int:
            return state["killed"]

    yield Killer()
    state["moment"] = None
    app.config["PROPAGATE_EXCEPTIONS"] = None
    event.remove(db.session, "before_commit", before_commit)
    event.remove(db.session, "after_commit", after_commit)
    event.remove(db.engine, "checkout", on_checkout)
    admin.dispose()


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_connection_lost_after_commit_answers_with_success(client, killer, inhouse):  # noqa: F811
    inhouse.course(slug="inspiratie")
    killer.kill_after_commit()
    response = client.post("/courses/inspiratie/request", data=inhouse_form())
    assert killer.killed == 1
    assert response.status_code == 303
    assert response.headers["Location"] in ("/", "/account/")
    assert _count(InhouseBooking) == 1  # the request is kept
    assert User.by_email("femke@amersfoort.example.nl") is not None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uw wijziging is opgeslagen" in page
    assert "niets opgeslagen" not in page

    # Sending the same form again (the person was unsure) makes no second request: the
    # account exists now, and the form asks to log in.
    again = client.post("/courses/inspiratie/request", data=inhouse_form())
    assert again.status_code != 500
    assert _count(InhouseBooking) == 1


def test_connection_lost_before_commit_says_nothing_was_saved(client, killer, inhouse):  # noqa: F811
    inhouse.course(slug="inspiratie")
    killer.kill_before_commit()
    response = client.post("/courses/inspiratie/request", data=inhouse_form())
    assert killer.killed == 1
    assert response.status_code == 500
    assert "Er is niets opgeslagen" in response.get_data(as_text=True)
    assert _count(InhouseBooking) == 0
    assert User.by_email("femke@amersfoort.example.nl") is None

    # Once the database answers again the same form goes through.
    response = client.post("/courses/inspiratie/request", data=inhouse_form())
    assert response.status_code == 302
    assert _count(InhouseBooking) == 1
