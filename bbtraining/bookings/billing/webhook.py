from flask import request

from ...extensions import csrf, db
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
    db.session.commit()
    return {"received": True, "outcome": outcome}, 200
