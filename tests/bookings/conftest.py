"""Fixtures for the bookings tests: enrollments, billing data, Stripe webhooks.

Courses and editions come from the one set of factories (tests/conftest.py, tests/factories.py),
whose defaults (an open facilitator training, sessions a month from now) are these tests'.
"""

import pytest

from bbtraining.courses.models import Edition
from bbtraining.extensions import db
from tests.bookings.billing.test_stripe_webhook import SECRET, stripe_stub  # noqa: F401
from tests.conftest import PASSWORD

BILLING_FORM = {
    "billing_name": "Eva de Vries",
    "billing_organisation": "",
    "billing_street": "Oudegracht 1",
    "billing_postcode": "3511 AB",
    "billing_city": "Utrecht",
    "billing_country": "NL",
    "vat_number": "",
    "reference": "",
    "pay_by": "invoice",
    "accept_terms": "y",
}


@pytest.fixture
def billing_form():
    """Form data for the enrollment page; override fields per test."""

    def build(**overrides):
        return {**BILLING_FORM, **overrides}

    return build


@pytest.fixture
def billing():
    from bbtraining.bookings.enrollment.policy import Billing

    return Billing(name="Eva de Vries", street="Oudegracht 1", postcode="3511 AB", city="Utrecht")


@pytest.fixture
def make_enrollment(make_edition, make_user, billing):
    """Enroll through the service and commit, as the page would."""
    from bbtraining.bookings.enrollment import enrolling

    def factory(edition=None, user=None, pay_by="invoice"):
        edition = edition or make_edition()
        user = user or make_user("facilitator")
        enrollment = enrolling.enroll(edition, user, billing, pay_by)
        db.session.commit()
        return enrollment

    return factory


@pytest.fixture
def deliver(client):
    """Sign a Stripe event dict with the test secret and POST it to /stripe/webhook."""

    def post(event):
        from tests.stripe_stub import signed_event

        body, headers = signed_event(event, SECRET)
        response = client.post("/stripe/webhook", data=body, headers=headers, csrf=False)
        assert response.status_code == 200, response.data
        db.session.expire_all()
        return response.json["outcome"]

    return post


@pytest.fixture
def full_edition(make_edition, make_enrollment, make_user):
    """An edition of two seats, both taken by confirmed (invoice) enrollments."""

    def factory(capacity: int = 2, **fields):
        edition = make_edition(capacity=capacity, **fields)
        for _ in range(capacity):
            make_enrollment(edition, make_user("facilitator"))
        db.session.refresh(edition)
        assert edition.seats_taken == capacity
        return edition

    return factory


def seats_taken(edition) -> int:
    db.session.expire(edition)
    return db.session.get(Edition, edition.id).seats_taken


__all__ = ["PASSWORD", "seats_taken"]
