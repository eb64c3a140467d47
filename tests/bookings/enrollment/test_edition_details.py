"""Staff change a scheduled edition's place, enrollment deadline and price (courses admin).

A new place updates every invite (same UID, SEQUENCE + 1) and mails a short note of what
changed; a new price is for new enrollments only; bad input changes nothing.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.enrollment import cancellation
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.courses.models import AMSTERDAM, Edition, TrainingSession
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.conftest import outbox_to


@pytest.fixture
def admin(make_user, login):
    user = make_user("admin", name="Sanne de Vries")
    login(user)
    return user


@pytest.fixture
def edition(make_edition, make_user):
    trainer = make_user("trainer", email="trainer@example.nl", name="Tineke Trainer")
    return make_edition(days=2, start_in_days=30, trainer=trainer)


def url(edition) -> str:
    return f"/admin/courses/editions/{edition.id}/details"


def form(edition, **changes) -> dict:
    """The form as the page fills it, with some fields changed."""
    deadline = edition.enrollment_deadline
    data = {
        "location": edition.location or "",
        "online_url": edition.online_url or "",
        "enrollment_deadline": (
            deadline.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M") if deadline else ""
        ),
        "price_seat": "" if edition.price_seat is None else f"{edition.price_seat:.2f}",
    }
    return {**data, **changes}


def local(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M")


def ics(row):
    return Calendar.from_ical(row.calendar_ics).events[0]


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def snapshot(edition_id: int):
    db.session.expire_all()
    e = db.session.get(Edition, edition_id)
    return (
        e.location,
        e.online_url,
        e.enrollment_deadline,
        e.price_seat,
        [(s.location, s.online_url, s.revision) for s in e.sessions],
        db.session.scalar(select(func.count(OutboxMessage.id))),
        db.session.scalar(select(func.count(AuditEntry.id))),
    )


# -- location ----------------------------------------------------------------------------------
def test_new_location_updates_every_invite_and_mails_what_changed(
    client, admin, edition, make_enrollment, make_user
):
    eva = make_user("facilitator", email="eva@example.nl", name="Eva Jansen")
    piet = make_user("facilitator", email="piet@example.nl", name="Piet Post")
    make_enrollment(edition, eva)
    make_enrollment(edition, piet)
    invited = ("eva@example.nl", "piet@example.nl", "trainer@example.nl")
    uids = {
        email: sorted(
            str(ics(m)["UID"]) for m in outbox_to(email) if m.calendar_method == "REQUEST"
        )
        for email in invited
    }
    assert all(len(u) == 2 for u in uids.values())  # one invite per session

    response = client.post(url(edition), data=form(edition, location="Stadhuis Amersfoort"))
    assert response.status_code == 302

    db.session.expire_all()
    changed = db.session.get(Edition, edition.id)
    assert changed.location == "Stadhuis Amersfoort"
    assert [(s.location, s.revision) for s in changed.sessions] == [
        ("Stadhuis Amersfoort", 1),
        ("Stadhuis Amersfoort", 1),
    ]
    for email in invited:
        updates = [m for m in outbox_to(email) if m.subject.startswith("Gewijzigd:")]
        assert len(updates) == 2, email
        events = [ics(m) for m in updates]
        assert sorted(str(e["UID"]) for e in events) == uids[email]  # same UIDs ...
        assert {e["SEQUENCE"] for e in events} == {1}  # ... SEQUENCE + 1
        assert {str(e["LOCATION"]) for e in events} == {"Stadhuis Amersfoort"}
        assert {m.calendar_method for m in updates} == {"REQUEST"}
        [note] = [m for m in outbox_to(email) if m.subject.startswith("Nieuwe locatie:")]
        assert "Was: Utrecht" in note.text_body
        assert "Nu: Stadhuis Amersfoort" in note.text_body
        assert "andere plek" in note.text_body
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "edition.location_changed")
    )
    assert entry.object_id == edition.id and entry.actor_id == admin.id
    assert (entry.data["before"], entry.data["after"]) == ("Utrecht", "Stadhuis Amersfoort")


def test_a_session_moved_elsewhere_and_past_sessions_keep_their_place(client, admin, edition):
    first, second = edition.sessions
    second.location = "Zaal 4, elders"
    db.session.commit()
    response = client.post(url(edition), data=form(edition, location="Stadhuis Amersfoort"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingSession, first.id).location == "Stadhuis Amersfoort"
    kept = db.session.get(TrainingSession, second.id)
    assert (kept.location, kept.revision) == ("Zaal 4, elders", 0)


# -- price -------------------------------------------------------------------------------------
def test_new_price_is_for_new_enrollments_only(client, admin, edition, make_enrollment, make_user):
    assert edition.price_seat is None and edition.unit_price == Decimal("495.00")
    due = make_enrollment(edition, make_user("facilitator", email="due@example.nl"))
    paid = make_enrollment(edition, make_user("facilitator", email="paid@example.nl"))
    paid.mark_paid(paid.invoice.total, by=admin, via="bank")
    db.session.commit()
    invoices_before = {
        e.id: (e.invoice.number, e.invoice.total, [(ln.unit_price) for ln in e.invoice.lines])
        for e in (due, paid)
    }
    mails_before = len(outbox_to("due@example.nl")) + len(outbox_to("paid@example.nl"))

    response = client.post(url(edition), data=form(edition, price_seat="395,00"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).unit_price == Decimal("395.00")

    for enrollment_id, (number, total, prices) in invoices_before.items():
        kept = db.session.get(Enrollment, enrollment_id)
        assert kept.unit_price == Decimal("495.00")
        assert kept.invoice.number == number and kept.invoice.total == total == Decimal("598.95")
        assert [ln.unit_price for ln in kept.invoice.lines] == prices
    assert db.session.get(Enrollment, paid.id).amount_paid == Decimal("598.95")
    # A price change mails nobody.
    assert len(outbox_to("due@example.nl")) + len(outbox_to("paid@example.nl")) == mails_before

    new = make_enrollment(edition, make_user("facilitator", email="nieuw@example.nl"))
    assert new.unit_price == Decimal("395.00")
    assert new.invoice.total == Decimal("477.95")

    # Cancelling an old enrollment later credits what was invoiced, not today's price.
    outcome = cancellation.cancel_enrollment(
        db.session.get(Enrollment, due.id), by=admin, refund="full"
    )
    db.session.commit()
    credit = db.session.get(Enrollment, due.id).credit_invoice
    assert credit is not None and credit.total == Decimal("-598.95"), outcome
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "edition.price_changed")
    )
    assert (entry.data["before"], entry.data["after"]) == (None, "395.00")


# -- deadline ----------------------------------------------------------------------------------
def test_deadline_between_now_and_the_start_is_saved(client, admin, edition):
    deadline = edition.starts_at - timedelta(days=3)
    response = client.post(url(edition), data=form(edition, enrollment_deadline=local(deadline)))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).enrollment_deadline == deadline.replace(second=0)
    assert audit_actions()[-1] == "edition.deadline_changed"
    assert "edition.location_changed" not in audit_actions()


def test_deadline_after_the_start_is_refused(client, admin, edition):
    before = snapshot(edition.id)
    late = edition.starts_at + timedelta(hours=2)
    response = client.post(url(edition), data=form(edition, enrollment_deadline=local(late)))
    assert response.status_code == 400
    assert "De inschrijfdeadline moet vóór de eerste sessie liggen." in response.text
    assert snapshot(edition.id) == before


def test_deadline_in_the_past_is_refused_while_enrollment_is_open(client, admin, edition):
    before = snapshot(edition.id)
    past = datetime.now(UTC) - timedelta(days=1)
    response = client.post(url(edition), data=form(edition, enrollment_deadline=local(past)))
    assert response.status_code == 400
    assert "De inschrijfdeadline kan niet in het verleden liggen" in response.text
    assert snapshot(edition.id) == before


NEW_PLACE = {"location": "Amersfoort"}  # valid, but must not be saved beside a refused field


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"location": ""}, "Vul een locatie of een online link in."),
        ({"location": "   "}, "Vul een locatie of een online link in."),
        ({"location": "x" * 301}, "Een locatie is hooguit 300 tekens lang."),
        ({"price_seat": "-5", **NEW_PLACE}, "Vul een bedrag van 0 of meer in."),
        ({"price_seat": "100000000", **NEW_PLACE}, "Dit bedrag is te hoog"),
        ({"price_seat": "1" * 40, **NEW_PLACE}, "Dit bedrag is te hoog"),
        ({"price_seat": "12,345", **NEW_PLACE}, "hoogstens twee cijfers achter de komma"),
        ({"price_seat": "veel", **NEW_PLACE}, "Vul een bedrag in euro in"),
        ({"enrollment_deadline": "2026-02-30T10:00", **NEW_PLACE}, "Ongeldige datum"),
        ({"enrollment_deadline": "morgen", **NEW_PLACE}, "Ongeldige datum"),
        ({}, "Er is niets gewijzigd aan deze editie."),
    ],
)
def test_bad_input_gets_a_dutch_message_and_changes_nothing(
    client, admin, edition, make_enrollment, changes, message
):
    make_enrollment(edition)
    before = snapshot(edition.id)
    response = client.post(url(edition), data=form(edition, **changes))
    assert response.status_code == 400
    assert message in response.text
    assert snapshot(edition.id) == before


def test_a_cancelled_edition_does_not_change(client, admin, edition):
    edition.cancel("Te weinig aanmeldingen")
    db.session.commit()
    before = snapshot(edition.id)
    response = client.post(url(edition), data=form(edition, location="Amersfoort"))
    assert response.status_code == 400
    assert "Deze editie is geannuleerd of afgerond en verandert niet meer." in response.text
    assert snapshot(edition.id) == before


def test_the_edition_page_shows_the_form_filled_in(client, admin, edition):
    edition.price_seat = Decimal("450")
    db.session.commit()
    page = client.get(f"/admin/courses/editions/{edition.id}").text
    assert "Locatie, online link, inschrijfdeadline en prijs" in page
    assert 'value="Utrecht"' in page and 'value="450,00"' in page
