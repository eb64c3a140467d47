"""Certificates: the PDF, the participant's download, and the public verification page."""

import base64
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bbtraining.bookings.attendance import certificates, completion, marking
from bbtraining.bookings.attendance.certificates import Certificate, normalise_code
from bbtraining.bookings.attendance.models import Completion
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.bookings.attendance import support
from tests.conftest import outbox_to

# The attendance fixtures (support.py), bound here so pytest finds them.
roster, make_run, make_lone_session = support.roster, support.make_run, support.make_lone_session
trainer, staff = support.trainer, support.staff


@pytest.fixture
def issued(make_run, make_user, roster, trainer):
    edition = make_run(
        trainer=trainer, starts=(-4 * 60,), minutes=180, title="Training gespreksleiding"
    )
    session = edition.sessions[0]
    eva = make_user("facilitator", name="Eva Łukasiewicz-de Boer", email="eva@example.nl")
    key = roster.enroll(eva).key
    marking.mark(session, key, "present", by=trainer, now=session.starts_at)
    completion.run_due_completions()
    completion.settle_completions(now=utcnow() + completion.SETTLE_DELAY)
    db.session.commit()
    certificate = db.session.scalar(select(Certificate))
    return certificate, eva, key, edition


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_codes_are_random_unguessable_and_typeable():
    codes = {certificates.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}", code)
    assert normalise_code(" abcd efgh-jkmn pqrs ") == "ABCD-EFGH-JKMN-PQRS"
    for bad in ("", "ABCD", "ABCD-EFGH-JKMN-PQR0", "ABCD-EFGH-JKMN-PQRS-TUVW", "../../etc"):
        assert normalise_code(bad) is None


def test_certificate_pdf_states_name_course_dates_trainer_and_code(issued, client, login):
    certificate, eva, _key, edition = issued
    login(eva)
    response = client.get(f"/account/certificates/{certificate.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    assert "Eva Łukasiewicz-de Boer" in text
    assert "Training gespreksleiding" in text
    assert "Tessa Trainer" in text
    assert certificate.code in text
    assert f"/certificates/{certificate.code}" in text
    assert str(edition.sessions[0].local_start.year) in text


def test_certificate_is_mailed_with_the_pdf(issued):
    certificate, _eva, _key, _edition = issued
    [mail] = [m for m in outbox_to("eva@example.nl") if "certificaat" in m.subject]
    assert mail.subject == "Uw certificaat: Training gespreksleiding"
    assert f"http://bbtraining.test/certificates/{certificate.code}" in mail.text_body
    [attachment] = mail.attachments
    assert attachment["filename"] == f"certificaat-{certificate.code}.pdf"
    assert certificate.code in _pdf_text(base64.b64decode(attachment["data"]))


def test_participant_panel_links_the_certificate(issued, client, login):
    certificate, eva, _key, _edition = issued
    login(eva)
    page = client.get("/account/").get_data(as_text=True)
    assert f"/account/certificates/{certificate.id}.pdf" in page
    assert certificate.code in page and "Afgerond" in page


def test_nobody_else_downloads_it(issued, client, login, make_user, trainer, staff):
    certificate, _eva, _key, _edition = issued
    url = f"/account/certificates/{certificate.id}.pdf"
    assert "/auth/login" in client.get(url).location
    login(make_user("facilitator", email="nosy@example.nl"))
    assert client.get(url).status_code == 404
    assert client.get("/account/certificates/999.pdf").status_code == 404
    client.post("/auth/logout")
    login(trainer)  # the edition's trainer
    assert client.get(url).status_code == 200
    client.post("/auth/logout")
    login(make_user("trainer", email="other-trainer@example.nl"))
    assert client.get(url).status_code == 404
    client.post("/auth/logout")
    login(staff)
    assert client.get(url).status_code == 200


def test_verification_page_confirms_name_course_and_date(issued, client):
    certificate, _eva, _key, edition = issued
    response = client.get(f"/certificates/{certificate.code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dit certificaat is geldig." in page
    assert "Eva Łukasiewicz-de Boer" in page and "Training gespreksleiding" in page
    assert str(edition.sessions[0].local_start.year) in page
    assert "eva@example.nl" not in page  # no more than name, course and date
    assert response.headers["X-Robots-Tag"] == "noindex"
    # Typed by hand: case and dashes do not matter.
    typed = certificate.code.lower().replace("-", "")
    assert client.get(f"/certificates/{typed}").status_code == 200


def test_unknown_codes_are_404_and_there_is_no_list(issued, client):
    certificate, *_ = issued
    assert client.get("/certificates/ABCD-EFGH-JKMN-PQRS").status_code == 404
    assert client.get("/certificates/nonsense").status_code == 404
    index = client.get("/certificates/")
    assert index.status_code == 200
    assert certificate.code not in index.get_data(as_text=True)
    assert "Eva" not in index.get_data(as_text=True)


@pytest.mark.parametrize("code", ["ABCD-EFGH-JKMN-PQRS", "nonsense", "<b>vals"])
def test_unknown_code_has_its_own_page_with_status_404(issued, client, code):
    """Issue #15: an unknown code showed the generic "page not found"."""
    response = client.get(f"/certificates/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Er is geen geldig certificaat met deze code." in page
    assert "Pagina niet gevonden" not in page
    assert 'action="/certificates/"' in page  # another code can be tried at once
    assert response.headers["Cache-Control"] == "no-store"
    assert "<b>vals" not in page
    if code != "ABCD-EFGH-JKMN-PQRS":
        assert "<code>" not in page  # only a code of our form is shown back
    if code == "ABCD-EFGH-JKMN-PQRS":
        assert "<code>ABCD-EFGH-JKMN-PQRS</code>" in page


def test_unknown_code_page_in_english(issued, client):
    client.post("/language/en")
    response = client.get("/certificates/ABCD-EFGH-JKMN-PQRS")
    assert response.status_code == 404
    assert "There is no valid certificate with this code." in response.get_data(as_text=True)


def test_lookup_form(issued, client):
    certificate, *_ = issued
    found = client.get("/certificates/", query_string={"code": certificate.code.lower()})
    assert found.status_code == 302 and found.location.endswith(f"/certificates/{certificate.code}")
    bad = client.get("/certificates/", query_string={"code": "12"})
    assert bad.status_code == 400
    assert "heeft niet de vorm van een verificatiecode" in bad.get_data(as_text=True)
    empty = client.get("/certificates/", query_string={"code": ""})
    assert empty.status_code == 400 and "Vul de code" in empty.get_data(as_text=True)


def test_revoked_certificate_says_it_is_no_longer_valid(issued, client, trainer):
    certificate, _eva, key, edition = issued
    marking.mark(edition.sessions[0], key, "absent", by=trainer)
    db.session.commit()
    page = client.get(f"/certificates/{certificate.code}").get_data(as_text=True)
    assert "Dit certificaat is niet meer geldig." in page
    assert "Eva" not in page  # a revoked certificate confirms nothing about anyone


def test_revoked_certificate_cannot_be_downloaded_by_the_participant(
    issued, client, login, trainer, staff
):
    certificate, eva, key, edition = issued
    marking.mark(edition.sessions[0], key, "absent", by=trainer)
    db.session.commit()
    login(eva)
    assert client.get(f"/account/certificates/{certificate.id}.pdf").status_code == 404
    assert "certificaat downloaden" not in client.get("/account/").get_data(as_text=True).lower()
    client.post("/auth/logout")
    login(staff)
    assert client.get(f"/account/certificates/{certificate.id}.pdf").status_code == 200


def test_verification_is_rate_limited(issued, client, app):
    certificate, *_ = issued
    app.config["CERTIFICATE_VERIFY_RATE_LIMIT"] = "5 per minute"
    try:
        statuses = [client.get(f"/certificates/{certificate.code}").status_code for _ in range(5)]
        assert statuses == [200] * 5
        # Guessing goes on the same budget as looking up, whatever the code.
        assert client.get("/certificates/ABCD-EFGH-JKMN-PQRS").status_code == 429
        assert client.get("/certificates/").status_code == 429
    finally:
        app.config.pop("CERTIFICATE_VERIFY_RATE_LIMIT")


def test_each_completion_has_one_certificate_with_a_unique_code(issued, trainer):
    certificate, _eva, _key, edition = issued
    decided = db.session.scalar(select(Completion))
    assert certificates.ensure_certificate(decided, at=certificate.issued_at) is certificate
    from sqlalchemy.exc import IntegrityError

    db.session.add(Certificate(completion_id=decided.id, code=certificates.new_code()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
