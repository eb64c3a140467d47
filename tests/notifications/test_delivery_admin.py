"""/admin/outbox/: staff see pending, sent and failed mail with the error, and can retry."""

from sqlalchemy import select

from bbtraining.audit import AuditEntry
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from bbtraining.notifications import tasks
from bbtraining.notifications.models import OutboxMessage, OutboxStatus


def _row(to: str, status: str, **fields) -> OutboxMessage:
    row = OutboxMessage(
        to_email=to,
        subject=f"Bericht aan {to}",
        text_body="Hallo",
        status=status,
        **fields,
    )
    db.session.add(row)
    db.session.commit()
    return row


def _rows():
    return {
        "pending": _row("wacht@example.nl", OutboxStatus.PENDING),
        "sent": _row("klaar@example.nl", OutboxStatus.SENT, attempts=1, sent_at=utcnow()),
        "failed": _row(
            "mislukt@example.nl",
            OutboxStatus.FAILED,
            attempts=8,
            last_error="SMTPRecipientsRefused: 550 mailbox unavailable",
        ),
        "sending": _row("bezig@example.nl", OutboxStatus.SENDING, attempts=1, claimed_at=utcnow()),
    }


def test_staff_see_every_status_with_the_error(client, make_user, login):
    rows = _rows()
    login(make_user("admin"))
    page = client.get("/admin/outbox/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for row in rows.values():
        assert row.to_email in text
    for label in ("Wachtend (1)", "Verzonden (1)", "Mislukt (1)", "Wordt verzonden (1)"):
        assert label in text
    assert "SMTPRecipientsRefused: 550 mailbox unavailable" in text
    # A retry button for failed and pending mail, not for sent mail or mail being sent.
    assert f"/admin/outbox/{rows['failed'].id}/retry" in text
    assert f"/admin/outbox/{rows['pending'].id}/retry" in text
    assert f"/admin/outbox/{rows['sent'].id}/retry" not in text
    assert f"/admin/outbox/{rows['sending'].id}/retry" not in text


def test_filter_by_status(client, make_user, login):
    _rows()
    login(make_user("admin"))
    text = client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "mislukt@example.nl" in text
    assert "wacht@example.nl" not in text and "klaar@example.nl" not in text
    # An unknown filter shows everything instead of an error.
    assert "klaar@example.nl" in client.get("/admin/outbox/?status=zomaar").get_data(as_text=True)


def test_retry_puts_a_failed_mail_back_in_the_queue(client, make_user, login, smtp_server):
    rows = _rows()
    admin = make_user("admin")
    login(admin)
    response = client.post(f"/admin/outbox/{rows['failed'].id}/retry", follow_redirects=True)
    assert "Het bericht staat weer in de wachtrij." in response.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, rows["failed"].id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "outbox.retried"))
    assert entry.object_id == row.id and entry.actor_id == admin.id
    # And it really goes out now.
    tasks.deliver_due_now()
    assert [rcpts for rcpts, _msg in smtp_server.wait_for(2)].count(["mislukt@example.nl"]) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, row.id).status == OutboxStatus.SENT


def test_retry_of_sent_or_sending_mail_changes_nothing(client, make_user, login):
    rows = _rows()
    login(make_user("admin"))
    sent = client.post(f"/admin/outbox/{rows['sent'].id}/retry", follow_redirects=True)
    assert "Dit bericht is al verzonden." in sent.get_data(as_text=True)
    busy = client.post(f"/admin/outbox/{rows['sending'].id}/retry", follow_redirects=True)
    assert "wordt op dit moment verzonden" in busy.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, rows["sent"].id).status == OutboxStatus.SENT
    assert db.session.get(OutboxMessage, rows["sending"].id).status == OutboxStatus.SENDING
    assert (
        db.session.scalar(select(AuditEntry).where(AuditEntry.action == "outbox.retried")) is None
    )


def test_outbox_is_for_staff_only(client, make_user, login):
    failed_id = _rows()["failed"].id
    assert client.get("/admin/outbox/").status_code == 302  # to the login page
    login(make_user("facilitator", "trainer", "client"))
    assert client.get("/admin/outbox/").status_code == 403
    assert client.post(f"/admin/outbox/{failed_id}/retry").status_code == 403
    db.session.expire_all()
    assert db.session.get(OutboxMessage, failed_id).status == OutboxStatus.FAILED


def test_retry_needs_a_csrf_token(client, make_user, login):
    failed_id = _rows()["failed"].id
    login(make_user("admin"))
    assert client.post(f"/admin/outbox/{failed_id}/retry", csrf=False).status_code == 400
    assert client.post("/admin/outbox/999999/retry").status_code == 404
    db.session.expire_all()
    assert db.session.get(OutboxMessage, failed_id).status == OutboxStatus.FAILED
