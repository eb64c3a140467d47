"""Staff record where an organisation is established and its VAT number (issue #18, item 5): the
format per member state, the VIES answer stored with its time; bad input changes nothing."""

import pytest
from sqlalchemy import func, select

from bbtraining import vat
from bbtraining.audit import AuditEntry
from bbtraining.auth.models import Organisation
from bbtraining.extensions import db

BELGIAN = "BE0412345614"


@pytest.fixture
def admin(make_user, login):
    user = make_user("admin")
    login(user)
    return user


def state(org_id=None):
    db.session.expire_all()
    org = db.session.get(Organisation, org_id) if org_id else None
    return (
        (org.country, org.vat_number) if org else None,
        db.session.scalar(select(func.count(Organisation.id))),
        db.session.scalar(select(func.count(AuditEntry.id))),
    )


def post_vat(client, org, **data):
    prefix = f"org{org.id}-"
    return client.post(
        f"/admin/organisations/{org.id}/vat",
        data={
            f"{prefix}csrf_token": client._token(),
            **{prefix + key: value for key, value in data.items()},
        },
        csrf=False,
    )


def test_a_new_belgian_organisation_with_a_confirmed_number(client, admin, vies):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    response = client.post(
        "/admin/organisations/",
        data={
            "name": "Participatiehuis Gent vzw",
            "kind": "other",
            "country": "BE",
            "vat_number": "be 0412 345 614",
        },
    )
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation))
    assert (org.country, org.vat_number) == ("BE", BELGIAN)
    assert vat.reverse_charge(org.country, org.vat_number)
    page = client.get("/admin/organisations/").get_data(as_text=True)
    assert BELGIAN in page and "geldig volgens VIES" in page
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "organisation.vat_changed")
    )
    assert entry.data["after"] == ["BE", BELGIAN] and entry.data["vies"] == "valid"


def test_staff_change_the_vat_details_of_an_organisation(client, admin, make_organisation, vies):
    org = make_organisation("Participatiehuis Gent vzw", kind="other")
    vies.mode = "unavailable"
    response = post_vat(client, org, country="BE", vat_number=BELGIAN)
    assert response.status_code == 302
    assert state(org.id)[0] == ("BE", BELGIAN)
    page = client.get("/admin/organisations/").get_data(as_text=True)
    assert "nog niet gecontroleerd bij VIES" in page  # VIES away: saved, pending
    assert not vat.reverse_charge("BE", BELGIAN)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"country": "BE", "vat_number": "BE0412345615"}, "Dit btw-nummer klopt niet voor België"),
        ({"country": "NL", "vat_number": BELGIAN}, "Dit btw-nummer is van België, maar het"),
        ({"country": "BE", "vat_number": "GB123456789"}, "begint met de landcode van een EU-land"),
        ({"country": "BE", "vat_number": "BE0765432146"}, "Volgens de Europese btw-database"),
        ({"country": "US", "vat_number": ""}, "Not a valid choice"),
    ],
)
def test_bad_vat_details_are_refused_in_dutch_and_change_nothing(
    client, admin, make_organisation, vies, data, message
):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    org = make_organisation("Participatiehuis Gent vzw", kind="other")
    before = state(org.id)
    response = post_vat(client, org, **data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text if message != "Not a valid choice" else "field-error" in text
    assert state(org.id) == before


def test_a_new_organisation_with_a_bad_number_is_not_added(client, admin):
    before = state()
    response = client.post(
        "/admin/organisations/",
        data={"name": "Stad Antwerpen", "kind": "other", "country": "BE", "vat_number": "BE1"},
    )
    assert response.status_code == 400
    assert "Dit btw-nummer klopt niet voor België" in response.get_data(as_text=True)
    assert state() == before


def test_only_staff_change_vat_details(client, make_user, make_organisation, login):
    org = make_organisation()
    login(make_user("client", organisation=org))
    response = post_vat(client, org, country="BE", vat_number=BELGIAN)
    assert response.status_code == 403
    assert state(org.id)[0] == ("NL", None)


def test_an_unknown_organisation_is_a_404(client, admin):
    assert client.post("/admin/organisations/999/vat", data={}).status_code == 404


def test_the_demo_has_a_belgian_organisation_with_a_confirmed_number():
    from bbtraining.auth import demo

    demo.seed()
    demo.seed()  # idempotent
    db.session.commit()
    [org] = db.session.scalars(
        select(Organisation).where(Organisation.name == "Participatiehuis Gent vzw")
    ).all()
    assert (org.country, org.vat_number) == ("BE", BELGIAN)
    assert vat.clean_vat_number(org.vat_number, org.country) == BELGIAN
    assert vat.reverse_charge(org.country, org.vat_number)
    assert [m.email for m in org.members] == ["gent@example.be"]
