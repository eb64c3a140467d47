"""The request form at /courses/<slug>/request: who may ask, what is created, what is refused."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.auth.models import Organisation, User
from bbtraining.bookings.inhouse.models import InhouseBooking, InhouseTransition, today_amsterdam
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.conftest import PASSWORD, outbox_to

STAFF = "trainingen@bbtraining.localhost"  # STAFF_EMAIL default


def _form(**overrides):
    today = today_amsterdam()
    data = {
        "organisation_name": "Gemeente Amersfoort",
        "organisation_kind": "gemeente",
        "contact_name": "Femke de Boer",
        "contact_email": "femke@amersfoort.example.nl",
        "contact_phone": "033 469 4911",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "expected_participants": "30",
        "delivery_mode": "venue",
        "venue": "Stadhuis Amersfoort",
        "date_1": (today + timedelta(days=40)).isoformat(),
        "part_1": "evening",
        "date_2": (today + timedelta(days=47)).isoformat(),
        "part_2": "morning",
        "date_3": "",
        "part_3": "",
        "assembly_phase": "voorbereiding",
        "assembly_context": "Burgerberaad over wonen.",
        "questions": "Kunnen raadsleden aansluiten?",
    }
    data.update(overrides)
    return data


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_only_published_inhouse_courses_can_be_requested(client, inhouse):
    inhouse_course = inhouse.course(slug="inspiratie")
    both = inhouse.course(slug="masterclass", delivery="both", kind="masterclass")
    open_only = inhouse.course(slug="open-training", delivery="open")
    draft = inhouse.course(slug="concept", published=False)
    assert client.get(f"/courses/{inhouse_course.slug}/request").status_code == 200
    assert client.get(f"/courses/{both.slug}/request").status_code == 200
    for slug in (open_only.slug, draft.slug, "bestaat-niet"):
        assert client.get(f"/courses/{slug}/request").status_code == 404
        assert client.post(f"/courses/{slug}/request", data=_form()).status_code == 404
    assert _count(InhouseBooking) == 0


def test_visitor_creates_account_organisation_and_request_in_one_go(client, inhouse):
    course = inhouse.course(slug="inspiratie")
    response = client.post("/courses/inspiratie/request", data=_form())
    assert response.status_code == 302, response.data[:2000]
    booking = db.session.scalar(select(InhouseBooking))
    assert response.headers["Location"].endswith(f"/account/inhouse/{booking.id}")
    user = User.by_email("femke@amersfoort.example.nl")
    assert user.is_client and user.organisation.name == "Gemeente Amersfoort"
    assert booking.organisation_id == user.organisation_id
    assert booking.requested_by_id == user.id and not booking.membership_pending
    assert booking.course_id == course.id and booking.status == "submitted"
    assert booking.expected_participants == 30 and booking.venue == "Stadhuis Amersfoort"
    assert [(o.position, o.part_of_day) for o in booking.date_options] == [
        (1, "evening"),
        (2, "morning"),
    ]
    assert booking.assembly_phase == "voorbereiding"
    [created] = booking.transitions
    assert (created.action, created.from_status, created.to_status) == (
        "created",
        None,
        "submitted",
    )
    assert created.actor_id == user.id

    # Signed in straight away: the request page is theirs.
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and b"Inspiratiesessie burgerberaad" in page.data

    subjects = [m.subject for m in outbox_to("femke@amersfoort.example.nl")]
    assert any(booking.reference in s for s in subjects)  # confirmation
    assert "Bevestig uw e-mailadres" in subjects  # account verification
    [notice] = outbox_to(STAFF)
    assert booking.reference in notice.subject and "Gemeente Amersfoort" in notice.text_body
    assert "Kunnen raadsleden aansluiten?" in notice.text_body


def test_signed_in_client_requests_for_their_own_organisation(client, inhouse, login):
    inhouse.course(slug="inspiratie")
    me = inhouse.client_user(name="Pieter van Dijk", email="pieter@utrecht.example.nl")
    login(me)
    page = client.get("/courses/inspiratie/request")
    assert b"organisation_name" not in page.data and b"password" not in page.data
    assert b"pieter@utrecht.example.nl" in page.data  # contact defaults to the user
    data = _form(contact_name="Pieter van Dijk", contact_email="pieter@utrecht.example.nl")
    for key in ("organisation_name", "organisation_kind", "password", "password_confirm"):
        data.pop(key)
    response = client.post("/courses/inspiratie/request", data=data)
    assert response.status_code == 302
    booking = db.session.scalar(select(InhouseBooking))
    assert booking.organisation_id == me.organisation_id and not booking.membership_pending
    assert _count(Organisation) == 1


def test_signed_in_user_without_organisation_names_one(client, inhouse, login, make_user):
    inhouse.course(slug="inspiratie")
    me = make_user("facilitator", email="lotte@example.nl")
    login(me)
    data = _form(organisation_name="Waterschap Vallei", organisation_kind="waterschap")
    data.pop("password")
    data.pop("password_confirm")
    assert client.post("/courses/inspiratie/request", data=data).status_code == 302
    db.session.expire_all()
    me = db.session.get(User, me.id)
    assert me.organisation.name == "Waterschap Vallei" and me.is_client and me.is_facilitator


def test_existing_organisation_name_gives_no_access_until_staff_confirm(
    client, inhouse, login, make_organisation
):
    """Naming an existing organisation must not open its bookings: the request is filed with a
    pending membership, seen by the requester only, and staff confirm before a proposal."""
    inhouse.course(slug="inspiratie")
    utrecht = make_organisation("Gemeente Utrecht")
    colleague = inhouse.client_user(utrecht, email="griffie@utrecht.example.nl")
    earlier = inhouse.booking(colleague)

    response = client.post(
        "/courses/inspiratie/request",
        data=_form(organisation_name="gemeente  utrecht", contact_email="nieuw@example.nl"),
    )
    assert response.status_code == 302
    newcomer = User.by_email("nieuw@example.nl")
    booking = db.session.scalar(select(InhouseBooking).where(InhouseBooking.id != earlier.id))
    assert booking.organisation_id == utrecht.id and booking.membership_pending
    assert newcomer.organisation_id is None and newcomer.is_client
    # The newcomer sees their own request, not the organisation's earlier booking.
    assert client.get(f"/account/inhouse/{booking.id}").status_code == 200
    assert client.get(f"/account/inhouse/{earlier.id}").status_code == 404
    assert earlier.reference.encode() not in client.get("/account/").data
    client.post("/auth/logout")
    # The organisation's client does not see the unconfirmed request yet.
    login(colleague)
    assert client.get(f"/account/inhouse/{booking.id}").status_code == 404
    client.post("/auth/logout")

    with pytest.raises(DomainError, match="Bevestig eerst"):
        inhouse.proposal(booking)
    db.session.rollback()

    login(inhouse.staff)
    assert client.post(f"/admin/inhouse/{booking.id}/confirm-membership").status_code == 302
    client.post("/auth/logout")
    db.session.expire_all()
    assert db.session.get(User, newcomer.id).organisation_id == utrecht.id
    assert not db.session.get(InhouseBooking, booking.id).membership_pending
    assert any(t.action == "membership_confirmed" for t in booking.transitions)
    login(colleague)
    assert client.get(f"/account/inhouse/{booking.id}").status_code == 200
    inhouse.proposal(db.session.get(InhouseBooking, booking.id))  # now allowed


BAD_INPUT = [
    ({"date_1": "", "part_1": ""}, "Geef minstens één voorkeursdatum op."),
    ({"date_1": "morgen"}, "Vul een geldige datum in."),
    ({"part_1": ""}, "Kies een dagdeel bij deze datum."),
    ({"date_1": "2020-01-01"}, "Kies voorkeursdata na vandaag."),
    ({"date_2": None, "part_2": "evening"}, "dezelfde datum en hetzelfde dagdeel"),
    ({"expected_participants": "0"}, "Vul een aantal tussen 1 en 500 in."),
    ({"expected_participants": "501"}, "Vul een aantal tussen 1 en 500 in."),
    ({"expected_participants": "veel"}, "Ongeldig getal"),
    ({"expected_participants": ""}, "Vul het verwachte aantal deelnemers in."),
    ({"venue": ""}, "Vul de plaats of het adres van uw locatie in."),
    ({"organisation_name": " "}, "Vul de naam van uw organisatie in."),
    ({"contact_email": "geen-adres"}, "Vul een geldig e-mailadres in"),
    ({"password": "", "password_confirm": ""}, "Kies een wachtwoord voor uw account."),
    ({"password": "kort", "password_confirm": "kort"}, "minstens 10 tekens"),
    ({"password_confirm": "iets-anders-123"}, "De wachtwoorden zijn niet gelijk."),
    ({"assembly_context": "x" * 5001}, "korter dan 5000 tekens"),
    ({"organisation_name": "\x00", "venue": "\x00"}, "Vul de naam van uw organisatie in."),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_is_refused_in_dutch_and_changes_nothing(client, inhouse, overrides, message):
    inhouse.course(slug="inspiratie")
    data = _form()
    if overrides.get("date_2", "") is None:  # the same option twice
        overrides = {"date_2": data["date_1"], "part_2": data["part_1"]}
    data.update(overrides)
    response = client.post("/courses/inspiratie/request", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(InhouseBooking) == 0 and _count(User) == 0 and _count(Organisation) == 0


def test_existing_account_email_must_sign_in(client, inhouse, make_user):
    inhouse.course(slug="inspiratie")
    make_user("client", email="femke@amersfoort.example.nl")
    response = client.post("/courses/inspiratie/request", data=_form())
    assert response.status_code == 400
    assert "Er bestaat al een account met dit e-mailadres" in response.get_data(as_text=True)
    assert _count(InhouseBooking) == 0 and _count(Organisation) == 0


def test_request_without_csrf_token_is_refused(client, inhouse):
    inhouse.course(slug="inspiratie")
    response = client.post("/courses/inspiratie/request", data=_form(), csrf=False)
    assert response.status_code == 400
    assert "Formulier verlopen" in response.get_data(as_text=True)
    assert _count(InhouseBooking) == 0 and _count(InhouseTransition) == 0
