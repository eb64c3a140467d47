import json

import pytest
from sqlalchemy import select

from bbtraining.bookings.billing import stripe_client as stripe_gateway
from bbtraining.bookings.billing.stripe_client import StripeEvent
from bbtraining.extensions import db
from tests.stripe_stub import StripeStub, signed_event

SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_stub(app):
    with StripeStub() as stub:
        old = {
            k: app.config.get(k)
            for k in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE")
        }
        app.config.update(
            STRIPE_SECRET_KEY="sk_test_bbtraining",
            STRIPE_WEBHOOK_SECRET=SECRET,
            STRIPE_API_BASE=stub.url,
        )
        yield stub
        app.config.update(old)


def _event(event_type="customer.created"):
    return {
        "id": f"evt_{event_type.replace('.', '_')}_1",
        "object": "event",
        "type": event_type,
        "created": 1,
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }


def test_unsigned_or_tampered_webhook_is_refused(client, stripe_stub):
    body, headers = signed_event(_event(), SECRET)
    assert client.post("/stripe/webhook", data=body, csrf=False).status_code == 400
    tampered = body.replace(b"cus_1", b"cus_2")
    response = client.post("/stripe/webhook", data=tampered, headers=headers, csrf=False)
    assert response.status_code == 400
    _body, wrong = signed_event(_event(), "whsec_other")
    assert client.post("/stripe/webhook", data=body, headers=wrong, csrf=False).status_code == 400
    assert db.session.scalars(select(StripeEvent)).all() == []


def test_unknown_event_types_answer_200_and_replays_count_once(client, stripe_stub):
    calls = []

    @stripe_gateway.on_event("test.counted")
    def counted(event, stripe_client):
        calls.append(event.id)
        return "counted"

    try:
        body, headers = signed_event(_event("test.counted"), SECRET)
        for _ in range(3):
            response = client.post("/stripe/webhook", data=body, headers=headers, csrf=False)
            assert response.status_code == 200
        assert calls == ["evt_test_counted_1"]
        assert json.loads(response.data)["outcome"] == "duplicate"
        body, headers = signed_event(_event("customer.created"), SECRET)
        response = client.post("/stripe/webhook", data=body, headers=headers, csrf=False)
        assert response.status_code == 200 and response.json["outcome"] == "ignored"
    finally:
        stripe_gateway._handlers.pop("test.counted")


def test_on_event_registers_by_plain_call_or_as_decorator():
    def first(event, stripe_client):
        return "first"

    def second(event, stripe_client):
        return "second"

    try:
        assert stripe_gateway.on_event("test.a", "test.b", first) is first
        assert stripe_gateway.on_event("test.c")(second) is second
        assert stripe_gateway._handlers["test.a"] is stripe_gateway._handlers["test.b"] is first
        assert stripe_gateway._handlers["test.c"] is second
        stripe_gateway.on_event("test.a", first)  # the same wiring twice changes nothing
        with pytest.raises(ValueError, match="already has a handler"):
            stripe_gateway.on_event("test.a", second)
        with pytest.raises(TypeError):
            stripe_gateway.on_event(first)
    finally:
        for event_type in ("test.a", "test.b", "test.c"):
            stripe_gateway._handlers.pop(event_type, None)
