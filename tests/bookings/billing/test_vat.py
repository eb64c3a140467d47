"""VAT numbers of EU clients (bbtraining/vat.py): the format per member state, the check against
a VIES peer on a local port (tests/vies_server.py), and when an invoice is reverse-charge."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bbtraining import vat
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db

BELGIAN = "BE0412345614"

# One well-formed number per member state (python-stdnum's own checks), spaced as people type.
WELL_FORMED = {
    "AT": "ATU 13585627",
    "BE": "be 0412.345.614",
    "DE": "DE 136 695 976",
    "FR": "FR 40 303 265 045",
    "GR": "EL 094259216",
    "LU": "LU 26375245",
    "NL": "NL 8123.45.678 B01",
}


@pytest.mark.parametrize(("country", "typed"), sorted(WELL_FORMED.items()))
def test_well_formed_numbers_come_back_compact(country, typed):
    number = vat.clean_vat_number(typed, country)
    assert number == typed.upper().replace(" ", "").replace(".", "")


def test_every_member_state_has_a_label_and_a_prefix():
    assert len(vat.EU_COUNTRIES) == 27
    assert vat.VAT_PREFIX["GR"] == "EL" and vat.COUNTRY_OF_PREFIX["EL"] == "GR"
    assert [code for code, _label in vat.country_choices()][0] == "NL"


@pytest.mark.parametrize(
    ("typed", "country", "message"),
    [
        ("BE0412345615", "BE", "Dit btw-nummer klopt niet voor België"),  # check digits
        ("DE12345", "DE", "Dit btw-nummer klopt niet voor Duitsland"),
        ("NL12345", "NL", "Dit btw-nummer klopt niet voor Nederland"),
        ("XX123456789", None, "begint met de landcode van een EU-land"),
        ("GB123456789", None, "begint met de landcode van een EU-land"),
        ("12345678", None, "begint met de landcode van een EU-land"),
        (BELGIAN, "NL", "Dit btw-nummer is van België, maar het gekozen land is Nederland"),
        ("X" * 41, None, "te lang"),
    ],
)
def test_bad_numbers_get_a_dutch_message(typed, country, message):
    with pytest.raises(DomainError, match=message) as caught:
        vat.clean_vat_number(typed, country)
    assert caught.value.field == "vat_number"


def test_empty_is_no_number():
    assert vat.clean_vat_number("", "BE") is None
    assert vat.clean_vat_number("   ", None) is None


# -- VIES ------------------------------------------------------------------------------------------
def test_vies_confirms_a_registered_number_and_the_answer_is_stored(vies):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    check = vat.verify(BELGIAN)
    assert check.status == "valid" and check.name == "Participatiehuis Gent vzw"
    assert check.checked_at is not None
    assert vies.requests == [{"countryCode": "BE", "vatNumber": "0412345614"}]
    # A recent answer is used again without asking.
    assert vat.verify(BELGIAN).status == "valid"
    assert len(vies.requests) == 1
    assert vat.reverse_charge("BE", BELGIAN)


def test_vies_says_unknown(vies):
    check = vat.verify(BELGIAN)
    assert check.status == "invalid" and check.checked_at is not None
    assert not vat.reverse_charge("BE", BELGIAN)
    with pytest.raises(DomainError, match="Volgens de Europese btw-database"):
        vat.check_for_booking(BELGIAN, "BE")


@pytest.mark.parametrize("mode", ["unavailable", "error", "slow", "garbage"])
def test_vies_away_leaves_the_number_pending_and_refuses_nothing(vies, mode):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    vies.mode = mode
    assert vat.check_for_booking("BE 0412.345.614", "BE") == BELGIAN
    check = db.session.get(vat.VatCheck, BELGIAN)
    assert check.status == "pending" and check.checked_at is None
    assert check.attempted_at is not None
    assert not vat.reverse_charge("BE", BELGIAN)


def test_no_vies_configured_is_pending(app):
    assert app.config["VIES_URL"] == ""
    assert vat.verify(BELGIAN).status == "pending"


def test_a_vies_url_that_is_not_http_is_never_opened(app, monkeypatch, tmp_path):
    answer = tmp_path / "check-vat-number"
    answer.write_text('{"valid": true, "name": "Uit een bestand"}')
    monkeypatch.setitem(app.config, "VIES_URL", f"file://{tmp_path}")
    check = vat.verify(BELGIAN)
    assert check.status == "pending" and check.name is None


def test_a_confirmed_number_stays_confirmed_while_vies_is_away(vies):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    vat.verify(BELGIAN)
    vies.mode = "unavailable"
    assert vat.verify(BELGIAN, force=True).status == "valid"


def test_the_beat_task_asks_again_about_pending_numbers(vies):
    vies.mode = "unavailable"
    vat.verify(BELGIAN)
    db.session.commit()
    vies.mode = "normal"
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    # Not yet due: asked a moment ago.
    assert vat.recheck_pending() == 0
    later = utcnow() + timedelta(hours=1)
    assert vat.recheck_pending(now=later) == 1
    check = db.session.scalar(select(vat.VatCheck))
    assert check.status == "valid" and check.checked_at == later
    assert vat.recheck_pending(now=later + timedelta(hours=2)) == 0  # nothing pending any more


def test_the_beat_task_runs_as_a_celery_task(vies, app):
    vies.mode = "unavailable"
    check = vat.verify(BELGIAN)
    check.attempted_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    vies.mode = "normal"
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    assert "vat-recheck-pending" in app.config["CELERY_BEAT_SCHEDULE"]
    from bbtraining.vat.tasks import recheck_pending_task

    assert recheck_pending_task.apply().get() == 1
    db.session.expire_all()
    assert db.session.get(vat.VatCheck, BELGIAN).status == "valid"


@pytest.mark.parametrize(
    ("country", "number", "expected"),
    [
        ("BE", BELGIAN, True),
        ("NL", BELGIAN, False),  # number of another country than the client's
        ("NL", "NL812345678B01", False),  # a Dutch client pays Dutch VAT
        ("BE", None, False),
        ("US", BELGIAN, False),
    ],
)
def test_reverse_charge_only_for_a_confirmed_business_in_another_member_state(
    vies, country, number, expected
):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    vies.registered["NL812345678B01"] = "Gemeente"
    for known in vies.registered:
        vat.verify(known)
    assert vat.reverse_charge(country, number) is expected
