"""Certificates: the public verification page and the participant's own download.

/certificates/<code> confirms or denies one certificate and nothing else: an unknown code is a
404 (a page that says so) and there is no list. Both pages share a rate limit, so codes cannot
be tried in bulk.
"""

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...extensions import db, limiter
from .. import bp
from .access import can_view_completion
from .certificates import Certificate, certificate_pdf, find_by_code, normalise_code
from .forms import CertificateLookupForm

DEFAULT_VERIFY_RATE_LIMIT = "30 per minute;300 per hour"


def _verify_limit() -> str:
    return current_app.config.get("CERTIFICATE_VERIFY_RATE_LIMIT", DEFAULT_VERIFY_RATE_LIMIT)


_verify_limiter = limiter.shared_limit(_verify_limit, scope="certificate-verify")


@bp.route("/certificates/")
@_verify_limiter
def certificate_lookup():
    form = CertificateLookupForm(request.args)
    if request.args and form.validate():
        code = normalise_code(form.code.data)
        if code is not None:
            return redirect(url_for(".certificate_verify", code=code))
        form.code.errors.append(
            _("Deze code heeft niet de vorm van een verificatiecode (16 letters en cijfers).")
        )
    status = 400 if form.errors else 200
    return render_template("bookings/certificates/lookup.html", form=form), status


@bp.route("/certificates/<code>")
@_verify_limiter
def certificate_verify(code: str):
    certificate = find_by_code(code)
    if certificate is None:
        # Whoever checks a code hears so in words (still a 404: there is no such page). Only a
        # code of our form is shown back: the address is not a place to print a visitor's text.
        page = render_template(
            "bookings/certificates/unknown.html",
            code=normalise_code(code),
            form=CertificateLookupForm(formdata=None),
        )
        response = current_app.make_response((page, 404))
    else:
        response = current_app.make_response(
            render_template("bookings/certificates/verify.html", certificate=certificate)
        )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/account/certificates/<int:certificate_id>.pdf")
@login_required
def certificate_download(certificate_id: int):
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not can_view_completion(current_user, certificate.completion):
        abort(404)
    if not certificate.is_valid and not current_user.is_admin:
        abort(404)
    return Response(
        certificate_pdf(certificate),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{certificate.filename}"',
            "Cache-Control": "private, no-store",
        },
    )
