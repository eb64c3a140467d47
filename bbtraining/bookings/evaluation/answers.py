"""Answering: the signed link in the request mail, and the one answer per request.

The form asks a rapportcijfer from 1 to 10, what went well and what could be better. The link works
for whoever holds it unless a signed-in account that is not the one it was sent to opens it.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ... import audit
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from .models import GRADES, TEXT_MAX, EvaluationRequest, EvaluationResponse


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="evaluation-request")


def make_token(request: EvaluationRequest) -> str:
    return _serializer().dumps(request.id)


class EvaluationLinkError(DomainError):
    def __init__(self, message, status: int = 400):
        super().__init__(message)
        self.status = status


_INVALID = _l(
    "Deze link is ongeldig. Gebruik de link uit de e-mail die u van ons kreeg, of neem "
    "contact met ons op."
)


def request_for_token(token: str, user=None) -> EvaluationRequest:
    """The request a link points at, for this visitor; EvaluationLinkError with the reason."""
    try:
        request_id = _serializer().loads(
            token, max_age=current_app.config["EVALUATION_LINK_MAX_AGE"]
        )
    except SignatureExpired as exc:
        raise EvaluationLinkError(
            _l(
                "Deze link is verlopen. Wilt u de training toch beoordelen? Neem dan contact "
                "met ons op."
            )
        ) from exc
    except BadSignature as exc:
        raise EvaluationLinkError(_INVALID) from exc
    request = db.session.get(EvaluationRequest, request_id) if isinstance(request_id, int) else None
    if request is None:
        raise EvaluationLinkError(_INVALID)
    if request.belongs_to_someone_else(user):
        raise EvaluationLinkError(
            _l(
                "Deze link is voor iemand anders bedoeld. Log uit, of gebruik de link uit uw "
                "eigen e-mail."
            ),
            status=403,
        )
    return request


def submit_evaluation(
    request: EvaluationRequest, *, grade: int, went_well: str, could_be_better: str
) -> EvaluationResponse:
    if request.response is not None:
        raise DomainError(_l("U heeft deze training al beoordeeld. Een tweede antwoord kan niet."))
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise DomainError(_l("Kies een rapportcijfer van 1 tot en met 10."), field="grade")
    response = EvaluationResponse(
        request=request,
        grade=grade,
        went_well=(went_well or "").strip()[:TEXT_MAX],
        could_be_better=(could_be_better or "").strip()[:TEXT_MAX],
    )
    db.session.add(response)
    db.session.flush()  # UNIQUE request_id: a double submit at the same moment fails here
    audit.record("evaluation.answered", request, grade=grade, round=request.round_id)
    return response
