"""Cancelling an edition is one rule: both staff pages that offer it call the catalog's service,
so a second cancel is refused whichever page it comes from, and audited once."""

import pytest
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.courses.models import Edition
from bbtraining.extensions import db
from tests.conftest import outbox_to

REFUSED = "Alleen een geplande editie kan worden geannuleerd."


def _catalog_page(client, edition, reason):
    response = client.post(f"/admin/courses/editions/{edition.id}/cancel", data={"reason": reason})
    return response, response.get_data(as_text=True)


def _enrollment_page(client, edition, reason):
    response = client.post(
        f"/admin/editions/{edition.id}/cancel-enrollments",
        data={"reason": reason, "confirm": "y"},
        follow_redirects=True,
    )
    return response, response.get_data(as_text=True)


PAGES = {"catalog": _catalog_page, "enrollment": _enrollment_page}


def _cancelled_entries(edition) -> int:
    return db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "edition.cancelled", AuditEntry.object_id == edition.id
        )
    )


@pytest.mark.parametrize(
    ("first", "second"), [("catalog", "enrollment"), ("enrollment", "catalog")]
)
def test_second_cancel_from_either_staff_page_is_refused_and_audited_once(
    client, make_enrollment, make_user, login, first, second
):
    participant = make_user("facilitator", email="eva@example.nl")
    enrollment = make_enrollment(user=participant)
    edition = enrollment.edition
    admin = make_user("admin")
    login(admin)

    response, _ = PAGES[first](client, edition, "Te weinig aanmeldingen")
    assert response.status_code in (200, 302)
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).status == "cancelled"
    assert db.session.get(Enrollment, enrollment.id).status == "cancelled"
    mails = len(outbox_to("eva@example.nl"))

    for page in (second, first):
        response, text = PAGES[page](client, edition, "nogmaals")
        assert REFUSED in text, page

    db.session.expire_all()
    cancelled = db.session.get(Edition, edition.id)
    assert cancelled.cancel_reason == "Te weinig aanmeldingen"
    assert _cancelled_entries(edition) == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "edition.cancelled"))
    assert entry.actor_id == admin.id
    assert len(outbox_to("eva@example.nl")) == mails  # nobody is told twice
