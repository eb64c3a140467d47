"""Match requests: sending, answering by portal and by signed link, contact details only after
acceptance, link authorization, daily limit, expiry, staff overview and shortlists."""

import re
import time
from datetime import date, timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from bbtraining.alumni import matches
from bbtraining.alumni.match_models import MatchRecipient, MatchRequest
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.conftest import outbox_to

FUTURE = (date.today() + timedelta(days=60)).strftime("%d-%m-%Y")


@pytest.fixture
def people(make_alumnus, make_client):
    anna = make_alumnus("Anna Utrecht", email="anna@example.nl", phone="06-12345678")
    bram = make_alumnus("Bram Gelderland", email="bram@example.nl", province="gelderland")
    client_user = make_client("Pieter Griffie", email="griffie@gemeente.nl", phone="030-7654321")
    return {"anna": anna, "bram": bram, "client": client_user}


def send_request(client, chosen, **overrides):
    query = "&".join(f"profile={p.id}" for p in chosen)
    data = {
        "profiles": ",".join(str(p.id) for p in chosen),
        "assembly": "Burgerberaad Klimaat",
        "organisation_name": "Gemeente Utrecht",
        "dates": FUTURE,
        "place": "Stadhuis Utrecht",
        "role": "table",
        "message": "Wij zoeken tafelbegeleiders.",
        **overrides,
    }
    return client.post(f"/alumni/requests/new?{query}", data=data)


def respond_link(email: str) -> str:
    body = outbox_to(email)[-1].text_body
    return re.search(r"http://bbtraining\.test(/alumni/respond/\S+)", body).group(1)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_request_accept_by_signed_link_shares_contacts_only_then(client, login, people):
    login(people["client"])
    form = client.get(
        f"/alumni/requests/new?profile={people['anna'].id}&profile={people['bram'].id}"
    )
    assert form.status_code == 200
    assert "Anna Utrecht" in form.get_data(as_text=True)
    response = send_request(client, [people["anna"], people["bram"]])
    assert response.status_code == 302, response.get_data(as_text=True)
    request_ = db.session.scalar(select(MatchRequest))
    assert [r.status for r in request_.recipients] == ["pending", "pending"]

    # The request mail tells what is asked, but not who the client is reachable at.
    anna_mail = outbox_to("anna@example.nl")[-1]
    assert "Burgerberaad Klimaat" in anna_mail.text_body
    assert "griffie@gemeente.nl" not in anna_mail.text_body
    assert "030-7654321" not in anna_mail.text_body
    detail = client.get(f"/alumni/requests/{request_.id}").get_data(as_text=True)
    assert "anna@example.nl" not in detail and "06-12345678" not in detail

    # A fresh browser (no login) follows Anna's link: GET shows buttons and changes nothing.
    client.post("/auth/logout")
    link = respond_link("anna@example.nl")
    page = client.get(link)
    assert page.status_code == 200
    assert "Accepteren" in page.get_data(as_text=True)
    db.session.expire_all()
    assert request_.recipients[0].status == "pending"
    answered = client.post(link, data={"decision": "accept"})
    assert answered.status_code == 302
    db.session.expire_all()
    assert request_.recipients[0].status == "accepted"
    assert request_.recipients[1].status == "pending"

    to_client = outbox_to("griffie@gemeente.nl")[-1]
    assert "anna@example.nl" in to_client.text_body and "06-12345678" in to_client.text_body
    to_anna = outbox_to("anna@example.nl")[-1]
    assert "griffie@gemeente.nl" in to_anna.text_body and "030-7654321" in to_anna.text_body
    assert not any("anna@example.nl" in m.text_body for m in outbox_to("bram@example.nl"))

    # The client now sees Anna's details on the request page, Bram's not.
    login(people["client"])
    detail = client.get(f"/alumni/requests/{request_.id}").get_data(as_text=True)
    assert "anna@example.nl" in detail
    assert "bram@example.nl" not in detail

    # Answering twice changes nothing.
    again = client.post(link, data={"decision": "decline"}, follow_redirects=True)
    assert "al beantwoord" in again.get_data(as_text=True)
    db.session.expire_all()
    assert request_.recipients[0].status == "accepted"


def test_decline_in_the_portal_tells_the_client_without_contacts(client, login, people):
    login(people["client"])
    send_request(client, [people["bram"]])
    recipient = db.session.scalar(select(MatchRecipient))
    client.post("/auth/logout")
    login(people["bram"].user)
    inbox = client.get("/alumni/inbox").get_data(as_text=True)
    assert "Burgerberaad Klimaat" in inbox and "griffie@gemeente.nl" not in inbox
    account = client.get("/account/").get_data(as_text=True)
    assert "Burgerberaad Klimaat" in account  # the alumni panel lists it too
    response = client.post(
        f"/alumni/inbox/{recipient.id}/decline", data={"note": "Ik ben op vakantie."}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert recipient.status == "declined"
    mail = outbox_to("griffie@gemeente.nl")[-1]
    assert "Ik ben op vakantie." in mail.text_body
    assert "bram@example.nl" not in mail.text_body


def test_portal_answer_only_by_the_recipient(client, login, people, make_alumnus):
    login(people["client"])
    send_request(client, [people["anna"]])
    recipient = db.session.scalar(select(MatchRecipient))
    client.post("/auth/logout")
    login(people["bram"].user)
    assert client.post(f"/alumni/inbox/{recipient.id}/accept").status_code == 404
    client.post("/auth/logout")
    login(people["anna"].user)
    assert client.post(f"/alumni/inbox/{recipient.id}/accept", csrf=False).status_code == 400
    db.session.expire_all()
    assert recipient.status == "pending"
    assert client.post(f"/alumni/inbox/{recipient.id}/accept").status_code == 302
    db.session.expire_all()
    assert recipient.status == "accepted"


def test_signed_links_are_bound_to_their_recipient(client, login, people, app):
    login(people["client"])
    send_request(client, [people["anna"], people["bram"]])
    client.post("/auth/logout")
    anna_r, bram_r = db.session.scalars(select(MatchRecipient).order_by(MatchRecipient.id))
    anna_link = respond_link("anna@example.nl")
    bram_token = respond_link("bram@example.nl").rsplit("/", 1)[1]
    outbox_before = count(OutboxMessage)

    def refused(url, text_):
        for method in (client.get, client.post):
            page = (
                method(url, data={"decision": "accept"}) if method is client.post else method(url)
            )
            assert page.status_code == 400
            assert text_ in page.get_data(as_text=True)

    # Someone else's token on Anna's recipient URL, and Anna's token on Bram's URL.
    refused(f"/alumni/respond/{anna_r.id}/{bram_token}", "Deze link is ongeldig")
    anna_token = anna_link.rsplit("/", 1)[1]
    refused(f"/alumni/respond/{bram_r.id}/{anna_token}", "Deze link is ongeldig")
    # Tampered: one character changed, or a payload signed with another key.
    # Not the last character: its low bits are base64 padding, so some flips decode the same.
    flipped = anna_token[:-5] + ("A" if anna_token[-5] != "A" else "B") + anna_token[-4:]
    refused(f"/alumni/respond/{anna_r.id}/{flipped}", "Deze link is ongeldig")
    forged = URLSafeTimedSerializer("not-our-secret", salt=matches.TOKEN_SALT).dumps(
        [anna_r.id, anna_r.request_id, anna_r.token_nonce]
    )
    refused(f"/alumni/respond/{anna_r.id}/{forged}", "Deze link is ongeldig")
    # Expired: correctly signed, but longer ago than any request lives.
    days = app.config["ALUMNI_MATCH_EXPIRY_DAYS"] + 2

    class OldSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - days * 86400

    old = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt=matches.TOKEN_SALT, signer=OldSigner
    ).dumps([anna_r.id, anna_r.request_id, anna_r.token_nonce])
    refused(f"/alumni/respond/{anna_r.id}/{old}", "Deze link is verlopen")

    db.session.expire_all()
    assert [anna_r.status, bram_r.status] == ["pending", "pending"]
    assert count(OutboxMessage) == outbox_before


def test_link_of_an_expired_request_refuses_with_a_dutch_message(client, login, people):
    login(people["client"])
    send_request(client, [people["anna"]])
    client.post("/auth/logout")
    request_ = db.session.scalar(select(MatchRequest))
    request_.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = client.post(
        respond_link("anna@example.nl"), data={"decision": "accept"}, follow_redirects=True
    )
    assert "verlopen" in page.get_data(as_text=True)
    db.session.expire_all()
    assert request_.recipients[0].status == "pending"


def test_daily_limit_per_client(client, login, people, make_alumnus, app):
    app.config["ALUMNI_MATCH_DAILY_LIMIT"] = 3
    try:
        cato = make_alumnus("Cato", province="limburg")
        dirk = make_alumnus("Dirk", province="zeeland")
        login(people["client"])
        assert send_request(client, [people["anna"], people["bram"]]).status_code == 302
        requests_before, outbox_before = count(MatchRequest), count(OutboxMessage)
        refused = send_request(client, [cato, dirk])
        assert refused.status_code == 400
        body = refused.get_data(as_text=True)
        assert "hooguit 3 gespreksbegeleiders" in body
        assert "nog 1 bij" in body
        assert count(MatchRequest) == requests_before
        assert count(OutboxMessage) == outbox_before
        assert send_request(client, [cato]).status_code == 302
        assert send_request(client, [dirk]).status_code == 400
        assert count(MatchRequest) == requests_before + 1
    finally:
        app.config["ALUMNI_MATCH_DAILY_LIMIT"] = 20


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dates": ""}, "Dit veld is verplicht"),
        ({"dates": "32-13-2031"}, "geen datum"),
        ({"dates": "01-01-2001"}, "in de toekomst"),
        ({"role": "chef"}, "Not a valid choice|geldige keuze|Ongeldige keuze"),
        ({"assembly": ""}, "Dit veld is verplicht"),
        ({"profiles": ""}, "Kies minstens één gespreksbegeleider"),
    ],
)
def test_bad_request_input_changes_nothing(client, login, people, overrides, message):
    login(people["client"])
    outbox_before = count(OutboxMessage)
    profiles = [] if overrides.get("profiles") == "" else [people["anna"]]
    response = send_request(client, profiles, **overrides)
    assert response.status_code == 400
    assert re.search(message, response.get_data(as_text=True))
    assert count(MatchRequest) == 0
    assert count(OutboxMessage) == outbox_before


def test_requests_to_unsearchable_profiles_are_refused(client, login, people, make_alumnus):
    draft = make_alumnus("Concept", publish=False)
    login(people["client"])
    response = send_request(client, [people["anna"], draft])
    assert response.status_code == 400
    assert count(MatchRequest) == 0


def test_expiry_marks_pending_and_tells_the_client_once(client, login, people):
    login(people["client"])
    send_request(client, [people["anna"], people["bram"]])
    anna_r = db.session.scalar(select(MatchRecipient).order_by(MatchRecipient.id))
    matches.accept(anna_r)
    db.session.commit()
    assert matches.expire_due() == 0
    later = utcnow() + timedelta(days=15)
    assert matches.expire_due(now=later) == 1
    db.session.commit()
    assert matches.expire_due(now=later) == 0
    statuses = [
        r.status for r in db.session.scalars(select(MatchRecipient).order_by(MatchRecipient.id))
    ]
    assert statuses == ["accepted", "expired"]
    expired_mails = [m for m in outbox_to("griffie@gemeente.nl") if "verlopen" in m.subject]
    assert len(expired_mails) == 1 and "Bram Gelderland" in expired_mails[0].text_body


def test_expiry_task_runs_in_app_context(people, client, login):
    from bbtraining.alumni.tasks import expire_match_requests

    login(people["client"])
    send_request(client, [people["anna"]])
    request_ = db.session.scalar(select(MatchRequest))
    request_.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert expire_match_requests.run() == 1


def test_other_organisations_cannot_see_a_request(client, login, people, make_client):
    login(people["client"])
    send_request(client, [people["anna"]])
    request_ = db.session.scalar(select(MatchRequest))
    client.post("/auth/logout")
    login(make_client("Ander"))
    assert client.get(f"/alumni/requests/{request_.id}").status_code == 404
    assert "Burgerberaad Klimaat" not in client.get("/account/").get_data(as_text=True)


def test_colleague_at_the_same_organisation_sees_it(client, login, people, make_client):
    login(people["client"])
    send_request(client, [people["anna"]])
    request_ = db.session.scalar(select(MatchRequest))
    client.post("/auth/logout")
    login(make_client("Collega", organisation=people["client"].organisation))
    assert client.get(f"/alumni/requests/{request_.id}").status_code == 200


def test_staff_see_every_request_and_the_admin_tile(client, login, people, make_user):
    login(people["client"])
    send_request(client, [people["anna"], people["bram"]])
    client.post("/auth/logout")
    login(make_user("admin"))
    listing = client.get("/admin/alumni/matches?status=pending").get_data(as_text=True)
    assert "Burgerberaad Klimaat" in listing and "Pieter Griffie" in listing
    tile = client.get("/admin/").get_data(as_text=True)
    assert "1 verzoek wacht op antwoord" in tile


def test_staff_shortlist_then_client_sends_from_it(client, login, people, make_user):
    admin = make_user("admin")
    login(admin)
    page = client.get(
        f"/admin/alumni/shortlists/new?profile={people['anna'].id}&profile={people['bram'].id}"
    )
    assert page.status_code == 200
    response = client.post(
        f"/admin/alumni/shortlists/new?profile={people['anna'].id}&profile={people['bram'].id}",
        data={
            "profiles": f"{people['anna'].id},{people['bram'].id}",
            "client_id": people["client"].id,
            "title": "Begeleiders voor Utrecht",
            "note": "Beiden ervaren met klimaat.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    mail = outbox_to("griffie@gemeente.nl")[-1]
    link = re.search(r"http://bbtraining\.test(/alumni/shortlists/\d+)", mail.text_body).group(1)
    client.post("/auth/logout")
    login(people["client"])
    shortlist_page = client.get(link).get_data(as_text=True)
    assert "Anna Utrecht" in shortlist_page and "Bram Gelderland" in shortlist_page
    assert "anna@example.nl" not in shortlist_page
    assert "Begeleiders voor Utrecht" in client.get("/account/").get_data(as_text=True)
    shortlist_id = int(link.rsplit("/", 1)[1])
    sent = client.post(
        f"/alumni/requests/new?shortlist={shortlist_id}&profile={people['anna'].id}",
        data={
            "profiles": str(people["anna"].id),
            "assembly": "Burgerberaad Klimaat",
            "dates": FUTURE,
            "place": "Utrecht",
            "role": "lead",
        },
    )
    assert sent.status_code == 302
    assert db.session.scalar(select(MatchRequest)).shortlist_id == shortlist_id


def test_beat_runs_the_alumni_tasks(app):
    schedule = app.config["CELERY_BEAT_SCHEDULE"]
    assert schedule["alumni-expire-match-requests"]["task"] == "alumni.expire_match_requests"
    assert schedule["alumni-confirmation-reminders"]["task"] == "alumni.send_confirmation_reminders"


@pytest.mark.services
def test_contact_details_are_delivered_by_the_worker_on_acceptance(
    client, login, people, celery_worker, smtp_server
):
    login(people["client"])
    send_request(client, [people["anna"]])
    client.post("/auth/logout")
    link = respond_link("anna@example.nl")
    assert client.post(link, data={"decision": "accept"}).status_code == 302

    def delivered(subject_part: str):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for _rcpt, msg in list(smtp_server.messages):
                if subject_part in str(msg["Subject"]):
                    return msg.get_body(("plain",)).get_content()
            time.sleep(0.1)
        raise AssertionError(f"no mail with {subject_part!r} delivered")

    to_client = delivered("wil uw burgerberaad begeleiden")
    to_anna = delivered("Contactgegevens van")
    assert "anna@example.nl" in to_client and "06-12345678" in to_client
    assert "griffie@gemeente.nl" in to_anna and "030-7654321" in to_anna
