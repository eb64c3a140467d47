"""Booking a kennismakingsgesprek at /advies/kennismaking: the slots shown, a visitor and a
client booking, and every refusal (with its Dutch message, and nothing saved)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bbtraining.advice.models import AdviceCall
from bbtraining.auth.models import User
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.advice.call_helpers import as_utc, booking_form, counts, offered
from tests.conftest import outbox_to

URL = "/advies/kennismaking"


def test_the_page_offers_the_next_free_days_on_the_visitors_clock(client, make_advisor):
    make_advisor(name="Anke Adviseur")
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    slots = offered(html)
    assert slots, "no slots offered"
    starts = [as_utc(s) for s in slots]
    assert starts == sorted(starts)  # the next free days first
    assert starts[0] > utcnow() + timedelta(hours=24)  # minimum notice
    amsterdam = starts[0].astimezone(ZoneInfo("Europe/Amsterdam"))
    assert f"<span>{amsterdam:%H:%M}</span>" in html
    # The same slot on a New York clock: the page says which zone it shows.
    page = client.get(URL + "?tz=America/New_York")
    html = page.get_data(as_text=True)
    assert offered(html)[0] == slots[0]
    assert f"<span>{starts[0].astimezone(ZoneInfo('America/New_York')):%H:%M}</span>" in html
    assert "America/New_York" in html
    # A zone the server does not know falls back to Amsterdam instead of failing.
    page = client.get(URL + "?tz=Mars/Olympus_Mons")
    assert page.status_code == 200 and offered(page.get_data(as_text=True))[0] == slots[0]


def test_a_visitor_books_a_call_and_gets_an_account_and_invite(client, make_advisor):
    advisor = make_advisor(name="Anke Adviseur")
    slot = offered(client.get(URL).get_data(as_text=True))[0]
    response = client.post(URL, data=booking_form(slot, tz="Europe/London"))
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    call = db.session.scalar(select(AdviceCall))
    assert response.headers["Location"].startswith("/advies/gesprek/")
    assert call.starts_at == as_utc(slot) and call.advisor_id == advisor.id
    assert (call.mode, call.phase, call.time_zone) == ("online", "verkenning", "Europe/London")
    assert call.question == "Past een burgerberaad bij ons klimaatvraagstuk?"
    user = User.by_email("mila@zeist.example.nl")
    assert call.requester_id == user.id and user.is_client
    assert user.organisation.name == "Gemeente Zeist" == call.organisation.name
    # Signed in straight away; the confirmation page is the page of the call.
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Uw gesprek is ingepland" in html and "Anke Adviseur" in html
    assert client.get("/account/").status_code == 200
    subjects = [m.subject for m in outbox_to("mila@zeist.example.nl")]
    assert "Bevestigd: uw kennismakingsgesprek" in subjects
    [advisor_mail] = outbox_to(advisor.user.email)
    assert "Gemeente Zeist" in advisor_mail.subject and advisor_mail.calendar_method == "REQUEST"


def test_a_signed_in_client_books_for_their_organisation_by_phone(
    client, make_advisor, make_user, make_organisation, login
):
    make_advisor()
    org = make_organisation("Gemeente Houten")
    me = make_user("client", organisation=org, email="griffie@houten.example.nl")
    login(me)
    html = client.get(URL).get_data(as_text=True)
    assert 'name="organisation_name"' not in html and 'name="password"' not in html
    assert "Gemeente Houten" in html
    slot = offered(html)[0]
    data = booking_form(slot, mode="phone", phone="030 123 4567", phase="voorbereiding")
    for key in ("organisation_name", "organisation_kind", "contact_name", "contact_email"):
        data.pop(key)
    data.pop("password"), data.pop("password_confirm")
    response = client.post(URL, data=data)
    assert response.status_code == 303
    call = db.session.scalar(select(AdviceCall))
    assert call.organisation_id == org.id and call.requester_id == me.id
    assert (call.mode, call.phone, call.phase) == ("phone", "030 123 4567", "voorbereiding")
    [mail] = [m for m in outbox_to(me.email) if m.calendar_ics]
    assert "030 123 4567" in mail.text_body


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slot": ""}, "Kies een tijdstip voor het gesprek."),
        ({"slot": "morgen om tien"}, "Kies een tijdstip voor het gesprek."),
        ({"slot": "2027-01-12T09:00"}, "Kies een tijdstip voor het gesprek."),  # no zone
        ({"mode": "phone", "phone": ""}, "Vul het nummer in waarop de adviseur u kan bellen."),
        ({"mode": "fax"}, "Ongeldige keuze."),
        ({"phase": "afronding"}, "Ongeldige keuze."),
        ({"organisation_name": "  "}, "Vul de naam van uw organisatie in."),
        ({"contact_name": ""}, "Dit veld is verplicht."),
        ({"contact_email": "mila-at-zeist"}, "Vul een geldig e-mailadres in"),
        ({"password": "", "password_confirm": ""}, "Kies een wachtwoord voor uw account."),
        ({"password_confirm": "iets-anders-12345"}, "De wachtwoorden zijn niet gelijk."),
        ({"question": "x" * 2001}, "Houd uw tekst korter dan 2000 tekens."),
    ],
)
def test_bad_input_is_refused_in_dutch_and_saves_nothing(client, make_advisor, overrides, message):
    make_advisor()
    slot = offered(client.get(URL).get_data(as_text=True))[0]
    before = counts()
    response = client.post(URL, data=booking_form(**{"slot": slot, **overrides}))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert counts() == before
    assert offered(html), "the form comes back with slots to choose from"


def test_a_slot_taken_meanwhile_is_refused_with_fresh_slots(client, make_advisor, make_call):
    advisor = make_advisor(max_calls_per_day=8)
    slots = offered(client.get(URL).get_data(as_text=True))
    make_call(advisor, as_utc(slots[0]))  # someone else was quicker
    before = counts()
    response = client.post(URL, data=booking_form(slots[0]))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Dit tijdstip is net geboekt; kies een ander." in html
    assert counts() == before  # no call, no account, no organisation
    assert slots[0] not in offered(html)


def test_a_slot_inside_the_minimum_notice_is_refused(client, make_advisor):
    make_advisor(min_notice_hours=24)
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(hours=2)
    before = counts()
    response = client.post(URL, data=booking_form(f"{soon:%Y-%m-%dT%H:%MZ}"))
    assert response.status_code == 400
    assert 'id="slot-error"' in response.get_data(as_text=True)
    assert counts() == before


def test_an_email_that_has_an_account_is_asked_to_sign_in(client, make_advisor, make_user):
    make_advisor()
    make_user("client", email="mila@zeist.example.nl")
    slot = offered(client.get(URL).get_data(as_text=True))[0]
    before = counts()
    response = client.post(URL, data=booking_form(slot))
    assert response.status_code == 400
    assert 'id="contact_email-error"' in response.get_data(as_text=True)
    assert counts() == before


def test_without_csrf_nothing_is_booked(client, make_advisor):
    make_advisor()
    slot = offered(client.get(URL).get_data(as_text=True))[0]
    before = counts()
    response = client.post(URL, data=booking_form(slot), csrf=False)
    assert response.status_code == 400
    assert counts() == before


def test_booking_is_rate_limited(app, client, make_advisor):
    make_advisor()
    old = app.config["CONTACT_RATE_LIMIT"]
    app.config["CONTACT_RATE_LIMIT"] = "2 per minute"
    try:
        statuses = [client.post(URL, data={"slot": ""}).status_code for _ in range(3)]
    finally:
        app.config["CONTACT_RATE_LIMIT"] = old
    assert statuses == [400, 400, 429]


def test_the_home_page_sends_the_verkenning_phase_to_the_booking_page(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/advies/kennismaking?fase=verkenning"' in html
    page = client.get("/advies/kennismaking?fase=verkenning")
    assert page.status_code == 200
    assert 'checked id="phase-0" name="phase" required type="radio" value="verkenning"' in (
        page.get_data(as_text=True)
    )
