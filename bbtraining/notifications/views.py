from email import policy
from email.parser import BytesParser
from io import BytesIO

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..permissions import admin_required, get_or_404
from ..web import commit_or_flash
from . import bp, services
from .mail import mailbox_dir
from .models import OutboxMessage, OutboxStatus


def _dev_pages_only() -> None:
    if not current_app.config.get("DEV_PAGES"):
        abort(404)


def _read_mail(name: str):
    if not name.endswith(".eml") or "/" in name or name.startswith("."):
        abort(404)
    path = mailbox_dir() / name
    if not path.is_file():
        abort(404)
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)


@bp.route("/dev/mailbox/")
@admin_required
def mailbox():
    _dev_pages_only()
    files = sorted(mailbox_dir().glob("*.eml"), reverse=True)[:200]
    mails = []
    for path in files:
        msg = _read_mail(path.name)
        mails.append(
            {"name": path.name, "to": msg["To"], "subject": msg["Subject"], "date": msg["Date"]}
        )
    return render_template("notifications/mailbox.html", mails=mails)


@bp.route("/dev/mailbox/<name>")
@admin_required
def mailbox_message(name: str):
    _dev_pages_only()
    msg = _read_mail(name)
    body = msg.get_body(preferencelist=("plain",))
    attachments = [
        {
            "index": i,
            "filename": part.get_filename() or f"part-{i}",
            "content_type": part.get_content_type(),
        }
        for i, part in enumerate(msg.iter_attachments())
    ]
    calendar = msg.get_body(preferencelist=("calendar",))
    return render_template(
        "notifications/mailbox_message.html",
        name=name,
        msg=msg,
        text=body.get_content() if body else "",
        calendar=calendar.get_content()
        if calendar is not None and calendar.get_content_type() == "text/calendar"
        else None,
        attachments=attachments,
    )


@bp.route("/dev/mailbox/<name>/attachments/<int:index>")
@admin_required
def mailbox_attachment(name: str, index: int):
    _dev_pages_only()
    parts = list(_read_mail(name).iter_attachments())
    if index >= len(parts):
        abort(404)
    part = parts[index]
    return send_file(
        BytesIO(part.get_payload(decode=True)),
        mimetype=part.get_content_type(),
        as_attachment=True,
        download_name=part.get_filename() or f"attachment-{index}",
    )


STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Wachtend"),
    OutboxStatus.SENDING: _l("Wordt verzonden"),
    OutboxStatus.SENT: _l("Verzonden"),
    OutboxStatus.FAILED: _l("Mislukt"),
}


@bp.route("/admin/outbox/")
@admin_required
def outbox():
    status = request.args.get("status")
    if status not in {s.value for s in OutboxStatus}:
        status = None
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    if status:
        query = query.where(OutboxMessage.status == status)
    rows = db.session.scalars(query).all()
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
                OutboxMessage.status
            )
        ).all()
    )
    return render_template(
        "notifications/outbox.html",
        rows=rows,
        status=status,
        statuses=list(OutboxStatus),
        labels=STATUS_LABELS,
        counts=counts,
    )


@bp.route("/admin/outbox/<int:row_id>/retry", methods=["POST"])
@admin_required
def outbox_retry(row_id: int):
    row = get_or_404(OutboxMessage, row_id)
    if row.status == OutboxStatus.SENT:
        flash(_("Dit bericht is al verzonden."), "warning")
    elif row.status == OutboxStatus.SENDING:
        flash(
            _("Dit bericht wordt op dit moment verzonden. Probeer het zo nodig later."), "warning"
        )
    else:
        commit_or_flash(lambda: services.retry(row), _("Het bericht staat weer in de wachtrij."))
    return redirect(url_for("notifications.outbox", status=request.args.get("status")))
