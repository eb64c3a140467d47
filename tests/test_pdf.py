"""Tests for bbtraining.pdf: every document is rendered, then read back with pypdf."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale
from pypdf import PdfReader

from bbtraining.bookings.billing.amounts import MoneyLine, price_table
from bbtraining.pdf import invoice as invoice_pdf
from bbtraining.pdf import layout
from bbtraining.pdf.certificate import CertificateDoc, render_certificate
from bbtraining.pdf.invoice import InvoiceDoc, render_invoice
from bbtraining.pdf.layout import Party
from bbtraining.pdf.proposal import ProposalDoc, SessionLine, render_proposal
from bbtraining.pdf.sign_in_sheet import SignInSheetDoc, render_sign_in_sheet

D = Decimal
TRANSLATIONS = Path(layout.__file__).resolve().parents[1] / "translations"
SUMMER_START = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)  # 09:00 CEST in Amsterdam
WINTER_START = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)  # 09:00 CET in Amsterdam

SELLER = Party(
    name="Expertisecentrum Burgerberaden",
    lines=("Domplein 1", "3512 JC Utrecht", "KvK 12345678"),
    vat_number="NL001234567B01",
    email="facturen@burgerberaden.example",
)
BUYER = Party(
    name="Gemeente Zoëterwoude",
    lines=("T.a.v. team Participatie", "Postbus 12", "2380 AA Zoeterwoude"),
)
MASTERCLASS = MoneyLine("Masterclass burgerberaden", D("10"), D("100.00"), D("21"))


@pytest.fixture
def babel_app() -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(
        BABEL_DEFAULT_LOCALE="nl",
        BABEL_DEFAULT_TIMEZONE="Europe/Amsterdam",
        # The app's catalogs (compiled by `make translations` or the conftest): Dutch msgids,
        # English translations in en/.
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    Babel(app)
    with app.app_context():
        yield app


def read(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in read(data).pages]


def flat(text: str) -> str:
    """Collapse all whitespace, so wrapped lines and babel's no-break spaces compare plainly."""
    return " ".join(text.split())


def text_of(data: bytes) -> str:
    return flat(" ".join(page_texts(data)))


def invoice(**overrides: object) -> InvoiceDoc:
    values: dict[str, object] = {
        "number": "2026-0042",
        "issue_date": date(2026, 3, 3),
        "due_date": date(2026, 4, 2),
        "seller": SELLER,
        "buyer": BUYER,
        "lines": (MASTERCLASS,),
        "reference": "PO-88231",
        "payment_note": "Graag overmaken op NL91 ABNA 0417 1643 00 onder vermelding van "
        "het factuurnummer.",
    }
    values.update(overrides)
    values["prices"] = price_table(values.pop("lines"))  # type: ignore[arg-type]
    return InvoiceDoc(**values)  # type: ignore[arg-type]


def proposal(**overrides: object) -> ProposalDoc:
    values: dict[str, object] = {
        "reference": "OFF-2026-007",
        "version": 2,
        "issue_date": date(2026, 3, 1),
        "valid_until": date(2026, 4, 1),
        "seller": SELLER,
        "client": BUYER,
        "course_title": "Incompany training: een burgerberaad organiseren",
        "sessions": (
            SessionLine(
                SUMMER_START, SUMMER_START + timedelta(hours=7), "Stadhuis, Raadzaal", "Łukasz"
            ),
            SessionLine(
                WINTER_START, WINTER_START + timedelta(hours=3), "Online via Teams", "Marieke"
            ),
        ),
        "lines": (MASTERCLASS,),
        "terms": "Annuleren kan kosteloos tot 30 dagen voor de eerste sessie.\n"
        "Op deze offerte zijn onze algemene voorwaarden van toepassing.",
    }
    values.update(overrides)
    values["prices"] = price_table(values.pop("lines"))  # type: ignore[arg-type]
    return ProposalDoc(**values)  # type: ignore[arg-type]


def certificate(**overrides: object) -> CertificateDoc:
    values: dict[str, object] = {
        "participant_name": "Anne-Sophie van den Bergh-Şahin",
        "course_title": "Masterclass burgerberaden: ontwerp en facilitatie",
        "dates": (date(2026, 6, 22), date(2026, 6, 15)),
        "trainer_names": ("Łukasz Nowak", "Marieke de Vries"),
        "code": "BB-7K3Q-9XPA",
        "verify_url": "https://training.burgerberaden.example/verify/BB-7K3Q-9XPA",
        "issuer": "Expertisecentrum Burgerberaden",
    }
    values.update(overrides)
    return CertificateDoc(**values)  # type: ignore[arg-type]


# --- Invoice ----------------------------------------------------------------------------------


def test_invoice_shows_number_reference_lines_and_dutch_money(babel_app: Flask) -> None:
    second = MoneyLine("Boek 'Het burgerberaad'", D("2"), D("24.95"), D("9"))
    text = text_of(render_invoice(invoice(lines=(MASTERCLASS, second))))

    for expected in (
        "Factuur",
        "2026-0042",
        "PO-88231",
        "Expertisecentrum Burgerberaden",
        "Btw-nummer: NL001234567B01",
        "Gemeente Zoëterwoude",
        "3 maart 2026",
        "2 april 2026",
        "Masterclass burgerberaden 10 € 100,00 21% € 1.000,00",
        "Boek 'Het burgerberaad' 2 € 24,95 9% € 49,90",
        "Factuurnummer 2026-0042",
        "Uw referentie PO-88231",
        "Subtotaal € 1.049,90",
        "Btw 9% over € 49,90 € 4,49",
        "Btw 21% over € 1.000,00 € 210,00",
        "Totaal € 1.264,39",
        "Wij verzoeken u € 1.264,39 vóór 2 april 2026 te betalen.",
        "NL91 ABNA 0417 1643 00",
    ):
        assert expected in text


def test_money_uses_babels_dutch_format(babel_app: Flask) -> None:
    page = page_texts(render_invoice(invoice()))[0]

    # Babel writes "€\xa01.210,00"; the embedded font maps the no-break space to a space glyph.
    assert "€ 1.210,00" in page.replace("\xa0", " ")
    assert "1,210.00" not in page


def test_invoice_metadata(babel_app: Flask) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    reader = read(render_invoice(invoice()))

    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Factuur 2026-0042"
    assert meta.author == "Expertisecentrum Burgerberaden"
    assert meta.creation_date is not None
    assert before - timedelta(seconds=1) <= meta.creation_date <= datetime.now(UTC)
    assert reader.trailer["/Root"]["/Lang"] == "nl"


def test_credit_invoice_shows_negative_amounts_and_credited_invoice(babel_app: Flask) -> None:
    credit = replace(MASTERCLASS, quantity=-MASTERCLASS.quantity)
    data = render_invoice(invoice(number="2026-0050", lines=(credit,), credit_for="2026-0042"))
    text = text_of(data)

    assert "Creditfactuur" in text
    assert "Crediteert factuur 2026-0042" in text
    assert "Subtotaal € -1.000,00" in text
    assert "Btw 21% over € -1.000,00 € -210,00" in text
    assert "Totaal € -1.210,00" in text
    assert "Het bedrag van € 1.210,00 wordt aan u terugbetaald." in text
    assert "Wij verzoeken u" not in text
    assert read(data).metadata.title == "Creditfactuur 2026-0050"


def test_paid_invoice_asks_for_no_payment(babel_app: Flask) -> None:
    text = text_of(render_invoice(invoice(paid=True)))

    assert "BETAALD" in text
    assert "Deze factuur is betaald." in text
    assert "Wij verzoeken u" not in text
    assert "NL91 ABNA" not in text


def test_long_description_wraps_inside_its_column(babel_app: Flask) -> None:
    description = " ".join(["Uitgebreide maatwerkbegeleiding bij de voorbereiding"] * 8)
    line = MoneyLine(description, D("1"), D("1500"), D("21"))
    data = render_invoice(invoice(lines=(line,)))

    raw_lines = page_texts(data)[0].splitlines()
    assert description in text_of(data)
    assert not any(description in raw for raw in raw_lines)
    description_rows = [raw for raw in raw_lines if "maatwerkbegeleiding" in raw]
    assert len(description_rows) >= 4
    assert "Totaal € 1.815,00" in text_of(data)


def test_many_lines_break_over_pages_and_repeat_the_table_header(babel_app: Flask) -> None:
    lines = tuple(
        MoneyLine(f"Deelname medewerker nummer {n:02d}", D("1"), D("395"), D("21"))
        for n in range(1, 61)
    )
    data = render_invoice(invoice(lines=lines))
    pages = page_texts(data)

    assert len(pages) > 1
    for page in pages:
        assert "Omschrijving Aantal Stukprijs Btw Bedrag" in flat(page)
    everything = text_of(data)
    for n in range(1, 61):
        assert f"Deelname medewerker nummer {n:02d}" in everything
    assert "Totaal € 28.677,00" in flat(pages[-1])
    assert f"Pagina 1 van {len(pages)}" in flat(pages[0])


def test_names_outside_latin_1_render(babel_app: Flask) -> None:
    buyer = Party("Łukasz Wiśniewski", ("Ağaoğlu Danışmanlık", "İstanbul Caddesi 1"))
    text = text_of(render_invoice(invoice(buyer=buyer)))

    assert "Łukasz Wiśniewski" in text
    assert "Ağaoğlu Danışmanlık" in text


def test_labels_go_through_gettext(babel_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def marked(msgid: str, **variables: object) -> str:
        return "«" + (msgid % variables if variables else msgid) + "»"

    monkeypatch.setattr(invoice_pdf, "_", marked)  # the invoice's own labels
    monkeypatch.setattr(layout, "_", marked)  # the money table's
    text = text_of(render_invoice(invoice()))

    assert "«Factuur»" in text
    assert "«Subtotaal»" in text
    assert "«Factuurnummer»" in text


def test_money_and_dates_follow_the_current_locale(babel_app: Flask) -> None:
    with force_locale("en"):
        text = text_of(render_invoice(invoice()))

    assert "Total €1,210.00" in text
    assert "March 3, 2026" in text


def test_english_invoice_labels_come_from_the_en_catalog(babel_app: Flask) -> None:
    with force_locale("en"):
        data = render_invoice(invoice())
        credit = replace(MASTERCLASS, quantity=-MASTERCLASS.quantity)
        credit_text = text_of(
            render_invoice(invoice(number="2026-0050", lines=(credit,), credit_for="2026-0042"))
        )
    text = text_of(data)

    for expected in (
        "Invoice",
        "Invoice number 2026-0042",
        "Your reference PO-88231",
        "VAT number: NL001234567B01",
        "Description Quantity Unit price VAT Amount",
        "Subtotal €1,000.00",
        "VAT 21% on €1,000.00 €210.00",
        "Please pay €1,210.00 before April 2, 2026.",
        "Page 1 of 1",
    ):
        assert expected in text
    assert "Factuur" not in text
    assert read(data).metadata.title == "Invoice 2026-0042"
    assert read(data).trailer["/Root"]["/Lang"] == "en"
    assert "Credit note" in credit_text
    assert "Credit for invoice 2026-0042" in credit_text


def test_english_proposal_certificate_and_sign_in_sheet(babel_app: Flask) -> None:
    sheet = SignInSheetDoc(
        title="Masterclass burgerberaden – dag 1",
        start=SUMMER_START,
        end=SUMMER_START + timedelta(hours=7),
        location="Stadhuis, Raadzaal",
        trainers=("Marieke de Vries",),
        participants=(("Anne Jansen", "Gemeente Utrecht"),),
    )
    with force_locale("en"):
        proposal_text = text_of(render_proposal(proposal()))
        superseded = page_texts(render_proposal(proposal(superseded=True)))
        certificate_text = text_of(render_certificate(certificate()))
        sheet_text = text_of(render_sign_in_sheet(sheet))

    for expected in ("Proposal", "Version 2", "Valid until April 1, 2026", "Signature"):
        assert expected in proposal_text
    assert all("SUPERSEDED" in page for page in superseded)
    for expected in (
        "Certificate of participation",
        "This is to certify that",
        "Trainers: Łukasz Nowak and Marieke de Vries",
        "Verification code: BB-7K3Q-9XPA",
    ):
        assert expected in certificate_text
    assert "Sign-in sheet" in sheet_text
    assert "Trainer Marieke de Vries" in sheet_text
    assert "# Name Organisation Signature" in sheet_text


def test_rendering_without_a_locale_fails_clearly(
    babel_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outside any app context Flask-Babel has no locale; the conftest always pushes one.
    monkeypatch.setattr(layout, "get_locale", lambda: None)

    with pytest.raises(RuntimeError, match="app context"):
        render_invoice(invoice())


# --- Proposal ---------------------------------------------------------------------------------


def test_proposal_shows_sessions_in_amsterdam_time_costs_and_terms(babel_app: Flask) -> None:
    data = render_proposal(proposal())
    text = text_of(data)

    for expected in (
        "Offerte",
        "OFF-2026-007",
        "Versie 2",
        "Geldig tot 1 april 2026",
        "Incompany training: een burgerberaad organiseren",
        "maandag 15 juni 2026 09:00–16:00 Stadhuis, Raadzaal Łukasz",
        "dinsdag 12 januari 2027 09:00–12:00 Online via Teams Marieke",
        "Totaal € 1.210,00",
        "Annuleren kan kosteloos tot 30 dagen voor de eerste sessie.",
        "Handtekening",
    ):
        assert expected in text
    assert "VERVALLEN" not in text
    meta = read(data).metadata
    assert meta.title == "Offerte OFF-2026-007 (versie 2)"
    assert meta.author == SELLER.name


def test_superseded_proposal_is_marked_and_cannot_be_signed(babel_app: Flask) -> None:
    data = render_proposal(proposal(superseded=True))
    text = text_of(data)

    assert "vervangen door een nieuwere en is niet meer geldig" in text
    assert all("VERVALLEN" in page for page in page_texts(data))
    assert "Handtekening" not in text


def test_session_past_midnight_in_amsterdam_shows_both_days(babel_app: Flask) -> None:
    # 18:00-22:30 UTC is one UTC day, but 20:00-00:30 in Amsterdam (CEST) spans two.
    evening = SessionLine(
        datetime(2026, 6, 15, 18, 0, tzinfo=UTC),
        datetime(2026, 6, 15, 22, 30, tzinfo=UTC),
        "Stadhuis, Raadzaal",
        "Marieke",
    )
    text = text_of(render_proposal(proposal(sessions=(evening,))))

    assert "maandag 15 juni 2026 – dinsdag 16 juni 2026 20:00–00:30" in text


def test_proposal_without_sessions_says_dates_follow(babel_app: Flask) -> None:
    assert "Data in overleg." in text_of(render_proposal(proposal(sessions=())))


# --- Certificate ------------------------------------------------------------------------------


def test_certificate_is_one_landscape_page_with_code_and_verify_link(babel_app: Flask) -> None:
    doc = certificate()
    data = render_certificate(doc)
    reader = read(data)
    text = text_of(data)

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)
    for expected in (
        "Certificaat van deelname",
        "Anne-Sophie van den Bergh-Şahin",
        "Masterclass burgerberaden: ontwerp en facilitatie",
        "op 15 juni 2026 en 22 juni 2026",
        "Trainers: Łukasz Nowak en Marieke de Vries",
        "Verificatiecode: BB-7K3Q-9XPA",
        doc.verify_url,
    ):
        assert expected in text
    links = [annot.get_object()["/A"]["/URI"] for annot in reader.pages[0]["/Annots"]]
    assert links == [doc.verify_url]
    assert reader.metadata.author == doc.issuer
    assert "Anne-Sophie van den Bergh-Şahin" in reader.metadata.title


def test_certificate_with_one_trainer_and_long_name(babel_app: Flask) -> None:
    name = "Maria Magdalena Johanna Wilhelmina van Oldenbarnevelt-Tjarda van Starkenborgh"
    data = render_certificate(certificate(participant_name=name, trainer_names=("Marieke",)))

    assert len(read(data).pages) == 1
    text = text_of(data)
    assert name in text
    assert "Trainer: Marieke" in text


# --- Sign-in sheet ----------------------------------------------------------------------------


def test_sign_in_sheet_lists_everyone_over_several_pages(babel_app: Flask) -> None:
    participants = tuple(
        (f"Deelnemer {n:02d} Jansen", f"Gemeente Noord {n:02d}") for n in range(80)
    )
    doc = SignInSheetDoc(
        title="Masterclass burgerberaden – dag 1",
        start=SUMMER_START,
        end=SUMMER_START + timedelta(hours=7),
        location="Stadhuis, Raadzaal",
        trainers=("Łukasz Nowak", "Marieke de Vries"),
        participants=participants,
    )
    data = render_sign_in_sheet(doc)
    pages = page_texts(data)
    text = text_of(data)

    assert len(pages) > 1
    for page in pages:
        assert "# Naam Organisatie Handtekening" in flat(page)
    for number, (name, organisation) in enumerate(participants, start=1):
        assert f"{number} {name} {organisation}" in text
    assert "maandag 15 juni 2026, 09:00–16:00" in text
    assert "Trainers Łukasz Nowak en Marieke de Vries" in text
    assert "Stadhuis, Raadzaal" in text
    assert read(data).metadata.title == "Presentielijst – Masterclass burgerberaden – dag 1"
