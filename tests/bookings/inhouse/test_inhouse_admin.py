"""Staff pages: the proposal form, session changes, and the pipeline with filters and CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.inhouse import cancellation
from bbtraining.bookings.inhouse.models import InhouseBooking, local_datetime, today_amsterdam
from bbtraining.bookings.inhouse.proposal_models import InhouseProposal
from bbtraining.courses.models import AMSTERDAM
from bbtraining.extensions import db


def _proposal_form(trainer_id: int, day, **overrides):
    data = {
        "sessions-0-day": day.isoformat(),
        "sessions-0-start": "19:30",
        "sessions-0-end": "21:30",
        "sessions-0-trainer_id": str(trainer_id),
        "sessions-0-location": "Raadzaal",
        "sessions-0-online_url": "",
        "sessions-1-day": "",
        "sessions-1-start": "",
        "sessions-1-end": "",
        "sessions-1-trainer_id": "0",
        "sessions-1-location": "",
        "lines-0-kind": "session-fee",
        "lines-0-description": "Inspiratiesessie",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "1.450,00",
        "lines-1-kind": "travel",
        "lines-1-description": "Reiskosten",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "45",
        "lines-2-kind": "materials",
        "lines-2-description": "",
        "lines-2-quantity": "",
        "lines-2-unit_price": "",
        "vat_rate": "21",
        "valid_until": (today_amsterdam() + timedelta(days=14)).isoformat(),
        "terms": "Annuleren tot vier weken vooraf.",
        "note": "Graag tot ziens!",
    }
    data.update(overrides)
    return data


def test_proposal_form_starts_from_the_request(inhouse, client, login):
    booking = inhouse.booking()
    inhouse.trainer  # noqa: B018 - a trainer to choose
    login(inhouse.staff)
    page = client.get(f"/admin/inhouse/{booking.id}/proposal").get_data(as_text=True)
    first_option = booking.date_options[0]
    assert f'value="{first_option.day.isoformat()}"' in page
    assert 'value="19:30"' in page and 'value="21:30"' in page  # evening, 120 minutes
    assert "Joost Trainer" in page and 'value="1450.00"' in page
    assert "Annuleren kan kosteloos" in page  # default terms


def test_staff_save_a_proposal_draft_through_the_form(inhouse, client, login):
    booking = inhouse.booking()
    day = today_amsterdam() + timedelta(days=20)
    login(inhouse.staff)
    response = client.post(
        f"/admin/inhouse/{booking.id}/proposal", data=_proposal_form(inhouse.trainer.id, day)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(f"/admin/inhouse/{booking.id}/proposal/draft")
    proposal = db.session.scalar(select(InhouseProposal))
    assert proposal.status == "draft" and proposal.version == 1 and proposal.sent_at is None
    [session] = proposal.sessions
    assert session.starts_at == local_datetime(day, datetime(2000, 1, 1, 19, 30).time())
    assert session.starts_at.tzinfo == UTC and session.trainer_id == inhouse.trainer.id
    assert [(ln.kind, ln.unit_price) for ln in proposal.lines] == [
        ("session-fee", Decimal("1450.00")),
        ("travel", Decimal("45.00")),
    ]
    assert proposal.note == "Graag tot ziens!" and proposal.vat_rate == Decimal("21.00")
    db.session.expire_all()
    assert db.session.get(InhouseBooking, booking.id).status == "submitted"  # nothing sent yet


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "sessions-0-day": "",
                "sessions-0-start": "",
                "sessions-0-end": "",
                "sessions-0-location": "",
            },
            "minstens één sessie",
        ),
        ({"sessions-0-trainer_id": "0"}, "Kies een trainer."),
        ({"sessions-0-trainer_id": "99999"}, "Kies een trainer."),
        ({"sessions-0-end": "18:00"}, "De eindtijd ligt na de begintijd."),
        ({"sessions-0-start": "half acht"}, "Vul een geldige tijd in"),
        ({"sessions-0-location": ""}, "Dit veld is verplicht."),
        ({"sessions-0-day": "2020-02-02"}, "in de toekomst liggen"),
        ({"lines-0-unit_price": "veel"}, "Vul een bedrag of getal in"),
        ({"lines-0-quantity": "0"}, "Vul een aantal boven 0 in."),
        ({"lines-0-kind": "korting"}, "Kies een soort kosten."),
        (
            {
                "lines-0-description": "",
                "lines-0-quantity": "",
                "lines-0-unit_price": "",
                "lines-1-description": "",
                "lines-1-quantity": "",
                "lines-1-unit_price": "",
            },
            "minstens één prijsregel",
        ),
        ({"vat_rate": "121"}, "Het btw-percentage ligt tussen 0 en 100."),
        ({"valid_until": "2020-01-01"}, "De geldigheidsdatum ligt in het verleden."),
        ({"valid_until": ""}, "Dit veld is verplicht."),
    ],
)
def test_bad_proposal_input_is_refused_and_nothing_is_sent(
    inhouse, client, login, overrides, message
):
    booking = inhouse.booking()
    day = today_amsterdam() + timedelta(days=20)
    login(inhouse.staff)
    before = len(db.session.scalars(select(InhouseBooking.id)).all())
    response = client.post(
        f"/admin/inhouse/{booking.id}/proposal",
        data=_proposal_form(inhouse.trainer.id, day, **overrides),
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(InhouseProposal)) == 0
    db.session.expire_all()
    assert db.session.get(InhouseBooking, booking.id).status == "submitted"
    assert len(db.session.scalars(select(InhouseBooking.id)).all()) == before


def test_trainer_conflict_shows_in_the_form(inhouse, client, login, make_edition):
    edition = make_edition(trainer=inhouse.trainer, days=1, start_in_days=20)
    busy = edition.sessions[0].starts_at.astimezone(AMSTERDAM)
    booking = inhouse.booking()
    login(inhouse.staff)
    data = _proposal_form(
        inhouse.trainer.id,
        busy.date(),
        **{
            "sessions-0-start": busy.strftime("%H:%M"),
            "sessions-0-end": (busy + timedelta(hours=1)).strftime("%H:%M"),
        },
    )
    response = client.post(f"/admin/inhouse/{booking.id}/proposal", data=data)
    assert response.status_code == 400
    assert "Joost Trainer is op" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(InhouseProposal)) == 0


def test_staff_change_and_cancel_a_session_through_the_pages(inhouse, client, login):
    booking = inhouse.scheduled()
    session = booking.sessions[0]
    login(inhouse.staff)
    url = f"/admin/inhouse/{booking.id}/sessions/{session.id}"
    assert client.get(url).status_code == 200
    new_day = session.local_start.date() + timedelta(days=2)
    response = client.post(
        url,
        data={
            "day": new_day.isoformat(),
            "start": "10:00",
            "end": "12:00",
            "trainer_id": str(inhouse.trainer.id),
            "location": "Raadzaal",
            "note": "Ochtend",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    session = db.session.get(type(session), session.id)
    assert session.local_start.date() == new_day and session.local_start.hour == 10
    assert session.revision == 1
    refused = client.post(f"{url}/cancel", data={"cancel-reason": ""}, follow_redirects=True)
    assert "Geef een reden" in refused.get_data(as_text=True)
    client.post(f"{url}/cancel", data={"cancel-reason": "Zaal bezet"})
    db.session.expire_all()
    assert db.session.get(type(session), session.id).is_cancelled


def test_pipeline_filters_and_next_action(inhouse, client, login, make_organisation):
    new = inhouse.booking(inhouse.client_user(make_organisation("Gemeente Almere")))
    waiting = inhouse.booking(inhouse.client_user(make_organisation("Provincie Utrecht")))
    inhouse.proposal(waiting)
    masterclass = inhouse.course(slug="masterclass", kind="masterclass", title="Masterclass")
    other = inhouse.booking(
        inhouse.client_user(make_organisation("Gemeente Delft")), course=masterclass
    )
    cancellation.cancel_booking(other, by=inhouse.staff, reason="dubbel")
    new.created_at = datetime.now(UTC) - timedelta(days=10)
    db.session.commit()
    login(inhouse.staff)

    def refs(query: str) -> set[str]:
        page = client.get(f"/admin/inhouse/{query}").get_data(as_text=True)
        return {b.reference for b in (new, waiting, other) if b.reference in page}

    assert refs("") == {new.reference, waiting.reference}  # open ones by default
    assert refs("?status=all") == {new.reference, waiting.reference, other.reference}
    assert refs("?status=cancelled") == {other.reference}
    assert refs(f"?status=all&course={masterclass.id}") == {other.reference}
    assert refs("?q=almere") == {new.reference}
    assert refs("?min_age=7") == {new.reference}
    page = client.get("/admin/inhouse/").get_data(as_text=True)
    assert "Beoordelen en voorstel maken" in page and "Wacht op klant" in page
    assert "10 dagen" in page
    assert client.get("/admin/inhouse/?min_age=abc").status_code == 400


def test_csv_export_follows_the_filters_and_defuses_formulas(
    inhouse, client, login, make_organisation
):
    booking = inhouse.booking(inhouse.client_user(make_organisation("=HYPERLINK(1)")))
    inhouse.proposal(booking)
    login(inhouse.staff)
    response = client.get("/admin/inhouse/export.csv?status=proposal_sent")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:5] == ["Referentie", "Ingediend", "Organisatie", "Training", "Status"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Referentie"] == booking.reference and row["Status"] == "Voorstel verstuurd"
    assert row["Organisatie"] == "'=HYPERLINK(1)"
    assert row["Totaal excl. btw"] == "1607.50"
    assert (
        client.get("/admin/inhouse/export.csv?status=paid").get_data(as_text=True).count("\n") == 1
    )


def test_admin_tile_counts_requests(inhouse, client, login):
    inhouse.booking()
    inhouse.proposal(inhouse.booking())
    login(inhouse.staff)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Inhouse-aanvragen" in page and "1 nieuw" in page
    assert "1 wacht op de klant" in page and "1 wachten" not in page
