"""Journey 6 in Chromium: staff see the pipeline on /admin/ (open requests, editions filling up,
payments due, match requests waiting) and act on one of each from there."""

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from bbtraining.alumni.match_models import Shortlist
from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.enrollment.models import WaitlistEntry
from bbtraining.bookings.inhouse import requests
from bbtraining.bookings.inhouse.models import InhouseBooking, today_amsterdam
from bbtraining.extensions import db
from tests.browser.conftest import browser_login
from tests.conftest import PASSWORD, outbox_to
from tests.security.world import build_world

pytestmark = pytest.mark.browser


def _fresh_request(w):
    with current_app.test_request_context():  # the new account's mail holds a link
        return _submit(w)


def _submit(w):
    booking, _new = requests.submit_request(
        w.inhouse_course,
        requests.RequestData(
            contact_name="Femke de Boer",
            contact_email="griffie@zeist.example.nl",
            expected_participants=20,
            delivery_mode="online",
            venue="",
            date_options=[(today_amsterdam() + timedelta(days=35), "morning")],
            assembly_phase="voorbereiding",
            assembly_context="De raad wil weten wat een burgerberaad vraagt.",
            organisation_name="Gemeente Zeist",
            organisation_kind="gemeente",
        ),
        account=requests.NewAccount(
            name="Femke de Boer", email="griffie@zeist.example.nl", password=PASSWORD
        ),
    )
    db.session.commit()
    return booking


def test_staff_see_the_pipeline_and_act_on_each_part(page, live_server):
    w = build_world()
    fresh = _fresh_request(w)
    browser_login(page, w.user("admin"))
    page.goto(f"{live_server.url}/admin/")
    tiles = page.locator("article")

    # -- what waits -----------------------------------------------------------------------------
    inhouse_tile = tiles.filter(has=page.get_by_role("heading", name="Inhouse-aanvragen"))
    # the fresh request and the one staff are drafting a proposal for
    assert inhouse_tile.get_by_role("link", name="2 nieuw").is_visible()
    assert inhouse_tile.get_by_role("link", name="2 wachten op de klant").is_visible()
    catalog_tile = tiles.filter(has=page.get_by_role("heading", name="Trainingen"))
    assert catalog_tile.get_by_text("2/10 bezet (20%)").is_visible()
    assert catalog_tile.get_by_text("1/1 bezet (100%)").first.is_visible()
    enroll_tile = tiles.filter(has=page.get_by_role("heading", name="Inschrijvingen"))
    assert enroll_tile.get_by_text("open facturen").is_visible()
    alumni_tile = tiles.filter(has=page.get_by_role("heading", name="Alumnipool"))
    assert alumni_tile.get_by_role("link", name="2 verzoeken wachten op antwoord").is_visible()

    # -- an open request: taken into review ----------------------------------------------------
    inhouse_tile.get_by_role("link", name="2 nieuw").click()
    page.get_by_role("link", name=fresh.reference).click()
    page.get_by_role("button", name="In behandeling nemen").click()
    assert page.get_by_text("De aanvraag is in behandeling.").is_visible()
    db.session.expire_all()
    assert db.session.get(InhouseBooking, fresh.id).status == "in_review"

    # -- a full edition: one more seat, offered to the first on its waiting list -------------
    page.goto(f"{live_server.url}/admin/")
    full = w.full_edition2
    catalog_tile.locator(f'a[href$="/admin/courses/editions/{full.id}"]').click()
    page.get_by_label("Nieuwe capaciteit").fill("2")
    page.get_by_role("button", name="Capaciteit aanpassen").click()
    assert page.get_by_text("De capaciteit is aangepast.").is_visible()
    db.session.expire_all()
    entry = db.session.get(WaitlistEntry, w.waiting_entry.id)
    assert entry.status == "offered"
    assert any("plaats" in m.subject.lower() for m in outbox_to(w.others["facilitator"].email))

    # -- a payment due: a bank transfer registered with its amount and date, then confirmed -----
    page.goto(f"{live_server.url}/admin/")
    enroll_tile.get_by_role("link", name="Edities en inschrijvingen").click()
    page.locator(f'a[href$="/admin/editions/{w.edition.id}/enrollments"]').click()
    due = page.locator("#payments-due")
    assert due.get_by_text(w.invoice.number).is_visible()
    due.get_by_role("row", name=w.invoice.number).get_by_role(
        "button", name="Betaling registreren"
    ).click()
    page.get_by_role("button", name="Verder").click()  # the open amount and today, proposed
    page.get_by_role("button", name="Betaling bevestigen").click()
    assert page.get_by_text(
        f"De betaling op factuur {w.invoice.number} is geregistreerd."
    ).is_visible()
    db.session.expire_all()
    assert db.session.get(Invoice, w.invoice.id).status == "paid"

    # -- match requests waiting: staff propose alumni themselves, with a shortlist -----------
    page.goto(f"{live_server.url}/admin/")
    alumni_tile.get_by_role("link", name="2 verzoeken wachten op antwoord").click()
    page.get_by_role("link", name="Burgerberaad klimaat").first.click()
    assert page.get_by_text(w.profile.display_name).first.is_visible()
    page.goto(f"{live_server.url}/alumni/?province=utrecht")
    page.get_by_label(f"Selecteer {w.profile.display_name}").check()
    page.get_by_role("button", name="Shortlist maken voor een opdrachtgever").click()
    page.get_by_label("Opdrachtgever", exact=True).select_option(str(w.user("client").id))
    page.get_by_label("Titel").fill("Begeleiders voor uw klimaatberaad")
    page.get_by_role("button", name="Shortlist maken en mailen").click()
    assert page.get_by_text(
        "De shortlist is gemaakt en naar de opdrachtgever gemaild."
    ).is_visible()
    made = db.session.scalar(select(Shortlist).where(Shortlist.title.like("Begeleiders%")))
    assert made.client_id == w.user("client").id
    assert [e.profile_id for e in made.entries] == [w.profile.id]
