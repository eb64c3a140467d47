"""Issue #15 item 16: staff follow up a match request that waits for answers: remind an alumnus
(mail through the outbox, audited, not twice within a day), close it with a reason the client is
told, forward it to other alumni who are findable in the pool."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.alumni import matches
from bbtraining.alumni.match_models import MatchRecipient, MatchRequest
from bbtraining.audit import AuditEntry
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.alumni.test_matches import send_request
from tests.conftest import outbox_to


@pytest.fixture
def waiting(client, login, make_alumnus, make_client, make_user):
    anna = make_alumnus("Anna Utrecht", email="anna@example.nl")
    bram = make_alumnus("Bram Gelderland", email="bram@example.nl", province="gelderland")
    carla = make_alumnus("Carla Zeeland", email="carla@example.nl", province="zeeland")
    hidden = make_alumnus("Henk Verborgen", email="henk@example.nl", publish=False)
    griffie = make_client("Pieter Griffie", email="griffie@gemeente.nl")
    login(griffie)
    send_request(client, [anna, bram])
    client.post("/auth/logout")
    staff = make_user("admin", email="staf@example.nl", name="Sanne Staf")
    login(staff)
    match = db.session.scalar(select(MatchRequest))
    return {
        "request": match,
        "anna": anna,
        "bram": bram,
        "carla": carla,
        "hidden": hidden,
        "client": griffie,
        "staff": staff,
        "anna_r": match.recipients[0],
    }


def _audit(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


def _state():
    return (
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("match.%"))
        ),
        [(r.id, r.status, r.reminded_at) for r in db.session.scalars(select(MatchRecipient))],
        [(m.id, m.closed_at, m.expires_at) for m in db.session.scalars(select(MatchRequest))],
    )


def test_staff_detail_page_shows_answers_and_candidates(waiting, client):
    match = waiting["request"]
    page = client.get(f"/admin/alumni/matches/{match.id}").get_data(as_text=True)
    assert "Burgerberaad Klimaat" in page and "Pieter Griffie" in page
    assert "Anna Utrecht" in page and "Wacht op antwoord" in page
    assert "Herinner Anna Utrecht" in page
    # Forwarding offers only findable alumni that were not asked yet.
    assert f'value="{waiting["carla"].id}"' in page
    assert f'value="{waiting["anna"].id}"' not in page
    assert "Henk Verborgen" not in page
    assert f"/admin/alumni/matches/{match.id}" in client.get("/admin/alumni/matches").get_data(
        as_text=True
    )
    searched = client.get(f"/admin/alumni/matches/{match.id}?q=zeel").get_data(as_text=True)
    assert "Carla Zeeland" in searched


def test_remind_mails_once_a_day_and_is_audited(waiting, client):
    match, anna_r = waiting["request"], waiting["anna_r"]
    url = f"/admin/alumni/matches/{match.id}/recipients/{anna_r.id}/remind"
    before = len(outbox_to("anna@example.nl"))
    response = client.post(url, follow_redirects=True)
    assert "Anna Utrecht krijgt een herinnering per e-mail." in response.get_data(as_text=True)
    mails = outbox_to("anna@example.nl")
    assert len(mails) == before + 1 and mails[-1].subject.startswith("Herinnering:")
    assert "/alumni/respond/" in mails[-1].text_body
    assert _audit("match.reminded") == 1
    # A second reminder the same day is refused and changes nothing.
    state = _state()
    response = client.post(url)
    assert response.status_code == 400
    assert "kreeg de afgelopen 24 uur al een herinnering" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _state() == state
    # A day later it may go again.
    db.session.get(MatchRecipient, anna_r.id).reminded_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    again = client.post(url)
    assert again.status_code == 302
    assert len(outbox_to("anna@example.nl")) == before + 2


def test_remind_refuses_an_answered_recipient(waiting, client):
    anna_r = waiting["anna_r"]
    matches.decline(anna_r)
    db.session.commit()
    state = _state()
    response = client.post(
        f"/admin/alumni/matches/{waiting['request'].id}/recipients/{anna_r.id}/remind"
    )
    assert response.status_code == 400
    assert "Alleen wie nog niet antwoordde" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _state() == state


def test_close_with_a_reason_tells_the_client_and_ends_open_answers(waiting, client):
    match = waiting["request"]
    url = f"/admin/alumni/matches/{match.id}/close"
    state = _state()
    response = client.post(url, data={"reason": "   "})
    assert response.status_code == 400
    assert "Geef een reden op; de opdrachtgever krijgt die te lezen." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert _state() == state
    response = client.post(url, data={"reason": "Het beraad gaat niet door."})
    assert response.status_code == 302
    db.session.expire_all()
    match = db.session.get(MatchRequest, match.id)
    assert match.is_closed and match.close_reason == "Het beraad gaat niet door."
    assert [r.status for r in match.recipients] == ["expired", "expired"]
    assert [r.status_label for r in match.recipients] == ["Gesloten", "Gesloten"]
    mail = outbox_to("griffie@gemeente.nl")[-1]
    assert "gesloten" in mail.subject and "Het beraad gaat niet door." in mail.text_body
    assert "Anna Utrecht" in mail.text_body
    assert _audit("match.closed") == 1
    client_page = client.get(f"/alumni/requests/{match.id}").get_data(as_text=True)
    assert "Reden: Het beraad gaat niet door." in client_page
    # Closed: no answers, reminders, forwards or second close.
    state = _state()
    anna_r = match.recipients[0]
    assert client.post(url, data={"reason": "Nogmaals"}).status_code == 400
    remind = f"/admin/alumni/matches/{match.id}/recipients/{anna_r.id}/remind"
    assert client.post(remind).status_code == 400
    forward = client.post(
        f"/admin/alumni/matches/{match.id}/forward", data={"profiles": [waiting["carla"].id]}
    )
    assert forward.status_code == 400
    db.session.expire_all()
    assert _state() == state
    with pytest.raises(DomainError, match="beantwoord of verlopen"):
        matches.accept(db.session.get(MatchRecipient, anna_r.id))
    db.session.rollback()


def test_forward_to_another_findable_alumnus(waiting, client):
    match, carla = waiting["request"], waiting["carla"]
    old_expiry = match.expires_at
    match.expires_at = utcnow() + timedelta(days=1)  # nearly out: forwarding gives a new term
    db.session.commit()
    response = client.post(
        f"/admin/alumni/matches/{match.id}/forward",
        data={"profiles": [carla.id]},
        follow_redirects=True,
    )
    assert "doorgestuurd naar 1 gespreksbegeleider" in response.get_data(as_text=True)
    db.session.expire_all()
    match = db.session.get(MatchRequest, match.id)
    assert [r.alumnus_id for r in match.recipients][-1] == carla.user_id
    assert match.expires_at >= old_expiry - timedelta(minutes=1)
    mail = outbox_to("carla@example.nl")[-1]
    assert "Verzoek" in mail.subject and "/alumni/respond/" in mail.text_body
    assert "griffie@gemeente.nl" not in mail.text_body  # contacts only on acceptance
    assert _audit("match.forwarded") == 1


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("hidden", "niet (meer) vindbaar in de alumnipool"),
        ("anna", "Anna Utrecht heeft dit verzoek al gekregen."),
        (None, "Kies minstens één gespreksbegeleider."),
        ("unknown", "niet (meer) vindbaar in de alumnipool"),
    ],
)
def test_forward_refusals_change_nothing(waiting, client, who, message):
    match = waiting["request"]
    special = {None: [], "unknown": [999999]}
    ids = special[who] if who in special else [waiting[who].id]
    state = _state()
    response = client.post(f"/admin/alumni/matches/{match.id}/forward", data={"profiles": ids})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert _state() == state


def test_only_staff_and_only_this_request(waiting, client, login, make_client):
    match, anna_r = waiting["request"], waiting["anna_r"]
    # A recipient of another request is a 404 under this one.
    client.post("/auth/logout")
    login(waiting["client"])
    send_request(client, [waiting["carla"]])
    second = db.session.scalars(select(MatchRequest).order_by(MatchRequest.id.desc())).first()
    client.post("/auth/logout")
    login(waiting["staff"])
    url = f"/admin/alumni/matches/{second.id}/recipients/{anna_r.id}/remind"
    assert client.post(url).status_code == 404
    assert client.get("/admin/alumni/matches/999999").status_code == 404
    state = _state()
    for user in (waiting["client"], make_client("Ander"), waiting["anna"].user):
        client.post("/auth/logout")
        login(user)
        assert client.get(f"/admin/alumni/matches/{match.id}").status_code == 403
        assert (
            client.post(f"/admin/alumni/matches/{match.id}/recipients/{anna_r.id}/remind")
        ).status_code == 403
        assert (
            client.post(f"/admin/alumni/matches/{match.id}/close", data={"reason": "x"})
        ).status_code == 403
        assert (
            client.post(
                f"/admin/alumni/matches/{match.id}/forward",
                data={"profiles": [waiting["carla"].id]},
            )
        ).status_code == 403
    db.session.expire_all()
    assert _state() == state


def test_demo_has_a_waiting_request_staff_can_follow_up(client, login, make_user):
    import importlib

    from bbtraining.cli import DEMO_SEEDERS

    for _round in range(2):  # idempotent
        for module_name in DEMO_SEEDERS:
            importlib.import_module(module_name).seed()
            db.session.commit()
    demo_requests = list(
        db.session.scalars(
            select(MatchRequest).where(MatchRequest.assembly == "Burgerberaad stikstof en landbouw")
        )
    )
    assert len(demo_requests) == 1
    assert [r.status for r in demo_requests[0].recipients] == ["pending", "pending"]
    login(make_user("admin", email="staf@example.nl"))
    page = client.get(f"/admin/alumni/matches/{demo_requests[0].id}").get_data(as_text=True)
    assert "Herinner" in page and "Verzoek doorsturen" in page
