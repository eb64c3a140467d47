"""The message catalogs: Dutch msgids, a complete English catalog, English pages.

After `make extract`, `scripts/check_translations.py` lists what these tests would reject.
"""

import gettext
import io

import pytest
from babel.messages.catalog import Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from scripts import check_translations

EN_PO = check_translations.po_path("en")


@pytest.fixture(scope="module")
def en_catalog():
    with EN_PO.open("rb") as handle:
        return read_po(handle)


def forms(message) -> list[tuple[str, str]]:
    """(msgid or msgid_plural, msgstr) per form; the singular pairs with msgid."""
    if isinstance(message.id, str):
        return [(message.id, message.string)]
    return [(message.id[min(n, 1)], text) for n, text in enumerate(message.string)]


def test_every_english_entry_is_translated(en_catalog):
    empty = [
        message.id
        for message in en_catalog
        if message.id and not all(text for _msgid, text in forms(message))
    ]
    fuzzy = [message.id for message in en_catalog if message.id and message.fuzzy]

    assert len(en_catalog) > 1000
    assert empty == []
    assert fuzzy == []


def test_english_placeholders_equal_the_dutch_ones(en_catalog):
    mismatched = [
        (msgid, text)
        for message in en_catalog
        if message.id
        for msgid, text in forms(message)
        if check_translations.placeholders(text) != check_translations.placeholders(msgid)
    ]

    assert mismatched == []
    # Babel's own checks, which `pybabel compile` reports as errors.
    assert [(message.id, errors) for message, errors in en_catalog.check()] == []


def test_english_catalog_compiles_and_translates(en_catalog):
    buffer = io.BytesIO()
    write_mo(buffer, en_catalog)
    buffer.seek(0)
    translations = gettext.GNUTranslations(buffer)

    assert translations.gettext("Factuur") == "Invoice"
    assert translations.gettext("Btw %(rate)s over %(base)s") == "VAT %(rate)s on %(base)s"
    assert translations.gettext("Trainingen filteren") == "Filter trainings"
    assert translations.ngettext("%(num)s plaats", "%(num)s plaatsen", 1) == "%(num)s place"
    assert translations.ngettext("%(num)s plaats", "%(num)s plaatsen", 3) == "%(num)s places"


def test_catalogs_match_the_template_without_obsolete_entries():
    # nl may leave msgstr empty (the Dutch msgid is shown), but must hold the same msgids.
    assert check_translations.problems(["en", "nl"]) == []


def test_msgids_are_dutch():
    template = check_translations.load(check_translations.TEMPLATE)
    msgids = {message.id for message in template if isinstance(message.id, str)}

    assert {"Factuur", "Creditfactuur", "Offerte", "Presentielijst"} <= msgids
    assert not {"Invoice", "Credit invoice", "Proposal", "Sign-in sheet", "Subtotal"} & msgids


def test_placeholder_helper_sees_names_widths_and_percent_signs():
    assert check_translations.placeholders("Btw (%(rate)s%%) %(max)d") == [
        "%%",
        "%(max)d",
        "%(rate)s",
    ]
    wrong = Message("a %(n)s", "b %(m)s")
    assert check_translations.message_problems(wrong, translated=True) == [
        "placeholders ['%(m)s'] in 'b %(m)s', expected ['%(n)s']"
    ]
    plural = Message(("%(num)s dag", "%(num)s dagen"), ("%(num)s day", ""))
    assert check_translations.message_problems(plural, translated=True) == ["empty msgstr"]
    assert check_translations.message_problems(plural, translated=False) == []


def test_catalog_page_in_english_and_dutch(client):
    english = client.get("/courses/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    dutch = client.get("/courses/", headers={"Accept-Language": "nl"})

    assert english.status_code == dutch.status_code == 200
    page = english.get_data(as_text=True)
    assert '<html lang="en">' in page
    for label in (
        "Filter trainings",
        "All types",
        "All phases",
        "Scheduled from",
        "Show trainings",
    ):
        assert label in page
    assert "Trainingen filteren" not in page
    page = dutch.get_data(as_text=True)
    for label in ("Trainingen filteren", "Alle soorten", "Alle fasen", "Toon trainingen"):
        assert label in page
    assert "Filter trainings" not in page


def test_home_and_login_in_english(client):
    home = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    login = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert "Trainings and masterclasses for a citizens' assembly with impact" in home
    assert "Find a training" in home
    assert "Forgot your password?" in login
    assert "Wachtwoord vergeten" not in login
