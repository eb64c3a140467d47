"""The Stripe webhook: the endpoint Stripe calls with signed events (see `stripe_client`)."""

from flask import request

from ...extensions import csrf
from ...web import commit
from .. import bp
from .stripe_client import InvalidWebhook, handle_event, verify


@bp.route("/stripe/webhook", methods=["POST"])
@csrf.exempt  # authenticated by Stripe's signature instead
def stripe_webhook():
    try:
        event = verify(request.get_data(), request.headers.get("Stripe-Signature"))
    except InvalidWebhook:
        return {"error": "invalid signature"}, 400
    outcome = handle_event(event)
    commit()
    return {"received": True, "outcome": outcome}, 200
