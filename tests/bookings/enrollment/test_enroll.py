"""Enrolling in an open edition: the page, invoice payment, refusals, cancellation, admin."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.auth.models import User
from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
from bbtraining.bookings.sessions.participants import session_participants
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.bookings.billing.support import pay_in_full, register_payment
from tests.bookings.conftest import seats_taken
from tests.conftest import outbox_to


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _snapshot(edition):
    """Everything an enrollment attempt could change."""
    return {
        "seats": seats_taken(edition),
        "enrollments": _count(Enrollment),
        "waitlist": _count(WaitlistEntry),
        "invoices": _count(Invoice),
        "users": _count(User),
        "mails": _count(OutboxMessage),
    }


def test_page_shows_price_both_ways_seats_and_billing_form(client, make_edition, make_user, login):
    edition = make_edition(capacity=12)
    login(make_user("facilitator", name="Eva de Vries"))
    page = client.get(f"/editions/{edition.id}/enroll")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert edition.course.title in text
    assert "495,00" in text  # excl. VAT
    assert "598,95" in text  # incl. 21 % VAT
    assert "Nog 12 plaatsen vrij" in text
    assert 'name="billing_street"' in text and 'name="vat_number"' in text
    assert 'value="Eva de Vries"' in text  # name prefilled
    assert 'value="stripe"' not in text  # Stripe is not configured: invoice only
    assert 'name="password"' not in text  # signed in: no account fields


def test_enroll_by_invoice_confirms_issues_invoice_mails_and_invites(
    client, make_edition, make_user, login, billing_form
):
    trainer = make_user("trainer", email="trainer@example.nl")
    edition = make_edition(capacity=3, days=2, trainer=trainer)
    user = make_user("facilitator", email="eva@example.nl")
    login(user)
    response = client.post(
        f"/editions/{edition.id}/enroll",
        data=billing_form(reference="PO-123", vat_number="nl 8123.45.678 b01"),
    )
    assert response.status_code == 302
    enrollment = db.session.scalar(select(Enrollment))
    assert response.headers["Location"].endswith(f"/enrollments/{enrollment.id}")
    assert enrollment.status == "confirmed" and enrollment.payment_status == "due"
    assert enrollment.seats == 1 and seats_taken(edition) == 1
    assert enrollment.unit_price == Decimal("495.00") and enrollment.vat_rate == Decimal("21.00")
    assert enrollment.vat_number == "NL812345678B01"  # stored compact
    invoice = enrollment.invoice
    assert invoice.status == "open" and invoice.total == Decimal("598.95")
    assert invoice.reference == "PO-123" and invoice.buyer_vat_number == "NL812345678B01"
    assert invoice.subject_type == "enrollment" and invoice.subject_id == enrollment.id
    mails = outbox_to("eva@example.nl")
    confirmation = [m for m in mails if m.subject.startswith("Inschrijving bevestigd")]
    assert len(confirmation) == 1
    assert invoice.number in confirmation[0].text_body
    assert "598,95" in confirmation[0].text_body
    assert len([m for m in mails if m.calendar_method == "REQUEST"]) == 2  # one per session
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"enrollment.created", "enrollment.confirmed", "invoice.issued"} <= actions

    detail = client.get(f"/enrollments/{enrollment.id}").get_data(as_text=True)
    assert "Bevestigd" in detail and invoice.number in detail
    pdf = client.get(f"/invoices/{invoice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    participants = session_participants(edition.sessions[0], include_trainer=False)
    assert [p.key for p in participants] == [f"enrollment:{enrollment.id}"]


def test_other_people_cannot_see_an_enrollment_or_its_invoice(
    client, make_enrollment, make_user, login
):
    enrollment = make_enrollment()
    login(make_user("facilitator"))
    assert client.get(f"/enrollments/{enrollment.id}").status_code == 404
    assert client.get(f"/invoices/{enrollment.invoice_id}.pdf").status_code == 404
    assert client.post(f"/enrollments/{enrollment.id}/cancel").status_code == 404
    client.post("/auth/logout")
    login(make_user("admin"))
    assert client.get(f"/enrollments/{enrollment.id}").status_code == 200
    assert client.get(f"/invoices/{enrollment.invoice_id}.pdf").status_code == 200


def test_visitor_creates_account_and_enrolls_in_one_flow(client, make_edition, billing_form):
    edition = make_edition()
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert 'name="password_confirm"' in page
    response = client.post(
        f"/editions/{edition.id}/enroll",
        data=billing_form(
            email="Nieuw@Example.nl",
            password="lange zin als wachtwoord",
            password_confirm="lange zin als wachtwoord",
        ),
    )
    assert response.status_code == 302, response.data
    user = User.by_email("nieuw@example.nl")
    assert user is not None and user.name == "Eva de Vries" and user.is_facilitator
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.user_id == user.id and enrollment.status == "confirmed"
    assert client.get("/account/").status_code == 200  # signed in by the same flow
    subjects = [m.subject for m in outbox_to("nieuw@example.nl")]
    assert "Bevestig uw e-mailadres" in subjects
    assert any(s.startswith("Inschrijving bevestigd") for s in subjects)


def test_visitor_with_an_existing_address_is_asked_to_log_in(
    client, make_edition, make_user, billing_form
):
    make_user("facilitator", email="eva@example.nl")
    edition = make_edition()
    before = _snapshot(edition)
    response = client.post(
        f"/editions/{edition.id}/enroll",
        data=billing_form(
            email="eva@example.nl",
            password="lange zin als wachtwoord",
            password_confirm="lange zin als wachtwoord",
        ),
    )
    assert response.status_code == 400
    assert "Er bestaat al een account met dit e-mailadres" in response.get_data(as_text=True)
    assert _snapshot(edition) == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vat_number": "NL12345"}, "Dit btw-nummer klopt niet"),
        ({"vat_number": "XX123456789"}, "Dit btw-nummer klopt niet"),
        ({"billing_postcode": "35111"}, "Vul een geldige postcode in, bijvoorbeeld 3511 AB."),
        ({"billing_street": ""}, "Dit veld is verplicht."),
        ({"accept_terms": ""}, "Ga akkoord met de annuleringsvoorwaarden"),
        ({"pay_by": "stripe"}, "Not a valid choice"),
        ({"pay_by": "contant"}, "Not a valid choice"),
    ],
)
def test_invalid_billing_input_is_refused_and_changes_nothing(
    client, make_edition, make_user, login, billing_form, overrides, message
):
    edition = make_edition()
    login(make_user("facilitator"))
    before = _snapshot(edition)
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form(**overrides))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    if message == "Not a valid choice":
        assert "field-error" in text
    else:
        assert message in text
    assert _snapshot(edition) == before


def test_missing_csrf_token_is_refused(client, make_edition, make_user, login, billing_form):
    edition = make_edition()
    login(make_user("facilitator"))
    before = _snapshot(edition)
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form(), csrf=False)
    assert response.status_code == 400
    assert _snapshot(edition) == before


def test_deadline_passed_is_refused_with_a_clear_message(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition(enrollment_deadline=datetime.now(UTC) - timedelta(hours=1))
    login(make_user("facilitator"))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert "uiterste inschrijfdatum is verstreken" in page
    assert 'name="billing_street"' not in page
    before = _snapshot(edition)
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form())
    assert response.status_code == 409
    assert "uiterste inschrijfdatum is verstreken" in response.get_data(as_text=True)
    assert _snapshot(edition) == before


def test_full_edition_offers_the_waiting_list_and_changes_nothing(
    client, full_edition, make_user, login, billing_form
):
    edition = full_edition(capacity=2)
    login(make_user("facilitator"))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert "Vol" in page and "Zet mij op de wachtlijst" in page
    before = _snapshot(edition)
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form())
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Deze editie is vol" in text and "Zet mij op de wachtlijst" in text
    assert _snapshot(edition) == before


def test_second_enrollment_of_the_same_person_is_refused(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition()
    login(make_user("facilitator"))
    assert client.post(f"/editions/{edition.id}/enroll", data=billing_form()).status_code == 302
    before = _snapshot(edition)
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form())
    assert response.status_code == 409
    assert "U bent al ingeschreven voor deze editie" in response.get_data(as_text=True)
    assert _snapshot(edition) == before


def test_database_refuses_two_active_enrollments_for_one_person(make_enrollment, make_user):
    from sqlalchemy.exc import IntegrityError

    enrollment = make_enrollment()
    twin = Enrollment(
        user_id=enrollment.user_id,
        edition_id=enrollment.edition_id,
        pay_by="invoice",
        status="confirmed",
        billing_name="x",
        billing_street="x",
        billing_postcode="x",
        billing_city="x",
        unit_price=Decimal(1),
        vat_rate=Decimal(21),
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_more_seats_than_capacity(make_edition):
    from sqlalchemy.exc import IntegrityError

    edition = make_edition(capacity=2)
    edition.seats_taken = 3
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_unpublished_course_has_no_enrollment_page(client, make_course, make_edition):
    edition = make_edition(make_course(published=False))
    assert client.get(f"/editions/{edition.id}/enroll").status_code == 404


def test_account_panel_lists_enrollments_with_invoice_and_cancel(
    client, make_enrollment, make_user, login
):
    user = make_user("facilitator")
    enrollment = make_enrollment(user=user)
    login(user)
    page = client.get("/account/").get_data(as_text=True)
    assert "Mijn inschrijvingen" in page
    assert enrollment.edition.course.title in page
    assert enrollment.invoice.number in page
    assert f"/enrollments/{enrollment.id}/cancel" in page
    assert "Factuur open" in page


def test_participant_cancels_before_deadline_gets_credit_and_frees_seat(
    client, make_edition, make_enrollment, make_user, login
):
    edition = make_edition(capacity=2, start_in_days=30)
    user = make_user("facilitator", email="eva@example.nl")
    enrollment = make_enrollment(edition, user)
    login(user)
    page = client.get(f"/enrollments/{enrollment.id}/cancel").get_data(as_text=True)
    assert "creditfactuur" in page
    response = client.post(f"/enrollments/{enrollment.id}/cancel", data={"reason": "Ziek"})
    assert response.status_code == 302
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "cancelled" and enrollment.cancel_reason == "Ziek"
    assert seats_taken(edition) == 0
    credit = enrollment.credit_invoice
    assert credit.total == Decimal("-598.95") and credit.credit_for_id == enrollment.invoice_id
    assert enrollment.invoice.status == "credited" and enrollment.payment_status == "none"
    mails = outbox_to("eva@example.nl")
    assert any(m.subject.startswith("Inschrijving geannuleerd") for m in mails)
    cancel_mail = next(m for m in mails if m.subject.startswith("Inschrijving geannuleerd"))
    assert credit.number in cancel_mail.text_body
    assert {m.calendar_method for m in mails[-3:]} >= {"CANCEL"}
    assert session_participants(edition.sessions[0], include_trainer=False) == []


def test_participant_cannot_cancel_after_the_deadline(
    client, make_edition, make_enrollment, make_user, login
):
    edition = make_edition(start_in_days=5, free_cancellation_days=14)
    user = make_user("facilitator")
    enrollment = make_enrollment(edition, user)
    login(user)
    before = _snapshot(edition)
    page = client.get(f"/enrollments/{enrollment.id}").get_data(as_text=True)
    assert "Kosteloos annuleren kon tot" in page
    response = client.post(f"/enrollments/{enrollment.id}/cancel", data={})
    assert response.status_code == 302
    assert _snapshot(edition) == before
    assert db.session.get(Enrollment, enrollment.id).status == "confirmed"
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kosteloos annuleren kon tot" in follow


def test_admin_cancels_late_with_policy_percentage_credited(
    client, make_edition, make_enrollment, make_user, login
):
    edition = make_edition(start_in_days=5, free_cancellation_days=14, late_refund_percent=50)
    enrollment = make_enrollment(edition)
    login(make_user("admin"))
    response = client.post(
        f"/admin/enrollments/{enrollment.id}/cancel",
        data={"refund": "policy", "reason": "Op verzoek"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "cancelled"
    assert enrollment.credit_invoice.total == Decimal("-299.48")  # half of 598.95, VAT rounded
    assert enrollment.invoice.status == "open"  # the other half is still due
    assert seats_taken(edition) == 0


def test_admin_cancel_without_refund_leaves_the_invoice(client, make_enrollment, make_user, login):
    enrollment = make_enrollment()
    login(make_user("admin"))
    client.post(f"/admin/enrollments/{enrollment.id}/cancel", data={"refund": "none"})
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == "cancelled" and enrollment.credit_invoice_id is None
    assert enrollment.invoice.status == "open"


def test_only_admins_reach_admin_pages(client, make_enrollment, make_user, login):
    enrollment = make_enrollment()
    login(make_user("facilitator"))
    for url in (
        "/admin/enrollments",
        f"/admin/editions/{enrollment.edition_id}/enrollments",
        f"/admin/editions/{enrollment.edition_id}/enrollments.csv",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/admin/enrollments/{enrollment.id}/cancel").status_code == 403
    assert db.session.get(Enrollment, enrollment.id).status == "confirmed"


def test_admin_edition_page_and_csv_export(client, make_edition, make_enrollment, make_user, login):
    edition = make_edition(capacity=2)
    enrollment = make_enrollment(edition, make_user("facilitator", name="Eva de Vries"))
    from bbtraining.bookings.enrollment import waitlist

    waiting = make_user("facilitator", name="Piet Wachter")
    waitlist.join_waitlist(edition, waiting, seats=2, note="met collega Jan")
    db.session.commit()
    login(make_user("admin"))
    page = client.get(f"/admin/editions/{edition.id}/enrollments").get_data(as_text=True)
    assert "Eva de Vries" in page and "Piet Wachter" in page
    assert enrollment.invoice.number in page
    assert "Betaling registreren" in page  # payments due, each with its payment page
    overview = client.get("/admin/enrollments").get_data(as_text=True)
    assert edition.course.title in overview
    tile = client.get("/admin/").get_data(as_text=True)
    assert "1 open factuur" in tile and "1 op de wachtlijst" in tile

    response = client.get(f"/admin/editions/{edition.id}/enrollments.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[0][:3] == ["Soort", "Nummer", "Naam"]
    assert rows[1][2] == "Eva de Vries" and rows[1][9] == "598,95"
    assert rows[2][2] == "Piet Wachter" and rows[2][5] == "2" and rows[2][13] == "1"


def test_admin_marks_bank_transfer_paid_and_participant_hears(
    client, make_enrollment, make_user, login
):
    user = make_user("facilitator", email="eva@example.nl")
    enrollment = make_enrollment(user=user)
    login(make_user("admin"))
    response = pay_in_full(client, enrollment.invoice)
    assert response.status_code == 302
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.payment_status == "paid" and enrollment.paid_at is not None
    assert enrollment.amount_paid == Decimal("598.95")
    assert (
        enrollment.invoice.status == "paid" and enrollment.invoice.payment_method == "bank-transfer"
    )
    assert [m.subject for m in outbox_to("eva@example.nl")].count(
        f"Betaling ontvangen: {enrollment.edition.course.title}"
    ) == 1
    # the form sent again: nothing is open any more, nothing new
    register_payment(client, enrollment.invoice_id, "598,95")
    assert len([m for m in outbox_to("eva@example.nl") if "Betaling ontvangen" in m.subject]) == 1


def test_admin_cancels_edition_refunds_everyone_and_closes_waitlist(
    client, full_edition, make_user, login
):
    from bbtraining.bookings.enrollment import cancellation, waitlist

    edition = full_edition(capacity=2)
    waiting = make_user("facilitator", email="wacht@example.nl")
    waitlist.join_waitlist(edition, waiting)
    db.session.commit()
    login(make_user("admin"))
    refused = client.post(f"/admin/editions/{edition.id}/cancel-enrollments", data={"reason": ""})
    assert refused.status_code == 302
    assert db.session.get(type(edition), edition.id).status == "scheduled"
    response = client.post(
        f"/admin/editions/{edition.id}/cancel-enrollments",
        data={"reason": "Te weinig aanmeldingen", "confirm": "y"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(edition), edition.id).status == "cancelled"
    enrollments = db.session.scalars(select(Enrollment)).all()
    assert {e.status for e in enrollments} == {"cancelled"}
    assert all(e.credit_invoice is not None for e in enrollments)
    assert seats_taken(edition) == 0
    for e in enrollments:
        subjects = [m.subject for m in outbox_to(e.user.email)]
        assert any(s.startswith("Editie geannuleerd") for s in subjects)
    entry = db.session.scalar(select(WaitlistEntry))
    assert entry.status == "closed"
    assert any("Editie geannuleerd" in m.subject for m in outbox_to("wacht@example.nl"))
    # Settling the cancelled edition again changes nothing.
    mails = _count(OutboxMessage)
    cancellation.cancel_edition_enrollments(edition, None, "nogmaals")
    db.session.commit()
    assert _count(OutboxMessage) == mails


def test_edition_cancelled_signal_refunds_everyone(make_enrollment):
    from bbtraining.courses.signals import edition_cancelled

    enrollment = make_enrollment()
    edition = enrollment.edition
    edition.status = "cancelled"
    edition.cancel_reason = "Trainer ziek"
    edition_cancelled.send(edition, by=None, reason=edition.cancel_reason)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).status == "cancelled"
    assert seats_taken(edition) == 0
