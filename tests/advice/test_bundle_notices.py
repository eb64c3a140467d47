"""The organisation's clients hear at 80 % used and 30 days before expiry, exactly once each."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.advice import bundle_tasks, bundles
from bbtraining.advice.bundle_models import AdviceBundle
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.advice.bundle_kit import BundleKit
from tests.conftest import outbox_to


@pytest.fixture
def kit(make_user, make_organisation):
    return BundleKit(make_user, make_organisation)


def _notices(email: str, word: str) -> list[OutboxMessage]:
    return [m for m in outbox_to(email) if word in m.subject]


def test_the_80_percent_notice_goes_once_to_every_client(kit):
    colleague = kit.make_user("client", organisation=kit.org, email="bode@zeist.example")
    bundle = kit.bundle(hours=10, valid_from=bundles.today() - timedelta(days=10))
    kit.log(bundle, 7 * 60 + 45)
    assert bundle_tasks.send_due_notices() == {"usage": 0, "expiry": 0}
    kit.log(bundle, 15)  # 8 of 10 hours
    assert bundle_tasks.send_due_notices() == {"usage": 1, "expiry": 0}
    for person in (kit.client, colleague):
        (mail,) = _notices(person.email, "gebruikt")
        assert "80%" in mail.subject and "Er staat nog 2 uur op" in mail.text_body
        assert f"/advies/strippenkaarten/{bundle.id}" in mail.text_body
    assert _notices(kit.other_client.email, "gebruikt") == []
    kit.log(bundle, 60)
    assert bundle_tasks.send_due_notices() == {"usage": 0, "expiry": 0}
    assert len(_notices(kit.client.email, "gebruikt")) == 1
    assert db.session.get(AdviceBundle, bundle.id).notice_80_sent_at is not None


def test_the_expiry_notice_goes_once_30_days_before(kit):
    today = bundles.today()
    bundle = kit.bundle(
        valid_from=today - timedelta(days=300), valid_until=today + timedelta(days=31)
    )
    kit.log(bundle, 60)
    assert bundle_tasks.send_due_notices(on=today)["expiry"] == 0
    assert bundle_tasks.send_due_notices(on=today + timedelta(days=1))["expiry"] == 1
    (mail,) = _notices(kit.client.email, "verloopt")
    assert "Er staat nog 9 uur op" in mail.text_body
    assert bundle_tasks.send_due_notices(on=today + timedelta(days=2))["expiry"] == 0
    assert len(_notices(kit.client.email, "verloopt")) == 1


def test_no_notices_for_used_up_expired_or_closed_bundles(kit):
    today = bundles.today()
    used_up = kit.bundle(hours=1, valid_from=today - timedelta(days=340))
    kit.log(used_up, 60)
    used_up.notice_80_sent_at = used_up.created_at
    db.session.commit()
    kit.bundle(valid_from=today - timedelta(days=400))  # expired a month ago
    closed = kit.bundle(valid_from=today - timedelta(days=340))
    bundles.close_bundle(closed, by=kit.admin)
    db.session.commit()
    assert bundle_tasks.send_due_notices() == {"usage": 0, "expiry": 0}
    assert _notices(kit.client.email, "verloopt") == []


def test_two_beats_at_once_send_each_notice_once(app, kit):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent beats are a PostgreSQL concern (SQLite serialises writers)")
    bundle = kit.bundle(hours=1, valid_from=bundles.today() - timedelta(days=10))
    kit.log(bundle, 60)
    start = threading.Barrier(3)
    errors: list[str] = []

    def beat() -> None:
        with app.app_context():
            try:
                start.wait()
                bundle_tasks.send_due_notices()
            except Exception as exc:  # reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=beat) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    sent = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.subject.like("%gebruikt%"))
    )
    assert sent == 1


def test_the_beat_knows_the_task(app):
    schedule = app.config["CELERY_BEAT_SCHEDULE"]
    assert schedule["advice-bundle-notices"]["task"] == "advice.bundle_notices"
    assert bundle_tasks.bundle_notices.name == "advice.bundle_notices"
