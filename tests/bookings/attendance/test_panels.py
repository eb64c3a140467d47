"""/account/ for trainers: today's, upcoming and past sessions; /admin/: today's sessions."""

from bbtraining.bookings.attendance import completion, marking, overviews
from bbtraining.extensions import db
from tests.bookings.attendance import support

# The attendance fixtures (support.py), bound here so pytest finds them.
roster, make_run, make_lone_session = support.roster, support.make_run, support.make_lone_session
trainer, staff = support.trainer, support.staff


def test_trainer_panel_shows_own_sessions(
    make_run, make_lone_session, make_user, roster, trainer, client, login
):
    today = make_run(trainer=trainer, starts=(-30,), title="Vandaag-training")
    upcoming = make_run(starts=(14 * 24 * 60,), edition_trainers=(trainer,), title="Later")
    past = make_run(trainer=trainer, starts=(-7 * 24 * 60,), title="Vorige week")
    someone_else = make_run(
        trainer=make_user("trainer", email="ander@example.nl"), starts=(-30,), title="Niet van mij"
    )
    key = roster.enroll(make_user("facilitator")).key
    marking.mark(past.sessions[0], key, "present", by=trainer)
    db.session.commit()
    login(trainer)
    page = client.get("/account/").get_data(as_text=True)
    assert "Mijn sessies als trainer" in page
    today_part = page.split("<h3>Vandaag</h3>")[1].split("<h3>")[0]
    assert "Vandaag-training" in today_part
    assert f"/attendance/sessions/{today.sessions[0].id}" in today_part
    assert f"/attendance/sessions/{upcoming.sessions[0].id}" in page  # as an edition trainer
    assert "Vorige week" in page and "1 van 1 genoteerd" in page
    assert "Niet van mij" not in page
    assert someone_else.sessions[0].id not in [
        s.id for s in overviews.trainer_past_sessions(trainer)
    ]


def test_trainer_panel_is_only_for_trainers(client, login, make_user):
    login(make_user("facilitator"))
    assert "Mijn sessies als trainer" not in client.get("/account/").get_data(as_text=True)


def test_admin_tile_lists_today_and_recent_completions(
    make_run, make_user, roster, trainer, staff, client, login
):
    today = make_run(trainer=trainer, starts=(-30,), title="Sessie van vandaag")
    done = make_run(trainer=trainer, starts=(-3 * 24 * 60,), title="Afgerond traject")
    roster.enroll(make_user("facilitator"))
    completion.run_due_completions()
    db.session.commit()
    login(staff)
    page = client.get("/admin/").get_data(as_text=True)
    assert f"/attendance/sessions/{today.sessions[0].id}" in page
    assert f"/attendance/sessions/{done.sessions[0].id}/completion" in page
