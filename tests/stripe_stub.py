"""Local stand-in for the Stripe API endpoints bbtraining calls.

The stub is a real HTTP server on 127.0.0.1 that answers the way Stripe's v1 API does
(form-encoded requests, JSON objects, Stripe's error JSON, idempotency keys), so the real
stripe-python client can talk to it unchanged::

    with StripeStub() as stub:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": stub.url})
        # or, for module-level calls: stripe.api_base = stub.url; stripe.api_key = "sk_test_x"
        session = client.v1.checkout.sessions.create(params={...})
        event = stub.complete_checkout(session.id)
        body, headers = signed_event(event, "whsec_test")
        flask_client.post("/webhooks/stripe", data=body, headers=headers)

What happens "at Stripe's side" (a customer paying, an iDEAL payment settling, a council
paying an invoice) is driven from Python through the control methods, which return the
event dicts Stripe would send to the webhook endpoint.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

__all__ = [
    "API_VERSION",
    "RecordedRequest",
    "StripeStub",
    "parse_form",
    "sign_payload",
    "signed_event",
]

# The version pinned by stripe-python 16.1.0; events carry it as their api_version.
API_VERSION = "2026-10-28.endive"

# Stripe removed `payment_method_types` from Checkout Session creation in this version and
# added `allowed_payment_method_types` instead (changelog: endive/2026-09-30). The stub
# follows whichever version the request's Stripe-Version header asks for.
_PMT_REMOVED_IN = "2026-09-30"

_ALNUM = string.ascii_letters + string.digits


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MIN_CHARGE = {"eur": 50, "usd": 50, "gbp": 30}
_EUR_ONLY_METHODS = frozenset({"ideal", "bancontact", "eps", "p24", "sepa_debit"})
_KNOWN_METHODS = _names(
    """
    card ideal bancontact sepa_debit eps p24 klarna link paypal revolut_pay amazon_pay
    customer_balance
    """
)

_SESSION_CREATE_PARAMS = _names(
    """
    adaptive_pricing after_expiration allow_promotion_codes automatic_tax
    billing_address_collection branding_settings cancel_url client_reference_id
    consent_collection currency custom_fields custom_text customer customer_account
    customer_creation customer_email customer_update discounts
    excluded_payment_method_types expand expires_at integration_identifier
    invoice_creation line_items locale managed_payments metadata mode name_collection
    optional_items origin_context payment_intent_data payment_method_collection
    payment_method_configuration payment_method_data payment_method_options permissions
    phone_number_collection redirect_on_completion return_url
    saved_payment_method_options setup_intent_data shipping_address_collection
    shipping_options submit_type subscription_data success_url tax_id_collection ui_mode
    wallet_options
    """
)
_LINE_ITEM_PARAMS = _names(
    """
    adjustable_quantity metadata price price_data quantity tax_rates
    """
)
_PRICE_DATA_PARAMS = _names(
    """
    currency product product_data recurring tax_behavior unit_amount unit_amount_decimal
    """
)
_PRODUCT_DATA_PARAMS = _names(
    """
    description images metadata name tax_code tax_details unit_label
    """
)
_PAYMENT_INTENT_DATA_PARAMS = _names(
    """
    application_fee_amount capture_method description metadata on_behalf_of
    receipt_email setup_future_usage shipping statement_descriptor
    statement_descriptor_suffix transfer_data transfer_group
    """
)
_SESSION_LIST_PARAMS = _names(
    """
    created customer customer_account customer_details ending_before expand limit
    payment_intent payment_link starting_after status subscription
    """
)
_REFUND_CREATE_PARAMS = _names(
    """
    amount charge currency customer expand instructions_email metadata origin
    payment_intent reason refund_application_fee reverse_transfer
    """
)
_CUSTOMER_CREATE_PARAMS = _names(
    """
    address balance business_name cash_balance description email expand individual_name
    invoice_prefix invoice_settings metadata name next_invoice_sequence payment_method
    phone preferred_locales shipping source tax tax_exempt tax_id_data test_clock
    validate
    """
)
_INVOICEITEM_CREATE_PARAMS = _names(
    """
    amount currency customer customer_account description discountable discounts expand
    invoice metadata period price_data pricing quantity quantity_decimal subscription
    tax_behavior tax_code tax_rates unit_amount_decimal
    """
)
_INVOICE_CREATE_PARAMS = _names(
    """
    account_tax_ids application_fee_amount auto_advance automatic_tax
    automatically_finalizes_at collection_method currency custom_fields customer
    customer_account days_until_due default_payment_method default_source
    default_tax_rates description discounts due_date effective_at expand footer
    from_invoice issuer metadata number on_behalf_of payment_settings
    pending_invoice_items_behavior rendering shipping_cost shipping_details
    statement_descriptor subscription transfer_data
    """
)
_INVOICE_PAY_PARAMS = _names(
    """
    expand forgive mandate off_session paid_out_of_band payment_method source
    """
)
_TAX_RATE_CREATE_PARAMS = _names(
    """
    active country description display_name expand inclusive jurisdiction metadata
    percentage state tax_type
    """
)
_EXPAND_ONLY = frozenset({"expand"})
_REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)


# --------------------------------------------------------------------------------------
# Webhook signing
# --------------------------------------------------------------------------------------


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """Return the Stripe-Signature header value for `payload` signed with `secret`."""
    body = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    ts = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode("utf-8"), f"{ts}.".encode() + body, hashlib.sha256)
    return f"t={ts},v1={digest.hexdigest()}"


def signed_event(
    event: Mapping[str, Any], secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Serialise `event` like Stripe does and return (body, headers) for a webhook POST."""
    # Stripe sends pretty-printed JSON; an app that verifies a re-serialised body instead of
    # the raw bytes will therefore fail here just as it would in production.
    body = json.dumps(event, indent=2).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign_payload(body, secret, timestamp),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    return body, headers


# --------------------------------------------------------------------------------------
# Form decoding
# --------------------------------------------------------------------------------------

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_form(encoded: str) -> dict[str, Any]:
    """Decode a Stripe-style form body (`a[b][0][c]=v`) into nested dicts and lists."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(encoded, keep_blank_values=True):
        match = _KEY_RE.match(raw_key)
        parts = (
            [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))] if match else [raw_key]
        )
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        last = parts[-1]
        # `key[]=v` is the older array syntax; give each occurrence the next index.
        node[str(len(node)) if last == "" else last] = value
    return _listify(root, None)


def _listify(node: Any, key: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v, k) for k, v in node.items()}
    # Metadata keys are free-form, so numeric ones must not turn the hash into an array.
    if key != "metadata" and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# --------------------------------------------------------------------------------------
# Requests, errors and parameter validation
# --------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One HTTP request the stub received, with its form/query params decoded."""

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: str
    status: int = 0

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")


class _ApiError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type_
        self.code = code
        self.param = param

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _name(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def _reject_unknown(params: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    allowed_set = set(allowed)
    for key in params:
        if key not in allowed_set:
            name = _name(prefix, key)
            raise _ApiError(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )


def _require(params: Mapping[str, Any], key: str, prefix: str = "") -> Any:
    value = params.get(key)
    if value is None or value == "":
        name = _name(prefix, key)
        raise _ApiError(f"Missing required param: {name}.", param=name, code="parameter_missing")
    return value


def _only_one(params: Mapping[str, Any], *keys: str) -> None:
    if sum(1 for key in keys if key in params) > 1:
        raise _ApiError(
            f"You may only specify one of these parameters: {', '.join(keys)}.",
            param=keys[-1],
        )


def _as_str(value: Any, name: str, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise _ApiError(f"Invalid string: {value!r}", param=name)
    if max_length is not None and len(value) > max_length:
        raise _ApiError(
            f"Invalid string: {value[:20]}...; must be at most {max_length} characters",
            param=name,
        )
    return value


def _as_int(value: Any, name: str, minimum: int | None = None) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise _ApiError(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise _ApiError(
            f"This value must be greater than or equal to {minimum}.",
            param=name,
            code="parameter_invalid_integer",
        )
    return number


def _as_bool(value: Any, name: str) -> bool:
    if value not in ("true", "false"):
        raise _ApiError(f"Invalid boolean: {value}", param=name)
    return value == "true"


def _as_decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(_as_str(value, name))
    except InvalidOperation:
        raise _ApiError(f"Invalid decimal: {value}", param=name) from None
    if not number.is_finite():
        raise _ApiError(f"Invalid decimal: {value}", param=name)
    return number


def _as_list(value: Any, name: str) -> list[Any]:
    if value == "":
        return []
    if not isinstance(value, list):
        raise _ApiError(f"Invalid array: {name}", param=name)
    return value


def _as_dict(value: Any, name: str) -> dict[str, Any]:
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise _ApiError(f"Invalid object: {name}", param=name)
    return value


def _metadata(value: Any, name: str = "metadata") -> dict[str, str]:
    if value is None:
        return {}
    entries = _as_dict(value, name)
    if len(entries) > 50:
        raise _ApiError("You can have up to 50 keys in metadata.", param=name)
    result: dict[str, str] = {}
    for key, item in entries.items():
        param = f"{name}[{key}]"
        if not isinstance(item, str):
            raise _ApiError(f"Invalid string: {item!r}", param=param)
        if len(key) > 40:
            raise _ApiError(
                "Metadata keys can have up to 40 characters, but you passed in a key that is "
                f"{len(key)} characters. Invalid key: {key}",
                param=param,
            )
        if len(item) > 500:
            raise _ApiError(
                "Metadata values can have up to 500 characters, but you passed in a value that "
                f"is {len(item)} characters. Invalid value: {item[:40]}...",
                param=param,
            )
        # An empty value means "unset this key" in Stripe's API.
        if item != "":
            result[key] = item
    return result


def _url(value: Any, name: str) -> str:
    text = _as_str(value, name, 5000)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _ApiError("Not a valid URL", param=name, code="url_invalid")
    return text


def _email(value: Any, name: str) -> str:
    text = _as_str(value, name, 512)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise _ApiError(f"Invalid email address: {text}", param=name, code="email_invalid")
    return text


def _currency(value: Any, name: str) -> str:
    text = _as_str(value, name).lower()
    if not re.fullmatch(r"[a-z]{3}", text):
        raise _ApiError(f"Invalid currency: {text}", param=name)
    return text


def _round(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _money(amount: int, currency: str) -> str:
    symbol = {"eur": "€", "usd": "$", "gbp": "£"}.get(currency, currency.upper() + " ")
    return f"{symbol}{amount / 100:.2f}"


def _rand(length: int = 24) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _list_object(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _line_taxes(amount: int, rates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tax lines for one invoice line; assumes Stripe's half-up rounding per line."""
    inclusive = [r for r in rates if r["inclusive"]]
    inclusive_pct = sum((Decimal(str(r["percentage"])) for r in inclusive), Decimal(0))
    taxable = _round(Decimal(amount) * 100 / (100 + inclusive_pct)) if inclusive else amount
    taxes: list[dict[str, Any]] = []
    inclusive_left = amount - taxable
    for rate in rates:
        tax = _round(Decimal(taxable) * Decimal(str(rate["percentage"])) / 100)
        if rate["inclusive"]:
            # The last inclusive rate absorbs rounding so that net + taxes == gross.
            if rate is inclusive[-1]:
                tax = inclusive_left
            inclusive_left -= tax
        taxes.append(
            {
                "amount": tax,
                "tax_behavior": "inclusive" if rate["inclusive"] else "exclusive",
                "tax_rate_details": {"tax_rate": rate["id"]},
                "taxability_reason": "standard_rated",
                "taxable_amount": taxable,
                "type": "tax_rate_details",
            }
        )
    return taxes


@dataclass
class _Call:
    params: dict[str, Any]
    version: str

    @property
    def new_api(self) -> bool:
        return self.version[:10] >= _PMT_REMOVED_IN


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str]


def _json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> _Response:
    body = json.dumps(payload, indent=2).encode("utf-8")
    return _Response(status, body, {"Content-Type": "application/json", **(headers or {})})


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stub: StripeStub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stub = stub


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "stripe-stub"

    def do_GET(self) -> None:
        self.server.stub._serve(self)

    def do_POST(self) -> None:
        self.server.stub._serve(self)

    def do_DELETE(self) -> None:
        self.server.stub._serve(self)

    def log_message(self, *_args: object) -> None:
        # Request logging goes to stub.requests; stderr noise would only clutter pytest output.
        return


_Route = tuple[str, re.Pattern[str], Callable[..., dict[str, Any]]]


class StripeStub:
    """Threaded local HTTP server speaking the Stripe v1 endpoints bbtraining uses."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_version: str = API_VERSION,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        default_currency: str = "eur",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`api_key`: if set, only that key is accepted; otherwise any sk_test_/rk_test_ key.
        `webhook_url`/`webhook_secret`: where the hosted pay page delivers signed events.
        `clock`: time source for created/expires_at, replaceable to fast-forward expiry."""
        self.api_key = api_key
        self.api_version = api_version
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.default_currency = default_currency
        self.clock = clock
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._routes: list[_Route] = self._build_routes()
        self.reset()

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> StripeStub:
        """Bind to 127.0.0.1 on a free port and serve in a background thread."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        port = self._server.server_address[1]
        self._url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="stripe-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> StripeStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as the stripe client's api base, e.g. http://127.0.0.1:54321."""
        if self._url is None:
            raise RuntimeError("StripeStub is not started; call start() or use it as a context")
        return self._url

    def client(self, api_key: str = "sk_test_stub", **kwargs: Any) -> stripe.StripeClient:
        """A real stripe.StripeClient pointed at this stub."""
        return stripe.StripeClient(api_key, base_addresses={"api": self.url}, **kwargs)

    def reset(self) -> None:
        """Forget all objects, events, requests and idempotency keys."""
        with self._lock:
            self._objects: dict[str, dict[str, Any]] = {}
            self._order: list[str] = []
            self._events: list[dict[str, Any]] = []
            self._requests: list[RecordedRequest] = []
            self._idempotency: dict[str, tuple[str, str, dict[str, Any], _Response]] = {}
            self._session_lines: dict[str, list[dict[str, Any]]] = {}
            self._session_pi_data: dict[str, dict[str, Any]] = {}
            self._invoice_items: dict[str, list[str]] = {}
            self._sent_invoices: list[str] = []
            self._deliveries: list[tuple[str, int | str]] = []

    # ---- inspection --------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a snapshot copy), oldest first."""
        with self._lock:
            return list(self._requests)

    def find_requests(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests filtered by HTTP method and/or exact path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and (path is None or r.path == path)
        ]

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event generated so far (controls and API actions), oldest first."""
        with self._lock:
            return copy.deepcopy(self._events)

    @property
    def sent_invoices(self) -> list[str]:
        """Ids of invoices sent via POST /v1/invoices/{id}/send, in order."""
        with self._lock:
            return list(self._sent_invoices)

    @property
    def deliveries(self) -> list[tuple[str, int | str]]:
        """(event id, HTTP status or error text) for each webhook the pay page delivered."""
        with self._lock:
            return list(self._deliveries)

    def get(self, object_id: str) -> dict[str, Any]:
        """A copy of any stored object (session, payment intent, charge, invoice, ...)."""
        with self._lock:
            if object_id not in self._objects:
                raise ValueError(f"stripe_stub has no object {object_id!r}")
            return copy.deepcopy(self._objects[object_id])

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        """Copies of all stored objects of one type (e.g. "checkout.session"), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(self._objects[i])
                for i in self._order
                if self._objects[i]["object"] == object_type
            ]

    # ---- test-side controls ------------------------------------------------------------

    def complete_checkout(
        self,
        session_id: str,
        payment_status: str = "paid",
        *,
        payment_method_type: str | None = None,
        customer_email: str | None = None,
        customer_name: str | None = "Test Klant",
    ) -> dict[str, Any]:
        """Customer finishes Checkout; returns the checkout.session.completed event.

        payment_status="unpaid" models a delayed method (payment intent "processing");
        follow up with async_succeed() or async_fail()."""
        if payment_status not in ("paid", "unpaid"):
            raise ValueError("payment_status must be 'paid' or 'unpaid'")
        with self._lock:
            session = self._control_object(session_id, "checkout.session")
            self._lazy_expire(session)
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}, not open")
            method = payment_method_type or session["payment_method_types"][0]
            pi_data = self._session_pi_data.get(session_id, {})
            email = customer_email or session["customer_email"] or "klant@example.com"
            now = self._now()
            intent = self._store(
                {
                    "id": f"pi_{_rand()}",
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "amount_capturable": 0,
                    "amount_received": 0,
                    "canceled_at": None,
                    "cancellation_reason": None,
                    "capture_method": "automatic_async",
                    "client_secret": f"pi_secret_{_rand()}",
                    "confirmation_method": "automatic",
                    "created": now,
                    "currency": session["currency"],
                    "customer": session["customer"],
                    "description": pi_data.get("description"),
                    "last_payment_error": None,
                    "latest_charge": None,
                    "livemode": False,
                    "metadata": pi_data.get("metadata", {}),
                    "next_action": None,
                    "payment_method": f"pm_{_rand()}",
                    "payment_method_types": [method],
                    "receipt_email": pi_data.get("receipt_email"),
                    "status": "processing",
                }
            )
            session.update(
                status="complete",
                payment_status=payment_status,
                payment_intent=intent["id"],
                url=None,
                customer_details={
                    "address": None,
                    "email": email,
                    "name": customer_name,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            )
            if payment_status == "paid":
                self._succeed_intent(intent, email, customer_name)
            return self._event("checkout.session.completed", session)

    def async_succeed(self, session_id: str) -> dict[str, Any]:
        """A delayed payment settles; returns checkout.session.async_payment_succeeded."""
        with self._lock:
            session, intent = self._processing_session(session_id)
            details = session["customer_details"] or {}
            self._succeed_intent(intent, details.get("email"), details.get("name"))
            session["payment_status"] = "paid"
            return self._event("checkout.session.async_payment_succeeded", session)

    def async_fail(self, session_id: str) -> dict[str, Any]:
        """A delayed payment fails; returns checkout.session.async_payment_failed."""
        with self._lock:
            session, intent = self._processing_session(session_id)
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "code": "payment_method_provider_decline",
                    "message": "The payment was declined by the bank.",
                    "type": "card_error",
                },
            )
            return self._event("checkout.session.async_payment_failed", session)

    def expire_checkout(self, session_id: str) -> dict[str, Any]:
        """The session times out unpaid; returns the checkout.session.expired event."""
        with self._lock:
            session = self._control_object(session_id, "checkout.session")
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}, not open")
            return self._expire(session)

    def create_refund(
        self, payment_intent_id: str, amount: int | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        """A refund made outside the app (e.g. in the Dashboard); returns the refund object."""
        params: dict[str, Any] = {"payment_intent": payment_intent_id}
        if amount is not None:
            params["amount"] = str(amount)
        if reason is not None:
            params["reason"] = reason
        with self._lock:
            try:
                return copy.deepcopy(self._create_refund(_Call(params, self.api_version)))
            except _ApiError as err:
                raise ValueError(err.message) from None

    def refund_event(
        self, refund_or_charge: str | Mapping[str, Any], event_type: str = "charge.refunded"
    ) -> dict[str, Any]:
        """Event for a refund that already happened (refund/charge/payment-intent id or object).

        event_type "charge.refunded" carries the charge; "refund.created", "refund.updated"
        and "charge.refund.updated" carry the (latest) refund."""
        ref = refund_or_charge if isinstance(refund_or_charge, str) else refund_or_charge["id"]
        with self._lock:
            obj = self._control_object(ref, None)
            refund: dict[str, Any] | None = None
            if obj["object"] == "refund":
                refund = obj
                charge = self._objects[obj["charge"]]
            elif obj["object"] == "charge":
                charge = obj
            elif obj["object"] == "payment_intent" and obj["latest_charge"]:
                charge = self._objects[obj["latest_charge"]]
            else:
                raise ValueError(f"{ref} is not a refund, charge or paid payment intent")
            if event_type == "charge.refunded":
                if not charge["refunded"] and charge["amount_refunded"] == 0:
                    raise ValueError(f"charge {charge['id']} has no refunds")
                return self._event(event_type, charge)
            if event_type in ("refund.created", "refund.updated", "charge.refund.updated"):
                if refund is None:
                    refunds = [o for o in self._all("refund") if o["charge"] == charge["id"]]
                    if not refunds:
                        raise ValueError(f"charge {charge['id']} has no refunds")
                    refund = refunds[-1]
                return self._event(event_type, refund)
            raise ValueError(f"unsupported refund event type {event_type!r}")

    def pay_invoice(self, invoice_id: str, event_type: str = "invoice.paid") -> dict[str, Any]:
        """The customer pays an open invoice through Stripe; returns the invoice.paid event."""
        if event_type not in ("invoice.paid", "invoice.payment_succeeded"):
            raise ValueError(f"unsupported invoice event type {event_type!r}")
        with self._lock:
            invoice = self._control_object(invoice_id, "invoice")
            if invoice["status"] != "open":
                raise ValueError(f"invoice {invoice_id} is {invoice['status']}, not open")
            customer = self._objects[invoice["customer"]]
            intent = self._store(
                {
                    "id": f"pi_{_rand()}",
                    "object": "payment_intent",
                    "amount": invoice["amount_due"],
                    "amount_capturable": 0,
                    "amount_received": 0,
                    "created": self._now(),
                    "currency": invoice["currency"],
                    "customer": invoice["customer"],
                    "description": f"Invoice {invoice['number']}",
                    "last_payment_error": None,
                    "latest_charge": None,
                    "livemode": False,
                    "metadata": {},
                    "payment_method": f"pm_{_rand()}",
                    "payment_method_types": ["customer_balance"],
                    "receipt_email": None,
                    "status": "processing",
                }
            )
            self._succeed_intent(intent, customer["email"], customer["name"])
            self._mark_invoice_paid(invoice)
            return self._event(event_type, invoice)

    def deliver(
        self,
        event: Mapping[str, Any],
        url: str | None = None,
        secret: str | None = None,
        timeout: float = 10,
    ) -> int:
        """POST a signed event to a webhook URL (default: self.webhook_url); returns status."""
        target = url or self.webhook_url
        key = secret or self.webhook_secret
        if not target or not key:
            raise ValueError("deliver() needs a webhook url and secret")
        body, headers = signed_event(event, key)
        request = urllib.request.Request(target, data=body, headers=headers, method="POST")
        # An empty ProxyHandler keeps local deliveries away from any proxy in the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            return int(err.code)

    # ---- internal helpers --------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._objects[obj["id"]] = obj
        self._order.append(obj["id"])
        return obj

    def _all(self, object_type: str) -> list[dict[str, Any]]:
        return [self._objects[i] for i in self._order if self._objects[i]["object"] == object_type]

    def _control_object(self, object_id: str, object_type: str | None) -> dict[str, Any]:
        obj = self._objects.get(object_id)
        if obj is None or (object_type is not None and obj["object"] != object_type):
            raise ValueError(f"stripe_stub has no {object_type or 'object'} {object_id!r}")
        return obj

    def _lookup(self, object_id: str, object_type: str, param: str = "id") -> dict[str, Any]:
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != object_type:
            raise _ApiError(
                f"No such {object_type}: '{object_id}'",
                status=404,
                code="resource_missing",
                param=param,
            )
        return obj

    def _param_lookup(self, object_id: Any, object_type: str, param: str) -> dict[str, Any]:
        # A bad id in the body is a 400 at Stripe, unlike a bad id in the URL path (404).
        obj = self._objects.get(_as_str(object_id, param))
        if obj is None or obj["object"] != object_type:
            raise _ApiError(
                f"No such {object_type}: '{object_id}'", code="resource_missing", param=param
            )
        return obj

    def _event(
        self, event_type: str, obj: Mapping[str, Any], previous: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(dict(obj))}
        if previous is not None:
            data["previous_attributes"] = dict(previous)
        event = self._store(
            {
                "id": f"evt_{_rand()}",
                "object": "event",
                "api_version": self.api_version,
                "created": self._now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": event_type,
            }
        )
        self._events.append(event)
        return copy.deepcopy(event)

    def _succeed_intent(
        self, intent: dict[str, Any], email: str | None, name: str | None
    ) -> dict[str, Any]:
        method = intent["payment_method_types"][0]
        charge = self._store(
            {
                "id": f"ch_{_rand()}",
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": intent["amount"],
                "amount_refunded": 0,
                "balance_transaction": f"txn_{_rand()}",
                "billing_details": {"address": None, "email": email, "name": name, "phone": None},
                "captured": True,
                "created": self._now(),
                "currency": intent["currency"],
                "customer": intent["customer"],
                "description": intent["description"],
                "disputed": False,
                "failure_code": None,
                "failure_message": None,
                "livemode": False,
                "metadata": {},
                "paid": True,
                "payment_intent": intent["id"],
                "payment_method": intent["payment_method"],
                "payment_method_details": {"type": method, method: {}},
                "receipt_email": intent["receipt_email"],
                "receipt_url": f"{self.url}/receipt/{intent['id']}",
                "refunded": False,
                "status": "succeeded",
            }
        )
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge["id"],
            last_payment_error=None,
        )
        return charge

    def _processing_session(self, session_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        session = self._control_object(session_id, "checkout.session")
        intent_id = session["payment_intent"]
        intent = self._objects.get(intent_id) if intent_id else None
        if session["status"] != "complete" or intent is None or intent["status"] != "processing":
            raise ValueError(
                f"session {session_id} has no processing payment; "
                "call complete_checkout(..., payment_status='unpaid') first"
            )
        return session, intent

    def _expire(self, session: dict[str, Any]) -> dict[str, Any]:
        session.update(status="expired", url=None)
        return self._event("checkout.session.expired", session)

    def _lazy_expire(self, session: dict[str, Any]) -> None:
        # Stripe expires sessions on its own once expires_at passes.
        if session["status"] == "open" and self._now() >= session["expires_at"]:
            self._expire(session)

    def _mark_invoice_paid(self, invoice: dict[str, Any]) -> None:
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            attempted=True,
        )
        invoice["status_transitions"]["paid_at"] = self._now()

    # ---- HTTP plumbing -----------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8") if length else ""
        split = urlsplit(handler.path)
        method = handler.command.upper()
        record = RecordedRequest(
            method=method,
            path=split.path,
            params=parse_form(raw if method == "POST" else split.query),
            headers=dict(handler.headers.items()),
            body=raw,
        )
        with self._lock:
            self._requests.append(record)
        response = self._api(record) if split.path.startswith("/v1/") else self._browser(record)
        record.status = response.status
        handler.send_response(response.status)
        for key, value in response.headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        handler.wfile.write(response.body)

    def _api(self, record: RecordedRequest) -> _Response:
        version = record.header("Stripe-Version") or self.api_version
        extra = {"Request-Id": f"req_{_rand(14)}", "Stripe-Version": version}
        key = record.idempotency_key if record.method == "POST" else None
        if key:
            extra["Idempotency-Key"] = key
        try:
            self._authenticate(record)
            content_type = record.header("Content-Type") or ""
            if record.body and not content_type.startswith("application/x-www-form-urlencoded"):
                raise _ApiError(
                    f"Invalid request: unsupported Content-Type {content_type}. "
                    "Use application/x-www-form-urlencoded."
                )
            expand = _as_list(record.params.get("expand", []), "expand")
            with self._lock:
                if key and key in self._idempotency:
                    return self._replay(record, key)
                route, args = self._route(record)
                result = route(_Call(record.params, version), *args)
                payload = self._expanded(copy.deepcopy(result), expand)
                response = _json_response(200, payload, extra)
                if key:
                    self._idempotency[key] = (record.method, record.path, record.params, response)
                return response
        except _ApiError as err:
            # Failed validations are not stored against the idempotency key, as at Stripe.
            return _json_response(err.status, err.payload(), extra)
        except Exception as exc:
            # A stub bug should surface as a readable API error, not a dropped connection that
            # the client would retry; Stripe-Should-Retry stops stripe-python's retries.
            error = {"type": "api_error", "message": f"stripe_stub internal error: {exc!r}"}
            return _json_response(500, {"error": error}, {**extra, "Stripe-Should-Retry": "false"})

    def _authenticate(self, record: RecordedRequest) -> None:
        auth = record.header("Authorization") or ""
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        if not token:
            raise _ApiError(_NO_KEY_MESSAGE, status=401)
        masked = f"{token[:8]}{'*' * 4}{token[-4:]}"
        if token.startswith(("sk_live_", "rk_live_")):
            raise _ApiError(f"stripe_stub refuses live-mode keys: {masked}", status=401)
        valid = (
            token == self.api_key if self.api_key else token.startswith(("sk_test_", "rk_test_"))
        )
        if not valid:
            raise _ApiError(f"Invalid API Key provided: {masked}", status=401)

    def _replay(self, record: RecordedRequest, key: str) -> _Response:
        method, path, params, response = self._idempotency[key]
        if (method, path) != (record.method, record.path):
            raise _ApiError(
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{method} {path}' vs '{record.method} {record.path}'). Try "
                f"using a key other than '{key}' if you meant to execute a different request.",
                type_="idempotency_error",
            )
        if params != record.params:
            raise _ApiError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type_="idempotency_error",
            )
        headers = {**response.headers, "Idempotent-Replayed": "true"}
        headers["Request-Id"] = f"req_{_rand(14)}"
        return _Response(response.status, response.body, headers)

    def _route(
        self, record: RecordedRequest
    ) -> tuple[Callable[..., dict[str, Any]], tuple[str, ...]]:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(record.path)
            if match and method == record.method:
                return handler, match.groups()
        raise _ApiError(
            f"Unrecognized request URL ({record.method}: {record.path}). "
            "(stripe_stub does not implement this endpoint.)",
            status=404,
        )

    def _build_routes(self) -> list[_Route]:
        sid = r"([A-Za-z0-9_]+)"
        table: list[tuple[str, str, Callable[..., dict[str, Any]]]] = [
            ("POST", "/v1/checkout/sessions", self._create_session),
            ("GET", "/v1/checkout/sessions", self._list_sessions),
            ("GET", f"/v1/checkout/sessions/{sid}", self._retriever("checkout.session")),
            ("GET", f"/v1/checkout/sessions/{sid}/line_items", self._session_line_items),
            ("POST", f"/v1/checkout/sessions/{sid}/expire", self._expire_session),
            ("POST", "/v1/refunds", self._create_refund),
            ("GET", f"/v1/refunds/{sid}", self._retriever("refund")),
            ("GET", f"/v1/payment_intents/{sid}", self._retriever("payment_intent")),
            ("GET", f"/v1/charges/{sid}", self._retriever("charge")),
            ("POST", "/v1/customers", self._create_customer),
            ("GET", f"/v1/customers/{sid}", self._retriever("customer")),
            ("POST", "/v1/invoiceitems", self._create_invoice_item),
            ("GET", f"/v1/invoiceitems/{sid}", self._retriever("invoiceitem")),
            ("POST", "/v1/invoices", self._create_invoice),
            ("GET", f"/v1/invoices/{sid}", self._retriever("invoice")),
            ("POST", f"/v1/invoices/{sid}/finalize", self._finalize_invoice),
            ("POST", f"/v1/invoices/{sid}/send", self._send_invoice),
            ("POST", f"/v1/invoices/{sid}/pay", self._pay_invoice),
            ("POST", f"/v1/invoices/{sid}/void", self._void_invoice),
            ("POST", "/v1/tax_rates", self._create_tax_rate),
            ("GET", f"/v1/tax_rates/{sid}", self._retriever("tax_rate")),
            ("GET", f"/v1/events/{sid}", self._retriever("event")),
        ]
        return [(method, re.compile(path), handler) for method, path, handler in table]

    def _retriever(self, object_type: str) -> Callable[..., dict[str, Any]]:
        def retrieve(call: _Call, object_id: str) -> dict[str, Any]:
            _reject_unknown(call.params, _EXPAND_ONLY)
            obj = self._lookup(object_id, object_type)
            if object_type == "checkout.session":
                self._lazy_expire(obj)
            return obj

        return retrieve

    def _expanded(self, obj: dict[str, Any], paths: list[Any]) -> dict[str, Any]:
        for index, path in enumerate(paths):
            self._expand_path(obj, _as_str(path, f"expand[{index}]").split("."))
        return obj

    def _expand_path(self, obj: Any, parts: list[str]) -> None:
        if not isinstance(obj, dict) or not parts:
            return
        head, rest = parts[0], parts[1:]
        if obj.get("object") == "list" and head == "data":
            for item in obj["data"]:
                self._expand_path(item, rest)
            return
        if obj.get("object") == "checkout.session" and head == "line_items":
            lines = copy.deepcopy(self._session_lines.get(obj["id"], []))
            obj["line_items"] = _list_object(lines, f"/v1/checkout/sessions/{obj['id']}/line_items")
        elif isinstance(obj.get(head), str) and obj[head] in self._objects:
            obj[head] = copy.deepcopy(self._objects[obj[head]])
        elif head not in obj or (obj[head] is not None and not isinstance(obj[head], dict)):
            raise _ApiError(f"This property cannot be expanded ({head}).", param="expand")
        self._expand_path(obj.get(head), rest)

    def _browser(self, record: RecordedRequest) -> _Response:
        # The hosted pages stand in for checkout.stripe.com / invoice.stripe.com so that
        # browser tests can click through a payment.
        match = re.fullmatch(r"/pay/([A-Za-z0-9_]+)", record.path)
        if match:
            return self._pay_page(record, match.group(1))
        match = re.fullmatch(r"/invoice/([A-Za-z0-9_]+)(/pdf)?", record.path)
        if match and record.method == "GET":
            with self._lock:
                invoice = self._objects.get(match.group(1))
                if invoice is None or invoice["object"] != "invoice":
                    return _html_response(404, "Factuur niet gevonden", "")
                title = f"Factuur {invoice['number'] or invoice['id']}"
                if match.group(2):
                    # Not a real PDF; enough for links and content-type checks.
                    pdf = f"%PDF-1.4\n% stripe_stub {title}\n%%EOF\n".encode()
                    return _Response(200, pdf, {"Content-Type": "application/pdf"})
                amount = _money(invoice["amount_due"], invoice["currency"])
                text = f"<p>Te betalen: {html.escape(amount)} ({invoice['status']})</p>"
            return _html_response(200, title, text)
        return _html_response(404, "Niet gevonden", "")

    def _pay_page(self, record: RecordedRequest, session_id: str) -> _Response:
        with self._lock:
            session = self._objects.get(session_id)
            if session is None or session["object"] != "checkout.session":
                return _html_response(404, "Betaalsessie niet gevonden", "")
            self._lazy_expire(session)
            if session["status"] != "open":
                return _html_response(410, "Deze betaalsessie is niet meer geldig", "")
            if record.method == "GET":
                amount = html.escape(_money(session["amount_total"], session["currency"]))
                form = (
                    f"<p>Te betalen: <strong>{amount}</strong></p>"
                    f'<form method="post" action="/pay/{session_id}">'
                    '<button name="action" value="pay">Betalen</button>'
                    '<button name="action" value="pay_async">Betalen (verwerking)</button>'
                    '<button name="action" value="cancel">Annuleren</button></form>'
                )
                return _html_response(200, "Testbetaling", form)
            action = record.params.get("action")
            if action == "cancel":
                target = session["cancel_url"]
                event = None
            elif action in ("pay", "pay_async"):
                status = "paid" if action == "pay" else "unpaid"
                event = self.complete_checkout(session_id, payment_status=status)
                target = session["success_url"]
            else:
                return _html_response(400, "Onbekende actie", "")
        # Delivery happens outside the lock: the app's webhook handler may call back into us.
        if event is not None and self.webhook_url and self.webhook_secret:
            try:
                outcome: int | str = self.deliver(event)
            except OSError as exc:
                # As at Stripe, a failed delivery does not stop the customer's redirect.
                outcome = repr(exc)
            with self._lock:
                self._deliveries.append((event["id"], outcome))
        if not target:
            return _html_response(200, "Klaar", "")
        location = target.replace("{CHECKOUT_SESSION_ID}", session_id)
        return _Response(303, b"", {"Location": location})

    # ---- Checkout Sessions -------------------------------------------------------------

    def _create_session(self, call: _Call) -> dict[str, Any]:
        p = call.params
        allowed = set(_SESSION_CREATE_PARAMS)
        allowed.add("allowed_payment_method_types" if call.new_api else "payment_method_types")
        _reject_unknown(p, allowed)
        mode = _as_str(_require(p, "mode"), "mode")
        if mode != "payment":
            raise _ApiError("stripe_stub only implements mode=payment", param="mode")
        raw_items = _as_list(_require(p, "line_items"), "line_items")
        now = self._now()
        currency: str | None = None
        lines: list[dict[str, Any]] = []
        for index, raw in enumerate(raw_items):
            line = self._session_line(raw, f"line_items[{index}]", now)
            if currency is not None and line["currency"] != currency:
                raise _ApiError("Line items must all have the same currency.", param="line_items")
            currency = line["currency"]
            lines.append(line)
        if currency is None:
            raise _ApiError(
                "Missing required param: line_items.", param="line_items", code="parameter_missing"
            )
        total = sum(line["amount_total"] for line in lines)
        minimum = _MIN_CHARGE.get(currency)
        if minimum is not None and total < minimum:
            raise _ApiError(
                "The Checkout Session's total amount due must add up to at least "
                f"{_money(minimum, currency)} {currency}",
                param="line_items",
                code="amount_too_small",
            )

        method_param = "allowed_payment_method_types" if call.new_api else "payment_method_types"
        methods = [
            _as_str(m, f"{method_param}[{i}]")
            for i, m in enumerate(_as_list(p.get(method_param, []), method_param))
        ]
        for index, method in enumerate(methods):
            name = f"{method_param}[{index}]"
            if method not in _KNOWN_METHODS:
                raise _ApiError(f"Invalid {name}: unknown payment method type {method}", param=name)
            if method in _EUR_ONLY_METHODS and currency != "eur":
                raise _ApiError(
                    f"The payment method `{method}` cannot be used with currency `{currency}`.",
                    param=name,
                )

        customer = None
        if "customer" in p:
            _only_one(p, "customer", "customer_email")
            customer = self._param_lookup(p["customer"], "customer", "customer")["id"]
        email = _email(p["customer_email"], "customer_email") if "customer_email" in p else None
        expires_at = now + 86400
        if "expires_at" in p:
            expires_at = _as_int(p["expires_at"], "expires_at")
            # 10 s of slack so `now + 30 minutes` computed by the caller is not flaky here.
            if expires_at < now + 1800 - 10:
                raise _ApiError(
                    "The `expires_at` timestamp must be at least 30 minutes from Checkout "
                    "Session creation.",
                    param="expires_at",
                )
            if expires_at > now + 86400:
                raise _ApiError(
                    "The `expires_at` timestamp must be less than 24 hours from Checkout "
                    "Session creation.",
                    param="expires_at",
                )
        pi_data = _as_dict(p.get("payment_intent_data", {}), "payment_intent_data")
        _reject_unknown(pi_data, _PAYMENT_INTENT_DATA_PARAMS, "payment_intent_data")
        stored_pi_data = {
            "metadata": _metadata(pi_data.get("metadata"), "payment_intent_data[metadata]"),
            "description": pi_data.get("description"),
            "receipt_email": (
                _email(pi_data["receipt_email"], "payment_intent_data[receipt_email]")
                if "receipt_email" in pi_data
                else None
            ),
        }
        session_id = f"cs_test_{_rand(56)}"
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "billing_address_collection": None,
            "cancel_url": _url(p["cancel_url"], "cancel_url") if "cancel_url" in p else None,
            "client_reference_id": (
                _as_str(p["client_reference_id"], "client_reference_id", 200)
                if "client_reference_id" in p
                else None
            ),
            "client_secret": None,
            "created": now,
            "currency": currency,
            "custom_fields": [],
            "customer": customer,
            "customer_creation": "if_required",
            "customer_details": None,
            "customer_email": email,
            "discounts": [],
            "expires_at": expires_at,
            "invoice": None,
            "livemode": False,
            "locale": _as_str(p["locale"], "locale") if "locale" in p else None,
            "metadata": _metadata(p.get("metadata")),
            "mode": "payment",
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_options": {},
            "payment_method_types": methods or ["card"],
            "payment_status": "unpaid",
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": _as_str(p["submit_type"], "submit_type") if "submit_type" in p else None,
            "subscription": None,
            "success_url": _url(p["success_url"], "success_url") if "success_url" in p else None,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": f"{self.url}/pay/{session_id}",
        }
        if call.new_api:
            session["allowed_payment_method_types"] = methods or None
        self._store(session)
        self._session_lines[session_id] = lines
        self._session_pi_data[session_id] = stored_pi_data
        return session

    def _session_line(self, raw: Any, prefix: str, now: int) -> dict[str, Any]:
        item = _as_dict(raw, prefix)
        _reject_unknown(item, _LINE_ITEM_PARAMS, prefix)
        if "price" in item:
            raise _ApiError(
                f"No such price: '{item['price']}'",
                param=f"{prefix}[price]",
                code="resource_missing",
            )
        pd_name = f"{prefix}[price_data]"
        price_data = _as_dict(_require(item, "price_data", prefix), pd_name)
        _reject_unknown(price_data, _PRICE_DATA_PARAMS, pd_name)
        currency = _currency(_require(price_data, "currency", pd_name), f"{pd_name}[currency]")
        _only_one(price_data, "unit_amount", "unit_amount_decimal")
        if "unit_amount_decimal" in price_data:
            unit = _as_decimal(price_data["unit_amount_decimal"], f"{pd_name}[unit_amount_decimal]")
        else:
            unit = Decimal(
                _as_int(_require(price_data, "unit_amount", pd_name), f"{pd_name}[unit_amount]", 0)
            )
        if "product" in price_data:
            raise _ApiError(
                f"No such product: '{price_data['product']}'",
                param=f"{pd_name}[product]",
                code="resource_missing",
            )
        prod_name = f"{pd_name}[product_data]"
        product_data = _as_dict(_require(price_data, "product_data", pd_name), prod_name)
        _reject_unknown(product_data, _PRODUCT_DATA_PARAMS, prod_name)
        name = _as_str(_require(product_data, "name", prod_name), f"{prod_name}[name]", 250)
        quantity = _as_int(_require(item, "quantity", prefix), f"{prefix}[quantity]", 1)
        product = self._store(
            {
                "id": f"prod_{_rand(14)}",
                "object": "product",
                "active": False,
                "created": now,
                "description": product_data.get("description"),
                "livemode": False,
                "metadata": _metadata(product_data.get("metadata"), f"{prod_name}[metadata]"),
                "name": name,
            }
        )
        price = self._store(
            {
                "id": f"price_{_rand()}",
                "object": "price",
                "active": False,
                "billing_scheme": "per_unit",
                "created": now,
                "currency": currency,
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": None,
                "product": product["id"],
                "recurring": None,
                "tax_behavior": price_data.get("tax_behavior", "unspecified"),
                "type": "one_time",
                "unit_amount": int(unit) if unit == unit.to_integral_value() else None,
                "unit_amount_decimal": str(unit),
            }
        )
        amount = _round(unit * quantity)
        return {
            "id": f"li_{_rand()}",
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": amount,
            "amount_tax": 0,
            "amount_total": amount,
            "currency": currency,
            "description": name,
            "metadata": _metadata(item.get("metadata"), f"{prefix}[metadata]"),
            "price": price,
            "quantity": quantity,
        }

    def _list_sessions(self, call: _Call) -> dict[str, Any]:
        p = call.params
        _reject_unknown(p, _SESSION_LIST_PARAMS)
        limit = _as_int(p.get("limit", "10"), "limit", 1)
        sessions = list(reversed(self._all("checkout.session")))
        for session in sessions:
            self._lazy_expire(session)
        for field in ("payment_intent", "customer", "status"):
            if field in p:
                sessions = [s for s in sessions if s[field] == p[field]]
        if "starting_after" in p:
            ids = [s["id"] for s in sessions]
            cursor = _as_str(p["starting_after"], "starting_after")
            sessions = sessions[ids.index(cursor) + 1 :] if cursor in ids else []
        page = sessions[: min(limit, 100)]
        return _list_object(page, "/v1/checkout/sessions", has_more=len(sessions) > len(page))

    def _session_line_items(self, call: _Call, session_id: str) -> dict[str, Any]:
        _reject_unknown(call.params, {"ending_before", "expand", "limit", "starting_after"})
        self._lookup(session_id, "checkout.session")
        lines = self._session_lines.get(session_id, [])
        return _list_object(lines, f"/v1/checkout/sessions/{session_id}/line_items")

    def _expire_session(self, call: _Call, session_id: str) -> dict[str, Any]:
        _reject_unknown(call.params, _EXPAND_ONLY)
        session = self._lookup(session_id, "checkout.session", "session")
        self._lazy_expire(session)
        if session["status"] != "open":
            raise _ApiError(
                'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f"Checkout Session has a status of `{session['status']}`.",
                param="session",
            )
        self._expire(session)
        return session

    # ---- Refunds -----------------------------------------------------------------------

    def _create_refund(self, call: _Call) -> dict[str, Any]:
        p = call.params
        _reject_unknown(p, _REFUND_CREATE_PARAMS)
        if "payment_intent" not in p and "charge" not in p:
            raise _ApiError(
                "One of `charge` or `payment_intent` is required.",
                param="payment_intent",
                code="parameter_missing",
            )
        _only_one(p, "charge", "payment_intent")
        if "payment_intent" in p:
            intent = self._param_lookup(p["payment_intent"], "payment_intent", "payment_intent")
            if intent["status"] != "succeeded" or not intent["latest_charge"]:
                raise _ApiError(
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                    "refund.",
                    param="payment_intent",
                )
            charge = self._objects[intent["latest_charge"]]
        else:
            charge = self._param_lookup(p["charge"], "charge", "charge")
        if charge["refunded"]:
            raise _ApiError(
                f"Charge {charge['id']} has already been refunded.",
                param="charge",
                code="charge_already_refunded",
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = _as_int(p["amount"], "amount", 1) if "amount" in p else remaining
        if amount > remaining:
            raise _ApiError(
                f"Refund amount ({_money(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({_money(remaining, charge['currency'])})",
                param="amount",
                code="amount_too_large",
            )
        reason = None
        if "reason" in p:
            reason = _as_str(p["reason"], "reason")
            if reason not in _REFUND_REASONS:
                raise _ApiError(
                    "Invalid reason: must be one of duplicate, fraudulent, or "
                    "requested_by_customer",
                    param="reason",
                )
        refund = self._store(
            {
                "id": f"re_{_rand()}",
                "object": "refund",
                "amount": amount,
                "balance_transaction": f"txn_{_rand()}",
                "charge": charge["id"],
                "created": self._now(),
                "currency": charge["currency"],
                "destination_details": None,
                "metadata": _metadata(p.get("metadata")),
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "receipt_number": None,
                "source_transfer_reversal": None,
                "status": "succeeded",
                "transfer_reversal": None,
            }
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return refund

    # ---- Customers, tax rates, invoice items, invoices ---------------------------------

    def _create_customer(self, call: _Call) -> dict[str, Any]:
        p = call.params
        _reject_unknown(p, _CUSTOMER_CREATE_PARAMS)
        prefix = _as_str(p.get("invoice_prefix", _rand(8).upper()), "invoice_prefix")
        if not re.fullmatch(r"[A-Z0-9]{3,12}", prefix):
            raise _ApiError(
                "Invoice prefix must be 3-12 uppercase letters or numbers.",
                param="invoice_prefix",
            )
        locales = _as_list(p.get("preferred_locales", []), "preferred_locales")
        return self._store(
            {
                "id": f"cus_{_rand(14)}",
                "object": "customer",
                "address": _as_dict(p["address"], "address") if "address" in p else None,
                "balance": 0,
                "created": self._now(),
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "description": (
                    _as_str(p["description"], "description") if "description" in p else None
                ),
                "email": _email(p["email"], "email") if p.get("email") else None,
                "invoice_prefix": prefix,
                "invoice_settings": {
                    "custom_fields": None,
                    "default_payment_method": None,
                    "footer": None,
                    "rendering_options": None,
                },
                "livemode": False,
                "metadata": _metadata(p.get("metadata")),
                "name": _as_str(p["name"], "name", 256) if "name" in p else None,
                "next_invoice_sequence": 1,
                "phone": _as_str(p["phone"], "phone", 20) if "phone" in p else None,
                "preferred_locales": [_as_str(x, "preferred_locales") for x in locales],
                "shipping": None,
                "tax_exempt": p.get("tax_exempt", "none"),
                "test_clock": None,
            }
        )

    def _create_tax_rate(self, call: _Call) -> dict[str, Any]:
        p = call.params
        _reject_unknown(p, _TAX_RATE_CREATE_PARAMS)
        display_name = _as_str(_require(p, "display_name"), "display_name", 50)
        percentage = _as_decimal(_require(p, "percentage"), "percentage")
        if not Decimal(0) <= percentage <= Decimal(100):
            raise _ApiError("Percentage must be between 0 and 100.", param="percentage")
        inclusive = _as_bool(_require(p, "inclusive"), "inclusive")
        return self._store(
            {
                "id": f"txr_{_rand()}",
                "object": "tax_rate",
                "active": _as_bool(p["active"], "active") if "active" in p else True,
                "country": p.get("country"),
                "created": self._now(),
                "description": p.get("description"),
                "display_name": display_name,
                "effective_percentage": float(percentage),
                "flat_amount": None,
                "inclusive": inclusive,
                "jurisdiction": p.get("jurisdiction"),
                "jurisdiction_level": None,
                "livemode": False,
                "metadata": _metadata(p.get("metadata")),
                "percentage": float(percentage),
                "rate_type": "percentage",
                "state": p.get("state"),
                "tax_type": p.get("tax_type"),
            }
        )

    def _tax_rates(self, value: Any, name: str) -> list[dict[str, Any]]:
        rates = []
        for index, rate_id in enumerate(_as_list(value, name)):
            rate = self._param_lookup(rate_id, "tax_rate", f"{name}[{index}]")
            if not rate["active"]:
                raise _ApiError(f"Tax rate {rate['id']} is inactive.", param=f"{name}[{index}]")
            rates.append(copy.deepcopy(rate))
        return rates

    def _create_invoice_item(self, call: _Call) -> dict[str, Any]:
        p = call.params
        _reject_unknown(p, _INVOICEITEM_CREATE_PARAMS)
        customer = self._param_lookup(_require(p, "customer"), "customer", "customer")
        for unsupported in ("price_data", "pricing", "quantity_decimal", "subscription"):
            if unsupported in p:
                raise _ApiError(
                    f"stripe_stub does not implement invoice items with `{unsupported}`; use "
                    "`amount` or `unit_amount_decimal` with `quantity`.",
                    param=unsupported,
                )
        invoice = None
        if "invoice" in p:
            invoice = self._param_lookup(p["invoice"], "invoice", "invoice")
            if invoice["status"] != "draft":
                raise _ApiError(
                    f"Invoice {invoice['id']} is no longer a draft; invoice items can only be "
                    "added to draft invoices.",
                    param="invoice",
                )
            if invoice["customer"] != customer["id"]:
                raise _ApiError("The invoice belongs to a different customer.", param="invoice")
        _only_one(p, "amount", "unit_amount_decimal")
        if "amount" in p:
            if "quantity" in p:
                # Stripe treats `amount` as the line total; pairing it with `quantity` is a
                # common mistake, so the stub insists on unit_amount_decimal for that case.
                raise _ApiError(
                    "stripe_stub: `quantity` needs `unit_amount_decimal`, not `amount`.",
                    param="quantity",
                )
            amount = _as_int(p["amount"], "amount")
            unit = Decimal(amount)
            quantity = 1
        elif "unit_amount_decimal" in p:
            unit = _as_decimal(p["unit_amount_decimal"], "unit_amount_decimal")
            quantity = _as_int(p.get("quantity", "1"), "quantity", 0)
            amount = _round(unit * quantity)
        else:
            raise _ApiError(
                "Missing required param: amount.", param="amount", code="parameter_missing"
            )
        currency = (
            _currency(p["currency"], "currency")
            if "currency" in p
            else (invoice or {}).get("currency") or customer["currency"]
        )
        if currency is None:
            raise _ApiError(
                "Missing required param: currency.", param="currency", code="parameter_missing"
            )
        if invoice is not None and currency != invoice["currency"]:
            raise _ApiError(
                f"The currency of this invoice item ({currency}) does not match the invoice "
                f"currency ({invoice['currency']}).",
                param="currency",
            )
        now = self._now()
        period = _as_dict(p.get("period", {}), "period")
        item = self._store(
            {
                "id": f"ii_{_rand()}",
                "object": "invoiceitem",
                "amount": amount,
                "currency": currency,
                "customer": customer["id"],
                "date": now,
                "description": (
                    _as_str(p["description"], "description") if "description" in p else None
                ),
                "discountable": (
                    _as_bool(p["discountable"], "discountable") if "discountable" in p else True
                ),
                "discounts": [],
                "invoice": invoice["id"] if invoice else None,
                "livemode": False,
                "metadata": _metadata(p.get("metadata")),
                "net_amount": amount,
                "parent": None,
                "period": {
                    "start": _as_int(period["start"], "period[start]") if period else now,
                    "end": _as_int(period["end"], "period[end]") if period else now,
                },
                "pricing": {
                    "price_details": None,
                    "type": "price_details",
                    "unit_amount_decimal": str(unit),
                },
                "proration": False,
                "quantity": quantity,
                "tax_rates": self._tax_rates(p.get("tax_rates", []), "tax_rates"),
                "test_clock": None,
            }
        )
        if customer["currency"] is None:
            customer["currency"] = currency
        if invoice is not None:
            self._invoice_items[invoice["id"]].append(item["id"])
            self._recalculate(invoice)
        return item

    def _create_invoice(self, call: _Call) -> dict[str, Any]:
        p = call.params
        _reject_unknown(p, _INVOICE_CREATE_PARAMS)
        customer = self._param_lookup(_require(p, "customer"), "customer", "customer")
        method = _as_str(p.get("collection_method", "charge_automatically"), "collection_method")
        if method not in ("charge_automatically", "send_invoice"):
            raise _ApiError(f"Invalid collection_method: {method}", param="collection_method")
        now = self._now()
        _only_one(p, "days_until_due", "due_date")
        due_date = None
        if method == "send_invoice":
            if "days_until_due" in p:
                days = _as_int(p["days_until_due"], "days_until_due", 0)
                due_date = now + days * 86400
            elif "due_date" in p:
                due_date = _as_int(p["due_date"], "due_date", now)
            else:
                raise _ApiError(
                    "Invoices with `collection_method=send_invoice` need `days_until_due` or "
                    "`due_date`.",
                    param="days_until_due",
                    code="parameter_missing",
                )
            if not customer["email"]:
                raise _ApiError(
                    "Missing email. In order to create invoices that are sent to the customer, "
                    "the customer must have a valid email.",
                    param="customer",
                )
        elif "days_until_due" in p or "due_date" in p:
            raise _ApiError(
                "Only invoices with collection_method=send_invoice can have a due date.",
                param="days_until_due" if "days_until_due" in p else "due_date",
            )
        behavior = _as_str(
            p.get("pending_invoice_items_behavior", "exclude"), "pending_invoice_items_behavior"
        )
        if behavior not in ("include", "exclude"):
            raise _ApiError(
                f"Invalid pending_invoice_items_behavior: {behavior}",
                param="pending_invoice_items_behavior",
            )
        pending = [
            item
            for item in self._all("invoiceitem")
            if item["customer"] == customer["id"] and item["invoice"] is None
        ]
        currency = (
            _currency(p["currency"], "currency")
            if "currency" in p
            else customer["currency"] or self.default_currency
        )
        custom_fields = []
        for index, raw_field in enumerate(_as_list(p.get("custom_fields", []), "custom_fields")):
            prefix = f"custom_fields[{index}]"
            entry = _as_dict(raw_field, prefix)
            _reject_unknown(entry, {"name", "value"}, prefix)
            custom_fields.append(
                {
                    "name": _as_str(_require(entry, "name", prefix), f"{prefix}[name]", 40),
                    "value": _as_str(_require(entry, "value", prefix), f"{prefix}[value]", 140),
                }
            )
        invoice_id = f"in_{_rand()}"
        invoice: dict[str, Any] = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "NL",
            "account_name": "bbtraining (stripe_stub)",
            "amount_due": 0,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": (
                _as_bool(p["auto_advance"], "auto_advance") if "auto_advance" in p else False
            ),
            "automatic_tax": {
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "billing_reason": "manual",
            "collection_method": method,
            "created": now,
            "currency": currency,
            "custom_fields": custom_fields or None,
            "customer": customer["id"],
            "customer_address": customer["address"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "customer_phone": customer["phone"],
            "customer_tax_exempt": customer["tax_exempt"],
            "default_payment_method": None,
            "default_tax_rates": self._tax_rates(
                p.get("default_tax_rates", []), "default_tax_rates"
            ),
            "description": (
                _as_str(p["description"], "description", 1500) if "description" in p else None
            ),
            "discounts": [],
            "due_date": due_date,
            "effective_at": None,
            "ending_balance": None,
            "footer": _as_str(p["footer"], "footer", 5000) if "footer" in p else None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "lines": _list_object([], f"/v1/invoices/{invoice_id}/lines"),
            "livemode": False,
            "metadata": _metadata(p.get("metadata")),
            "next_payment_attempt": None,
            "number": _as_str(p["number"], "number", 26) if "number" in p else None,
            "on_behalf_of": None,
            "parent": None,
            "period_end": now,
            "period_start": now,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "test_clock": None,
            "total": 0,
            "total_discount_amounts": [],
            "total_excluding_tax": 0,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": None,
        }
        self._store(invoice)
        self._invoice_items[invoice_id] = []
        if behavior == "include":
            for item in pending:
                if item["currency"] == currency:
                    item["invoice"] = invoice_id
                    self._invoice_items[invoice_id].append(item["id"])
        if customer["currency"] is None:
            customer["currency"] = currency
        self._recalculate(invoice)
        return invoice

    def _recalculate(self, invoice: dict[str, Any]) -> None:
        lines = []
        subtotal = inclusive_tax = exclusive_tax = 0
        totals: dict[str, dict[str, Any]] = {}
        for item_id in self._invoice_items[invoice["id"]]:
            item = self._objects[item_id]
            rates = item["tax_rates"] or invoice["default_tax_rates"]
            taxes = _line_taxes(item["amount"], rates)
            subtotal += item["amount"]
            for tax in taxes:
                if tax["tax_behavior"] == "inclusive":
                    inclusive_tax += tax["amount"]
                else:
                    exclusive_tax += tax["amount"]
                rate_id = tax["tax_rate_details"]["tax_rate"]
                bucket = totals.setdefault(rate_id, {**tax, "amount": 0, "taxable_amount": 0})
                bucket["amount"] += tax["amount"]
                bucket["taxable_amount"] += tax["taxable_amount"]
            lines.append(
                {
                    "id": f"il_{item_id[3:]}",
                    "object": "line_item",
                    "amount": item["amount"],
                    "currency": item["currency"],
                    "description": item["description"],
                    "discount_amounts": [],
                    "discountable": item["discountable"],
                    "discounts": [],
                    "invoice": invoice["id"],
                    "livemode": False,
                    "metadata": item["metadata"],
                    "parent": {
                        "invoice_item_details": {
                            "invoice_item": item_id,
                            "proration": False,
                            "proration_details": {"credited_items": None},
                            "subscription": None,
                        },
                        "subscription_item_details": None,
                        "type": "invoice_item_details",
                    },
                    "period": item["period"],
                    "pretax_credit_amounts": [],
                    "pricing": item["pricing"],
                    "quantity": item["quantity"],
                    "subscription": None,
                    "subtotal": item["amount"],
                    "taxes": taxes,
                }
            )
        total = subtotal + exclusive_tax
        amount_due = max(total, 0)
        invoice.update(
            lines=_list_object(lines, f"/v1/invoices/{invoice['id']}/lines"),
            subtotal=subtotal,
            subtotal_excluding_tax=subtotal - inclusive_tax,
            total=total,
            total_excluding_tax=total - inclusive_tax - exclusive_tax,
            total_taxes=list(totals.values()),
            amount_due=amount_due,
            amount_remaining=amount_due - invoice["amount_paid"],
        )
        invoice["lines"]["total_count"] = len(lines)

    def _finalize_invoice(self, call: _Call, invoice_id: str) -> dict[str, Any]:
        _reject_unknown(call.params, {"auto_advance", "expand"})
        invoice = self._lookup(invoice_id, "invoice", "invoice")
        if invoice["status"] != "draft":
            raise _ApiError(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                param="invoice",
            )
        if "auto_advance" in call.params:
            invoice["auto_advance"] = _as_bool(call.params["auto_advance"], "auto_advance")
        customer = self._objects[invoice["customer"]]
        now = self._now()
        if invoice["number"] is None:
            invoice["number"] = (
                f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
            )
            customer["next_invoice_sequence"] += 1
        invoice.update(
            status="open",
            effective_at=now,
            hosted_invoice_url=f"{self.url}/invoice/{invoice_id}",
            invoice_pdf=f"{self.url}/invoice/{invoice_id}/pdf",
            ending_balance=0,
        )
        invoice["status_transitions"]["finalized_at"] = now
        self._event("invoice.finalized", invoice)
        # Stripe marks zero-amount invoices paid as soon as they are finalized.
        if invoice["amount_due"] == 0:
            self._mark_invoice_paid(invoice)
            self._event("invoice.paid", invoice)
        return invoice

    def _send_invoice(self, call: _Call, invoice_id: str) -> dict[str, Any]:
        _reject_unknown(call.params, _EXPAND_ONLY)
        invoice = self._lookup(invoice_id, "invoice", "invoice")
        if invoice["status"] not in ("open", "paid"):
            raise _ApiError(
                f"You can't send an invoice with status `{invoice['status']}`; finalize it first.",
                param="invoice",
            )
        self._sent_invoices.append(invoice_id)
        self._event("invoice.sent", invoice)
        return invoice

    def _pay_invoice(self, call: _Call, invoice_id: str) -> dict[str, Any]:
        p = call.params
        _reject_unknown(p, _INVOICE_PAY_PARAMS)
        invoice = self._lookup(invoice_id, "invoice", "invoice")
        if invoice["status"] != "open":
            raise _ApiError(
                f"Invoice is {invoice['status']}; only open invoices can be paid.",
                param="invoice",
                code="invoice_not_open" if invoice["status"] == "draft" else None,
            )
        if not _as_bool(p.get("paid_out_of_band", "false"), "paid_out_of_band"):
            raise _ApiError(
                "stripe_stub only implements paying invoices with paid_out_of_band=true; use "
                "StripeStub.pay_invoice() for a payment through Stripe.",
                param="paid_out_of_band",
            )
        self._mark_invoice_paid(invoice)
        self._event("invoice.paid", invoice)
        return invoice

    def _void_invoice(self, call: _Call, invoice_id: str) -> dict[str, Any]:
        _reject_unknown(call.params, _EXPAND_ONLY)
        invoice = self._lookup(invoice_id, "invoice", "invoice")
        if invoice["status"] != "open":
            raise _ApiError(
                f"You can only void open invoices; this one is {invoice['status']}.",
                param="invoice",
            )
        invoice["status"] = "void"
        invoice["status_transitions"]["voided_at"] = self._now()
        self._event("invoice.voided", invoice)
        return invoice


def _html_response(status: int, title: str, body: str) -> _Response:
    page = (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return _Response(status, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})
