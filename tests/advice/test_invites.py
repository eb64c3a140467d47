"""The invites of a kennismakingsgesprek: REQUEST with a UID kept for life, a move as an update
with SEQUENCE + 1, a cancellation as a real CANCEL; moving and cancelling by the signed link up
to the minimum notice; another advisor taking the call over."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bbtraining.advice import calls
from bbtraining.advice.models import AdviceCall
from bbtraining.audit import AuditEntry
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.advice.call_helpers import (
    as_utc,
    booking_form,
    event_of,
    invites,
    offered,
    summary,
)
from tests.conftest import outbox_to

URL = "/advies/kennismaking"
CLIENT = "mila@zeist.example.nl"


def _book(client, advisor, **overrides):
    query = f"?tz=America/New_York&adviseur={advisor.id}"
    slot = offered(client.get(URL + query).get_data(as_text=True))[0]
    response = client.post(URL + query, data=booking_form(slot, tz="America/New_York", **overrides))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    call = db.session.scalar(select(AdviceCall))
    return call, response.headers["Location"]


def test_the_confirmation_is_a_request_with_a_stable_uid_for_client_and_advisor(
    client, make_advisor
):
    advisor = make_advisor(name="Anke Adviseur", meeting_url="https://meet.example.nl/anke")
    call, manage_url = _book(client, advisor)
    [to_client] = invites(CLIENT)
    [to_advisor] = invites(advisor.user.email)
    assert summary(to_client) == ("REQUEST", call.uid, 0)
    assert summary(to_advisor) == ("REQUEST", call.uid, 0)
    event = event_of(to_client)
    assert event.decoded("DTSTART") == call.starts_at
    assert str(event["LOCATION"]) == "https://meet.example.nl/anke"
    assert "mailto:" + CLIENT in str(event["ATTENDEE"]).lower()
    # The client reads the time on their own clock (they booked from New York)...
    [mail] = [m for m in outbox_to(CLIENT) if m.calendar_ics]
    new_york = call.starts_at.astimezone(ZoneInfo("America/New_York"))
    assert f"{new_york:%H:%M}" in mail.text_body and "(America/New_York)" in mail.text_body
    assert manage_url in mail.text_body  # the signed link to move or cancel
    # ...the advisor on Amsterdam's.
    [advisor_mail] = outbox_to(advisor.user.email)
    amsterdam = call.starts_at.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert f"{amsterdam:%H:%M}" in advisor_mail.text_body
    assert "/admin/advies/gesprekken/" in advisor_mail.text_body


def test_moving_by_link_sends_an_update_with_the_next_sequence(client, make_advisor):
    advisor = make_advisor()
    call, manage_url = _book(client, advisor)
    page = client.get(manage_url).get_data(as_text=True)
    later = [s for s in offered(page) if as_utc(s) > call.starts_at + timedelta(hours=2)][0]
    response = client.post(manage_url + "/verzetten", data={"slot": later})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    call = db.session.get(AdviceCall, call.id)
    assert call.starts_at == as_utc(later) and call.sequence == 1 and call.is_booked
    first, update = invites(CLIENT)
    assert summary(update) == ("REQUEST", summary(first)[1], 1)
    assert event_of(update).decoded("DTSTART") == as_utc(later)
    assert summary(invites(advisor.user.email)[-1]) == ("REQUEST", call.uid, 1)
    assert "Verzet: uw kennismakingsgesprek" in [m.subject for m in outbox_to(CLIENT)]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "advice_call.moved"))


def test_cancelling_by_link_sends_a_real_cancel_with_the_same_uid(client, make_advisor):
    advisor = make_advisor()
    call, manage_url = _book(client, advisor)
    response = client.post(manage_url + "/annuleren")
    assert response.status_code == 303
    db.session.expire_all()
    call = db.session.get(AdviceCall, call.id)
    assert call.is_cancelled and call.cancelled_at is not None
    for email in (CLIENT, advisor.user.email):
        cancel = invites(email)[-1]
        method, uid, sequence = summary(cancel)
        assert (method, uid) == ("CANCEL", call.uid) and sequence == call.sequence >= 1
        assert str(event_of(cancel)["STATUS"]) == "CANCELLED"
    page = client.get(manage_url).get_data(as_text=True)
    assert "Geannuleerd" in page and 'name="slot"' not in page
    # The slot is free again.
    assert f"{call.starts_at:%Y-%m-%dT%H:%MZ}" in offered(client.get(URL).get_data(as_text=True))


def test_after_the_minimum_notice_the_link_refuses_moving_and_cancelling(
    client, make_advisor, make_call
):
    advisor = make_advisor(min_notice_hours=24)
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(hours=3)
    call = make_call(advisor, soon)
    url = f"/advies/gesprek/{calls.manage_token(call)}"
    page = client.get(url).get_data(as_text=True)
    assert "kan tot 24 uur van tevoren" in page and 'name="slot"' not in page
    mails = len(outbox_to(call.requester.email))
    response = client.post(url + "/annuleren")
    assert response.status_code == 400
    assert "24 uur" in response.get_data(as_text=True)
    later = soon + timedelta(days=3)
    response = client.post(url + "/verzetten", data={"slot": f"{later:%Y-%m-%dT%H:%MZ}"})
    assert response.status_code == 400
    db.session.expire_all()
    call = db.session.get(AdviceCall, call.id)
    assert call.is_booked and call.starts_at == soon and call.sequence == 0
    assert len(outbox_to(call.requester.email)) == mails


def test_a_link_that_is_not_ours_is_a_404(client, make_advisor, make_call):
    advisor = make_advisor()
    call = make_call(advisor, utcnow() + timedelta(days=5))
    token = calls.manage_token(call)
    for bad in ("x", token[:-2] + "zz", "a" * 400):
        assert client.get(f"/advies/gesprek/{bad}").status_code == 404
        assert client.post(f"/advies/gesprek/{bad}/annuleren").status_code == 404


def test_another_advisor_taking_over_cancels_the_old_advisors_invite(
    client, make_advisor, make_user, login
):
    anke = make_advisor(name="Anke Adviseur")
    bram = make_advisor(name="Bram Adviseur")
    call, _url = _book(
        client,
        anke,
    )
    client.post("/auth/logout")
    staff = make_user("admin")
    login(staff)
    response = client.post(
        f"/admin/advies/gesprekken/{call.id}/adviseur", data={"advisor": str(bram.id)}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    call = db.session.get(AdviceCall, call.id)
    assert call.advisor_id == bram.id
    assert summary(invites(anke.user.email)[-1]) == ("CANCEL", call.uid, call.sequence)
    assert summary(invites(bram.user.email)[-1]) == ("REQUEST", call.uid, call.sequence)
    assert summary(invites(CLIENT)[-1]) == ("REQUEST", call.uid, call.sequence)
    assert "Bram Adviseur" in outbox_to(CLIENT)[-1].text_body


def test_moving_to_a_slot_taken_meanwhile_is_refused_and_changes_nothing(
    client, make_advisor, make_call
):
    advisor = make_advisor(max_calls_per_day=8)
    call, manage_url = _book(client, advisor)
    page = client.get(manage_url).get_data(as_text=True)
    other = [s for s in offered(page) if as_utc(s) > call.starts_at + timedelta(hours=2)][0]
    make_call(advisor, as_utc(other))  # someone else was quicker
    mails = len(outbox_to(CLIENT))
    response = client.post(manage_url + "/verzetten", data={"slot": other})
    assert response.status_code == 400
    assert "Dit tijdstip is net geboekt; kies een ander." in response.get_data(as_text=True)
    db.session.expire_all()
    again = db.session.get(AdviceCall, call.id)
    assert again.starts_at == call.starts_at and again.sequence == 0
    assert len(outbox_to(CLIENT)) == mails
