"""The Stripe stub, exercised through the real stripe-python client and webhook verifier."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe

from tests.stripe_stub import (
    API_VERSION,
    StripeStub,
    parse_form,
    sign_payload,
    signed_event,
)

SECRET = "whsec_test_secret"


@pytest.fixture(autouse=True)
def _no_stripe_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    # With telemetry on, stripe-python writes an id file under ~/.config on first use.
    monkeypatch.setattr(stripe, "enable_telemetry", False)


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub() as running:
        yield running


@pytest.fixture
def client(stub: StripeStub) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_bbtraining", base_addresses={"api": stub.url})


@pytest.fixture
def module_stripe(stub: StripeStub, monkeypatch: pytest.MonkeyPatch) -> StripeStub:
    monkeypatch.setattr(stripe, "api_key", "sk_test_module")
    monkeypatch.setattr(stripe, "api_base", stub.url)
    return stub


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 12500,
                    "product_data": {"name": "Basistraining BHV"},
                },
                "quantity": 2,
            }
        ],
        "allowed_payment_method_types": ["card", "ideal"],
        "success_url": "https://bbtraining.test/betaald?sessie={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://bbtraining.test/geannuleerd",
        "customer_email": "deelnemer@example.nl",
        "client_reference_id": "booking-42",
        "metadata": {"booking_id": "42", "kind": "course"},
        "payment_intent_data": {"metadata": {"booking_id": "42"}},
        "locale": "nl",
    }
    params.update(overrides)
    return params


def paid_session(client: stripe.StripeClient, stub: StripeStub) -> stripe.checkout.Session:
    session = client.v1.checkout.sessions.create(params=session_params())
    stub.complete_checkout(session.id)
    return client.v1.checkout.sessions.retrieve(session.id)


# ---- Checkout Sessions ------------------------------------------------------------------


def test_create_session_returns_stripe_shaped_object(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    expires_at = int(time.time()) + 3600
    session = client.v1.checkout.sessions.create(
        params=session_params(expires_at=expires_at),
        options={"idempotency_key": "booking-42-attempt-1"},
    )

    assert isinstance(session, stripe.checkout.Session)
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{stub.url}/pay/{session.id}"
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.payment_intent is None
    assert session.amount_total == 25000
    assert session.currency == "eur"
    assert session.expires_at == expires_at
    assert session.metadata.to_dict() == {"booking_id": "42", "kind": "course"}
    assert session.client_reference_id == "booking-42"
    assert session.customer_email == "deelnemer@example.nl"
    assert session.payment_method_types == ["card", "ideal"]
    assert session.locale == "nl"

    (request,) = stub.find_requests("POST", "/v1/checkout/sessions")
    assert request.idempotency_key == "booking-42-attempt-1"
    assert request.header("authorization") == "Bearer sk_test_bbtraining"
    assert request.header("Stripe-Version") == API_VERSION
    assert request.params["line_items"][0]["price_data"]["product_data"] == {
        "name": "Basistraining BHV"
    }
    assert request.params["line_items"][0]["quantity"] == "2"
    assert request.params["metadata"] == {"booking_id": "42", "kind": "course"}
    assert request.status == 200


def test_same_idempotency_key_and_body_replays_the_same_session(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    options: Any = {"idempotency_key": "booking-42"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    second = client.v1.checkout.sessions.create(params=session_params(), options=options)

    assert second.id == first.id
    assert len(stub.objects("checkout.session")) == 1
    assert second.last_response.headers["Idempotent-Replayed"] == "true"


def test_same_idempotency_key_with_other_body_is_an_idempotency_error(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    options: Any = {"idempotency_key": "booking-42"}
    client.v1.checkout.sessions.create(params=session_params(), options=options)

    with pytest.raises(stripe.IdempotencyError) as excinfo:
        client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="booking-43"), options=options
        )

    assert excinfo.value.http_status == 400
    assert "booking-42" in str(excinfo.value.user_message)
    assert len(stub.objects("checkout.session")) == 1


def test_idempotency_key_reused_on_another_endpoint_is_rejected(
    client: stripe.StripeClient,
) -> None:
    client.v1.customers.create(params={"name": "Gemeente Zwolle"}, options={"idempotency_key": "k"})

    with pytest.raises(stripe.IdempotencyError, match="same endpoint"):
        client.v1.tax_rates.create(
            params={"display_name": "BTW", "percentage": 21, "inclusive": False},
            options={"idempotency_key": "k"},
        )


def test_module_level_create_retrieve_and_expire(module_stripe: StripeStub) -> None:
    created = stripe.checkout.Session.create(**session_params())
    fetched = stripe.checkout.Session.retrieve(created.id, expand=["line_items"])

    assert fetched.id == created.id
    assert fetched.line_items.data[0].price.unit_amount == 12500
    assert fetched.line_items.data[0].quantity == 2
    assert fetched.line_items.data[0].amount_total == 25000

    expired = stripe.checkout.Session.expire(created.id)
    assert expired.status == "expired"
    assert expired.url is None
    assert [e["type"] for e in module_stripe.events] == ["checkout.session.expired"]

    with pytest.raises(stripe.InvalidRequestError, match="status of `expired`"):
        stripe.checkout.Session.expire(created.id)


def test_list_sessions_by_payment_intent(stub: StripeStub, client: stripe.StripeClient) -> None:
    client.v1.checkout.sessions.create(params=session_params())
    paid = paid_session(client, stub)

    found = client.v1.checkout.sessions.list(params={"payment_intent": paid.payment_intent})

    assert [s.id for s in found.data] == [paid.id]


def test_expire_checkout_control_returns_expired_event(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())

    event = stub.expire_checkout(session.id)

    assert event["type"] == "checkout.session.expired"
    assert event["data"]["object"]["id"] == session.id
    assert event["data"]["object"]["status"] == "expired"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    with pytest.raises(ValueError, match="not open"):
        stub.complete_checkout(session.id)


def test_session_expires_by_itself_once_expires_at_passes(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    later = session.expires_at + 1
    stub.clock = lambda: later

    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert stub.events[-1]["type"] == "checkout.session.expired"


# ---- Completion, payment intents, async methods ------------------------------------------


def test_complete_checkout_event_and_payment_intent(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())

    event = stub.complete_checkout(session.id, payment_method_type="ideal")

    assert event["id"].startswith("evt_")
    assert event["object"] == "event"
    assert event["type"] == "checkout.session.completed"
    assert event["api_version"] == API_VERSION
    assert event["livemode"] is False
    assert isinstance(event["created"], int)
    completed = event["data"]["object"]
    assert completed["status"] == "complete"
    assert completed["payment_status"] == "paid"
    assert completed["metadata"] == {"booking_id": "42", "kind": "course"}
    assert completed["customer_details"]["email"] == "deelnemer@example.nl"

    fetched = client.v1.checkout.sessions.retrieve(session.id)
    assert fetched.payment_intent == completed["payment_intent"]
    intent = client.v1.payment_intents.retrieve(
        fetched.payment_intent, params={"expand": ["latest_charge"]}
    )
    assert intent.id.startswith("pi_")
    assert intent.status == "succeeded"
    assert intent.amount == intent.amount_received == 25000
    assert intent.payment_method_types == ["ideal"]
    assert intent.metadata.to_dict() == {"booking_id": "42"}
    assert intent.latest_charge.id.startswith("ch_")
    assert intent.latest_charge.amount == 25000
    assert intent.latest_charge.payment_intent == intent.id


def test_delayed_payment_succeeds_later(stub: StripeStub, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    completed = stub.complete_checkout(session.id, payment_status="unpaid")

    intent_id = completed["data"]["object"]["payment_intent"]
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    assert client.v1.payment_intents.retrieve(intent_id).status == "processing"

    event = stub.async_succeed(session.id)

    assert event["type"] == "checkout.session.async_payment_succeeded"
    assert event["data"]["object"]["payment_status"] == "paid"
    assert client.v1.payment_intents.retrieve(intent_id).status == "succeeded"


def test_delayed_payment_fails(stub: StripeStub, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    stub.complete_checkout(session.id, payment_status="unpaid")

    event = stub.async_fail(session.id)

    assert event["type"] == "checkout.session.async_payment_failed"
    assert event["data"]["object"]["payment_status"] == "unpaid"
    intent = client.v1.payment_intents.retrieve(event["data"]["object"]["payment_intent"])
    assert intent.status == "requires_payment_method"
    with pytest.raises(ValueError, match="no processing payment"):
        stub.async_succeed(session.id)


# ---- Refunds ----------------------------------------------------------------------------


def test_partial_then_full_refund(stub: StripeStub, client: stripe.StripeClient) -> None:
    session = paid_session(client, stub)

    partial = client.v1.refunds.create(
        params={
            "payment_intent": session.payment_intent,
            "amount": 5000,
            "reason": "requested_by_customer",
            "metadata": {"booking_id": "42"},
        }
    )
    assert partial.id.startswith("re_")
    assert partial.status == "succeeded"
    assert partial.amount == 5000
    assert partial.payment_intent == session.payment_intent
    assert client.v1.refunds.retrieve(partial.id).metadata.to_dict() == {"booking_id": "42"}

    event = stub.refund_event(partial.id)
    assert event["type"] == "charge.refunded"
    assert event["data"]["object"]["amount_refunded"] == 5000
    assert event["data"]["object"]["refunded"] is False

    rest = client.v1.refunds.create(params={"payment_intent": session.payment_intent})
    assert rest.amount == 20000
    charge = stub.refund_event(rest)["data"]["object"]
    assert charge["amount_refunded"] == 25000
    assert charge["refunded"] is True

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.refunds.create(params={"payment_intent": session.payment_intent})
    assert excinfo.value.code == "charge_already_refunded"


def test_refund_larger_than_charge_is_rejected(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    session = paid_session(client, stub)

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.refunds.create(params={"payment_intent": session.payment_intent, "amount": 25001})

    assert excinfo.value.code == "amount_too_large"
    assert excinfo.value.param == "amount"


def test_refund_of_unpaid_intent_is_rejected(stub: StripeStub, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    intent_id = stub.complete_checkout(session.id, "unpaid")["data"]["object"]["payment_intent"]

    with pytest.raises(stripe.InvalidRequestError, match="does not have a successful charge"):
        client.v1.refunds.create(params={"payment_intent": intent_id})


def test_dashboard_refund_event(stub: StripeStub, client: stripe.StripeClient) -> None:
    session = paid_session(client, stub)

    refund = stub.create_refund(session.payment_intent, amount=1000)
    event = stub.refund_event(session.payment_intent, event_type="refund.created")

    assert event["type"] == "refund.created"
    assert event["data"]["object"]["id"] == refund["id"]
    assert event["data"]["object"]["amount"] == 1000


# ---- Invoices for councils --------------------------------------------------------------


def test_invoice_flow(stub: StripeStub, client: stripe.StripeClient) -> None:
    vat = client.v1.tax_rates.create(
        params={"display_name": "BTW", "percentage": 21, "inclusive": False}
    )
    council = client.v1.customers.create(
        params={
            "name": "Gemeente Zwolle",
            "email": "crediteuren@zwolle.example",
            "metadata": {"organisation_id": "7"},
        }
    )
    invoice = client.v1.invoices.create(
        params={
            "customer": council.id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "metadata": {"group_booking_id": "9"},
        }
    )
    assert invoice.id.startswith("in_")
    assert invoice.status == "draft"
    assert invoice.due_date == invoice.created + 30 * 86400

    flat = client.v1.invoice_items.create(
        params={
            "customer": council.id,
            "invoice": invoice.id,
            "amount": 10000,
            "currency": "eur",
            "description": "Groepstraining",
            "tax_rates": [vat.id],
        }
    )
    per_person = client.v1.invoice_items.create(
        params={
            "customer": council.id,
            "invoice": invoice.id,
            "unit_amount_decimal": "2500",
            "quantity": 3,
            "currency": "eur",
            "description": "Deelnemers",
            "tax_rates": [vat.id],
        }
    )
    assert flat.id.startswith("ii_")
    assert per_person.amount == 7500

    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "open"
    assert finalized.number
    assert finalized.subtotal == 17500
    assert finalized.total_taxes[0].amount == 3675
    assert finalized.total == finalized.amount_due == 21175
    assert finalized.hosted_invoice_url.startswith(stub.url)
    assert [line.amount for line in finalized.lines.data] == [10000, 7500]
    assert finalized.metadata.to_dict() == {"group_booking_id": "9"}

    sent = client.v1.invoices.send_invoice(invoice.id)
    assert sent.id == invoice.id
    assert stub.sent_invoices == [invoice.id]

    event = stub.pay_invoice(invoice.id)
    assert event["type"] == "invoice.paid"
    assert event["data"]["object"]["amount_paid"] == 21175
    paid = client.v1.invoices.retrieve(invoice.id)
    assert paid.status == "paid"
    assert paid.amount_remaining == 0
    assert paid.status_transitions.paid_at is not None
    assert [e["type"] for e in stub.events] == ["invoice.finalized", "invoice.sent", "invoice.paid"]


def test_inclusive_tax_and_pending_items(client: stripe.StripeClient) -> None:
    vat = client.v1.tax_rates.create(
        params={"display_name": "BTW", "percentage": "21", "inclusive": True}
    )
    council = client.v1.customers.create(params={"name": "Gemeente", "email": "f@gem.example"})
    client.v1.invoice_items.create(
        params={"customer": council.id, "amount": 12100, "currency": "eur", "tax_rates": [vat.id]}
    )

    invoice = client.v1.invoices.create(
        params={
            "customer": council.id,
            "collection_method": "send_invoice",
            "days_until_due": 14,
            "pending_invoice_items_behavior": "include",
        }
    )

    assert invoice.total == 12100
    assert invoice.total_excluding_tax == 10000
    assert invoice.total_taxes[0].amount == 2100


def test_invoice_validation_errors(client: stripe.StripeClient) -> None:
    no_email = client.v1.customers.create(params={"name": "Zonder mail"})
    with pytest.raises(stripe.InvalidRequestError, match="Missing email"):
        client.v1.invoices.create(
            params={
                "customer": no_email.id,
                "collection_method": "send_invoice",
                "days_until_due": 30,
            }
        )
    council = client.v1.customers.create(params={"name": "G", "email": "g@g.example"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.create(
            params={"customer": council.id, "collection_method": "send_invoice"}
        )
    assert excinfo.value.param == "days_until_due"

    invoice = client.v1.invoices.create(
        params={"customer": council.id, "collection_method": "send_invoice", "days_until_due": 1}
    )
    with pytest.raises(stripe.InvalidRequestError, match="finalize it first"):
        client.v1.invoices.send_invoice(invoice.id)


# ---- Errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "missing"),
    [
        (lambda c: c.v1.checkout.sessions.retrieve("cs_test_missing"), "checkout.session"),
        (lambda c: c.v1.refunds.retrieve("re_missing"), "refund"),
        (lambda c: c.v1.payment_intents.retrieve("pi_missing"), "payment_intent"),
        (lambda c: c.v1.invoices.retrieve("in_missing"), "invoice"),
        (lambda c: c.v1.checkout.sessions.expire("cs_test_missing"), "checkout.session"),
    ],
)
def test_unknown_ids_are_404_invalid_request_errors(
    client: stripe.StripeClient, call: Any, missing: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call(client)

    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"
    assert str(excinfo.value.user_message).startswith(f"No such {missing}: ")


def test_requests_without_a_key_get_401(stub: StripeStub) -> None:
    response = requests.get(f"{stub.url}/v1/checkout/sessions/cs_test_x", timeout=5)

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in response.json()["error"]["message"]


@pytest.mark.parametrize("key", ["sk_live_abcdefgh1234", "pk_test_abcdefgh1234"])
def test_live_and_publishable_keys_are_refused(stub: StripeStub, key: str) -> None:
    with pytest.raises(stripe.AuthenticationError):
        stub.client(key).v1.checkout.sessions.retrieve("cs_test_x")


def test_payment_method_types_follows_the_api_version(stub: StripeStub) -> None:
    legacy = session_params(payment_method_types=["card", "ideal"])
    del legacy["allowed_payment_method_types"]

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stub.client().v1.checkout.sessions.create(params=legacy)
    assert excinfo.value.code == "parameter_unknown"
    assert excinfo.value.param == "payment_method_types"

    older = stub.client(stripe_version="2025-03-31.basil")
    session = older.v1.checkout.sessions.create(params=legacy)
    assert session.payment_method_types == ["card", "ideal"]


@pytest.mark.parametrize(
    ("overrides", "param", "code"),
    [
        ({"success_url": "/betaald"}, "success_url", "url_invalid"),
        ({"customer_email": "geen-adres"}, "customer_email", "email_invalid"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]", None),
        ({"expires_at": int(time.time()) + 60}, "expires_at", None),
        ({"colour": "blue"}, "colour", "parameter_unknown"),
        (
            {
                "line_items": [
                    {
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 20,
                            "product_data": {"name": "x"},
                        },
                        "quantity": 1,
                    }
                ]
            },
            "line_items",
            "amount_too_small",
        ),
        (
            {"line_items": [{"price_data": {"currency": "eur", "unit_amount": 900}}]},
            "line_items[0][price_data][product_data]",
            "parameter_missing",
        ),
    ],
)
def test_session_validation(
    stub: StripeStub,
    client: stripe.StripeClient,
    overrides: dict[str, Any],
    param: str,
    code: str | None,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.create(params=session_params(**overrides))

    assert excinfo.value.http_status == 400
    assert excinfo.value.param == param
    assert excinfo.value.code == code
    assert stub.objects("checkout.session") == []


def test_failed_request_does_not_burn_the_idempotency_key(client: stripe.StripeClient) -> None:
    options: Any = {"idempotency_key": "retry-me"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(
            params=session_params(success_url="/relatief"), options=options
        )

    session = client.v1.checkout.sessions.create(params=session_params(), options=options)

    assert session.status == "open"


# ---- Webhooks ---------------------------------------------------------------------------


def test_signed_event_is_accepted_by_construct_event(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    body, headers = signed_event(stub.complete_checkout(session.id), SECRET)

    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)

    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id
    assert event.data.object.metadata["booking_id"] == "42"
    assert headers["Content-Type"].startswith("application/json")


def test_tampered_body_wrong_secret_and_stale_signature_are_rejected(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    body, headers = signed_event(stub.complete_checkout(session.id), SECRET)
    signature = headers["Stripe-Signature"]

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"25000", b"1"), signature, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_other")
    stale = sign_payload(body, SECRET, timestamp=int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, stale, SECRET)


def test_sign_payload_matches_stripe_python() -> None:
    payload = '{"id": "evt_1", "object": "event"}'

    ours = sign_payload(payload.encode(), SECRET, timestamp=1_700_000_000)
    theirs = stripe.WebhookSignature.generate_signature_header(
        payload, SECRET, timestamp=1_700_000_000
    )

    assert ours == theirs
    assert ours.startswith("t=1700000000,v1=")


# ---- Hosted pay page and webhook delivery -----------------------------------------------


def start_receiver() -> tuple[ThreadingHTTPServer, list[tuple[bytes, str]]]:
    """A plain HTTP endpoint standing in for the app's webhook route."""
    received: list[tuple[bytes, str]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def test_pay_page_completes_redirects_and_delivers_webhook(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    receiver, received = start_receiver()
    try:
        stub.webhook_url = f"http://127.0.0.1:{receiver.server_address[1]}/stripe/webhook"
        stub.webhook_secret = SECRET
        session = client.v1.checkout.sessions.create(params=session_params())

        page = requests.get(session.url, timeout=5)
        assert page.status_code == 200
        assert "Betalen" in page.text
        assert "€250.00" in page.text

        answer = requests.post(
            session.url, data={"action": "pay"}, allow_redirects=False, timeout=5
        )
    finally:
        receiver.shutdown()
        receiver.server_close()

    assert answer.status_code == 303
    assert answer.headers["Location"] == f"https://bbtraining.test/betaald?sessie={session.id}"
    ((body, signature),) = received
    assert stub.deliveries == [(stub.events[-1]["id"], 200)]
    event = stripe.Webhook.construct_event(body, signature, SECRET)
    assert event.type == "checkout.session.completed"
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert requests.get(session.url, timeout=5).status_code == 410


# ---- Plumbing ---------------------------------------------------------------------------


def test_parse_form_nests_like_stripe_encodes() -> None:
    encoded = (
        "line_items[0][price_data][currency]=eur&line_items[0][quantity]=2"
        "&line_items[1][quantity]=1&metadata[0]=zero&metadata[name]=x"
        "&payment_method_types[]=card&payment_method_types[]=ideal&expand[0]=line_items"
    )

    assert parse_form(encoded) == {
        "line_items": [{"price_data": {"currency": "eur"}, "quantity": "2"}, {"quantity": "1"}],
        "metadata": {"0": "zero", "name": "x"},
        "payment_method_types": ["card", "ideal"],
        "expand": ["line_items"],
    }


def test_concurrent_clients_get_distinct_sessions(stub: StripeStub) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            session = stub.client().v1.checkout.sessions.create(
                params=session_params(client_reference_id=f"booking-{n}")
            )
            ids.append(session.id)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(ids)) == 12
    assert len(stub.find_requests("POST", "/v1/checkout/sessions")) == 12


def test_reset_forgets_everything(stub: StripeStub, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    stub.reset()

    assert stub.requests == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.retrieve(session.id)
