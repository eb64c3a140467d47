"""Completion: the course's rule decides after the last session; staff may override; attendance
changed afterwards decides again; certificates and qualifications follow."""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.attendance import completion, guests, marking
from bbtraining.bookings.attendance.certificates import Certificate
from bbtraining.bookings.attendance.models import Completion, CompletionRun
from bbtraining.bookings.attendance.qualifications import Qualification, record_qualification
from bbtraining.bookings.attendance.tasks import run_due_completions
from bbtraining.bookings.sessions.groups import session_group
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.bookings.attendance import support
from tests.conftest import outbox_to

# The attendance fixtures (support.py), bound here so pytest finds them.
roster, make_run, make_lone_session = support.roster, support.make_run, support.make_lone_session
trainer, staff = support.trainer, support.staff


def _completion(key) -> Completion:
    return db.session.scalar(select(Completion).where(Completion.participant_key == key))


def _certificate(decided) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.completion_id == decided.id))


def _settle():
    """As the periodic task does once a completion stayed unchanged for a while."""
    return completion.settle_completions(now=utcnow() + completion.SETTLE_DELAY)


def _qualifications(user):
    return list(db.session.scalars(select(Qualification).where(Qualification.user_id == user.id)))


@pytest.fixture
def two_days(make_run, make_user, roster, trainer):
    """A two-session edition, both sessions over (the second ended an hour ago)."""
    edition = make_run(trainer=trainer, starts=(-28 * 60, -4 * 60), minutes=180)
    eva = make_user("facilitator", name="Eva de Boer", email="eva@example.nl")
    jan = make_user("facilitator", name="Jan Jansen", email="jan@example.nl")
    keys = {"eva": roster.enroll(eva).key, "jan": roster.enroll(jan).key}
    return edition, {"eva": eva, "jan": jan}, keys


def _mark_both(edition, key, statuses, by):
    # Marked while each session ran (a mark after the end would decide completion at once).
    for session, status in zip(edition.sessions, statuses, strict=True):
        marking.mark(session, key, status, by=by, now=session.starts_at + timedelta(minutes=5))


def test_present_at_every_session_completes(two_days, trainer):
    edition, people, keys = two_days
    _mark_both(edition, keys["eva"], ["present", "present"], trainer)
    _mark_both(edition, keys["jan"], ["present", "absent"], trainer)
    db.session.commit()
    assert completion.run_due_completions() == 1
    db.session.commit()
    assert outbox_to("eva@example.nl") == []  # the mail waits until the list has settled
    assert _settle() == 1
    db.session.commit()
    eva, jan = _completion(keys["eva"]), _completion(keys["jan"])
    assert eva.is_completed and eva.reason.startswith("Aanwezig bij 2 van 2 sessies")
    assert not jan.is_completed
    assert jan.reason == "Aanwezig bij 1 van 2 sessies; minimaal 100% vereist."
    assert eva.session_dates == sorted(s.local_start.date().isoformat() for s in edition.sessions)
    assert eva.trainer_names == ["Tessa Trainer"]
    # A certificate for Eva only, mailed with the PDF attached.
    assert _certificate(eva) is not None and _certificate(jan) is None
    [mail] = [m for m in outbox_to("eva@example.nl") if "certificaat" in m.subject]
    assert mail.attachments[0]["content_type"] == "application/pdf"
    assert _certificate(eva).code in mail.text_body
    assert outbox_to("jan@example.nl") == []


def test_completing_a_qualifying_course_records_it_and_invites_to_the_pool(two_days, trainer):
    edition, people, keys = two_days
    _mark_both(edition, keys["eva"], ["present", "present"], trainer)
    completion.run_due_completions()
    db.session.commit()
    assert _qualifications(people["eva"]) == []  # not before it settled
    _settle()
    db.session.commit()
    [qualification] = _qualifications(people["eva"])
    assert (qualification.source, qualification.edition_id) == ("attendance", edition.id)
    assert qualification.completed_at == edition.sessions[-1].ends_at
    subjects = [m.subject for m in outbox_to("eva@example.nl")]
    assert any("alumnipool" in s for s in subjects)


def test_non_qualifying_course_records_no_pool_invite(make_run, make_user, roster, trainer):
    edition = make_run(trainer=trainer, starts=(-240,), qualifies_for_alumni=False)
    user = make_user("facilitator", email="raad@example.nl")
    key = roster.enroll(user).key
    marking.mark(edition.sessions[0], key, "present", by=trainer, now=edition.sessions[0].starts_at)
    completion.run_due_completions()
    db.session.commit()
    assert _completion(key).is_completed
    assert not any("alumnipool" in m.subject for m in outbox_to("raad@example.nl"))


def test_excused_counts_as_absent_and_the_reason_says_so(two_days, trainer):
    edition, _people, keys = two_days
    _mark_both(edition, keys["eva"], ["present", "excused"], trainer)
    completion.run_due_completions()
    jan = _completion(keys["jan"])
    eva = _completion(keys["eva"])
    assert not eva.is_completed and eva.excused == 1
    assert eva.reason == (
        "Aanwezig bij 1 van 2 sessies; minimaal 100% vereist. "
        "Afgemeld bij 1; afgemeld telt als afwezig."
    )
    # Never marked at all: not completed either.
    assert not jan.is_completed and jan.attended == 0


def test_percentage_rule(make_run, make_user, roster, trainer):
    edition = make_run(
        trainer=trainer,
        starts=(-5 * 24 * 60, -4 * 24 * 60, -3 * 24 * 60, -2 * 24 * 60),
        completion_min_percent=75,
    )
    three = roster.enroll(make_user("facilitator")).key
    two = roster.enroll(make_user("facilitator")).key
    for index, session in enumerate(edition.sessions):
        at = session.starts_at
        marking.mark(session, three, "present" if index < 3 else "absent", by=trainer, now=at)
        marking.mark(session, two, "present" if index < 2 else "excused", by=trainer, now=at)
    completion.run_due_completions()
    assert _completion(three).is_completed
    assert not _completion(two).is_completed
    assert "minimaal 75% vereist" in _completion(two).reason


def test_a_cancelled_session_does_not_count(two_days, trainer, staff):
    edition, _people, keys = two_days
    first, second = edition.sessions
    marking.mark(first, keys["eva"], "present", by=trainer, now=first.starts_at)
    second.cancel("Trainer ziek")
    db.session.commit()
    completion.run_due_completions()
    eva = _completion(keys["eva"])
    assert eva.is_completed and eva.counted_sessions == 1
    assert eva.session_dates == [first.local_start.date().isoformat()]


def test_cancelling_a_session_after_the_decision_decides_again(two_days, trainer):
    edition, _people, keys = two_days
    first, second = edition.sessions
    marking.mark(first, keys["eva"], "present", by=trainer, now=first.starts_at)
    completion.run_due_completions()
    db.session.commit()
    assert not _completion(keys["eva"]).is_completed
    second.cancel("Achteraf geschrapt")
    db.session.commit()
    assert _completion(keys["eva"]).is_completed


def test_nothing_is_decided_before_the_last_session_ends(make_run, make_user, roster, trainer):
    edition = make_run(trainer=trainer, starts=(-26 * 60, -30), minutes=180)
    key = roster.enroll(make_user("facilitator")).key
    marking.mark(edition.sessions[0], key, "present", by=trainer)
    marking.mark(edition.sessions[1], key, "present", by=trainer)
    assert completion.run_due_completions() == 0
    assert db.session.scalar(select(func.count(Completion.id))) == 0
    later = edition.sessions[1].ends_at + timedelta(minutes=1)
    assert completion.run_due_completions(now=later) == 1
    assert _completion(key).is_completed


def test_the_periodic_task_decides_each_group_once_and_mails_once(two_days, trainer):
    edition, people, keys = two_days
    _mark_both(edition, keys["eva"], ["present", "present"], trainer)
    db.session.commit()
    # The Celery task, run in this process.
    assert run_due_completions() == {"decided": 1, "settled": 0}
    assert run_due_completions() == {"decided": 0, "settled": 0}  # decided since the end
    run = db.session.get(CompletionRun, f"edition:{edition.id}")
    assert run is not None and run.ends_at == edition.sessions[-1].ends_at
    assert outbox_to("eva@example.nl") == []
    certificate = _certificate(_completion(keys["eva"]))
    certificate.valid_since -= completion.SETTLE_DELAY  # ten quiet minutes later
    db.session.commit()
    assert run_due_completions() == {"decided": 0, "settled": 1}
    assert run_due_completions() == {"decided": 0, "settled": 0}
    assert len(outbox_to("eva@example.nl")) == 2  # certificate and pool invite, once each
    assert len(_qualifications(people["eva"])) == 1


def test_a_mistaken_tap_corrected_at_once_sends_nothing(two_days, trainer):
    edition, people, keys = two_days
    completion.run_due_completions()
    db.session.commit()
    # After the end, the trainer ticks Jan present at both sessions by mistake, then corrects.
    for session in edition.sessions:
        marking.mark(session, keys["jan"], "present", by=trainer)
    db.session.commit()
    assert _completion(keys["jan"]).is_completed  # shown at once...
    marking.mark(edition.sessions[1], keys["jan"], "absent", by=trainer)
    db.session.commit()
    assert _settle() == 0  # ...but nothing went out
    assert outbox_to("jan@example.nl") == [] and _qualifications(people["jan"]) == []
    assert not _certificate(_completion(keys["jan"])).is_valid


def test_changed_attendance_after_completion_decides_again(two_days, trainer):
    edition, people, keys = two_days
    _mark_both(edition, keys["eva"], ["present", "present"], trainer)
    completion.run_due_completions()
    _settle()
    db.session.commit()
    eva = _completion(keys["eva"])
    certificate = _certificate(eva)
    code = certificate.code
    assert len(_qualifications(people["eva"])) == 1
    # The trainer corrects the list a day later: Eva left before the second session.
    marking.mark(edition.sessions[1], keys["eva"], "absent", by=trainer)
    db.session.commit()
    assert not eva.is_completed
    assert certificate.revoked_at is not None
    assert _qualifications(people["eva"]) == []  # the pool trusts only completed trainings
    withdrawn = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "qualification.withdrawn")
    ).all()
    assert len(withdrawn) == 1
    # ...and back: the same certificate is valid again, and mailed only once.
    marking.mark(edition.sessions[1], keys["eva"], "present", by=trainer)
    _settle()
    db.session.commit()
    assert eva.is_completed and certificate.revoked_at is None and certificate.code == code
    assert len(_qualifications(people["eva"])) == 1
    assert len([m for m in outbox_to("eva@example.nl") if "certificaat" in m.subject]) == 1
    decided = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "completion.decided",
            AuditEntry.data["participant_key"].as_string() == keys["eva"],
        )
    ).all()
    assert [(e.data["old"], e.data["new"]) for e in decided] == [
        (None, "completed"),
        ("completed", "not-completed"),
        ("not-completed", "completed"),
    ]


def test_withdrawal_leaves_a_qualification_staff_recorded(two_days, trainer, staff):
    edition, people, keys = two_days
    record_qualification(people["eva"], edition.course, source="admin", by=staff)
    _mark_both(edition, keys["eva"], ["present", "present"], trainer)
    completion.run_due_completions()
    _settle()
    marking.mark(edition.sessions[0], keys["eva"], "absent", by=trainer)
    db.session.commit()
    assert [q.source for q in _qualifications(people["eva"])] == ["admin"]


def test_staff_override_needs_a_note_and_issues_a_certificate(two_days, trainer, staff):
    edition, _people, keys = two_days
    _mark_both(edition, keys["jan"], ["present", "absent"], trainer)
    completion.run_due_completions()
    db.session.commit()
    jan = _completion(keys["jan"])
    with pytest.raises(DomainError, match="Geef een toelichting"):
        completion.override_completion(jan, "completed", "  ", by=staff)
    with pytest.raises(DomainError, match="Kies afgerond"):
        completion.override_completion(jan, "half", "Waarom niet", by=staff)
    with pytest.raises(DomainError, match="volgt de regel al"):
        completion.override_completion(jan, "automatic", "", by=staff)
    db.session.rollback()
    assert not jan.is_completed and _certificate(jan) is None
    completion.override_completion(jan, "completed", "Sessie 2 ingehaald in editie 3", by=staff)
    db.session.commit()
    assert jan.is_completed and jan.is_overridden and _certificate(jan).is_valid
    assert "Sessie 2 ingehaald in editie 3" in jan.reason
    assert "Aanwezig bij 1 van 2 sessies" in jan.reason
    # Recomputing keeps the override...
    marking.mark(edition.sessions[0], keys["jan"], "absent", by=trainer)
    db.session.commit()
    assert jan.is_completed and jan.attended == 0
    # ...until staff hand it back to the rule.
    completion.override_completion(jan, "automatic", "", by=staff)
    db.session.commit()
    assert not jan.is_completed and not _certificate(jan).is_valid
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "completion.overridden")
    ).all()
    assert [e.data["decision"] for e in entries] == ["completed", "automatic"]
    assert {e.actor_id for e in entries} == {staff.id}


def test_override_through_the_web(two_days, trainer, staff, client, login):
    edition, _people, keys = two_days
    completion.run_due_completions()
    db.session.commit()
    jan = _completion(keys["jan"])
    url = f"/attendance/completions/{jan.id}/override"
    prefix = f"c{jan.id}-"
    login(trainer)
    assert (
        client.post(url, data={prefix + "decision": "completed", prefix + "note": "x"}).status_code
        == 403
    )
    client.post("/auth/logout")
    login(staff)
    refused = client.post(url, data={prefix + "decision": "completed", prefix + "note": ""})
    assert refused.status_code == 400
    assert "Geef een toelichting" in refused.get_data(as_text=True)
    db.session.refresh(jan)
    assert not jan.is_completed
    done = client.post(
        url, data={prefix + "decision": "completed", prefix + "note": "Vrijstelling"}
    )
    assert done.status_code == 302 and done.location.endswith(f"#c-{jan.id}")
    db.session.refresh(jan)
    assert jan.is_completed and jan.override_by_id == staff.id
    page = client.get(done.location.split("#")[0]).get_data(as_text=True)
    assert "Vrijstelling" in page and "handmatig" in page


def test_someone_who_left_the_list_is_not_completed(two_days, trainer, roster):
    edition, _people, keys = two_days
    _mark_both(edition, keys["eva"], ["present", "present"], trainer)
    completion.run_due_completions()
    db.session.commit()
    roster.remove(keys["eva"])  # the enrollment was cancelled afterwards
    completion.compute_completion(session_group(edition.sessions[0]))
    db.session.commit()
    eva = _completion(keys["eva"])
    assert not eva.is_completed and eva.reason == "Staat niet meer op de deelnemerslijst."
    assert not _certificate(eva).is_valid


def test_lone_inhouse_session_and_guests(make_lone_session, trainer, make_user):
    session = make_lone_session(trainer=trainer, start=-60, minutes=120)
    member = make_user("client", name="Klaas Raadslid", email="klaas@example.nl")
    guest = guests.add_guest(
        session, name="Klaas Raadslid", email="klaas@example.nl", role="raadslid", by=trainer
    )
    marking.mark(session, f"guest:{guest.id}", "present", by=trainer)
    db.session.commit()
    later = session.ends_at + timedelta(minutes=1)
    completion.run_due_completions(now=later)
    db.session.commit()
    decided = _completion("guest:klaas@example.nl")
    assert decided.group_key == f"session:{session.id}" and decided.is_completed
    assert decided.user_id == member.id  # a verified account with that address
    assert _certificate(decided) is not None


def test_completion_page_lists_outcomes(two_days, trainer, client, login):
    edition, _people, keys = two_days
    _mark_both(edition, keys["eva"], ["present", "present"], trainer)
    completion.run_due_completions()
    db.session.commit()
    login(trainer)
    page = client.get(f"/attendance/sessions/{edition.sessions[0].id}/completion")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Eva de Boer" in text and "Afgerond" in text
    assert "Aanwezig bij 0 van 2 sessies; minimaal 100% vereist." in text
    assert "Afwijken van de regel" not in text  # overrides are for staff


def test_marks_after_the_end_are_timestamped_now(two_days, trainer):
    edition, _people, keys = two_days
    record = marking.mark(edition.sessions[0], keys["eva"], "present", by=trainer)
    assert record.arrived_at is None  # ticked afterwards: no made-up arrival time
    assert record.marked_at <= utcnow()


@pytest.mark.services
def test_worker_decides_completion_and_delivers_the_certificate(
    make_lone_session, trainer, celery_worker, smtp_server
):
    """The beat task's work in a real worker: completion decided after the end; once settled,
    the certificate mailed through SMTP with the PDF attached."""
    import time

    from bbtraining.bookings.attendance.tasks import run_due_completions as task

    session = make_lone_session(trainer=trainer, start=-60, minutes=120)
    # A guest lives in the database, so the worker process sees them too.
    guest = guests.add_guest(
        session, name="Gerda Griffier", email="gerda@example.nl", role="griffier", by=trainer
    )
    marking.mark(session, f"guest:{guest.id}", "present", by=trainer)
    # The session has just ended (moved without a change notice: no invites to send).
    session.starts_at -= timedelta(hours=2)
    session.ends_at -= timedelta(hours=2)
    db.session.commit()

    def wait_for(condition, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            db.session.rollback()  # see what the worker committed
            if condition():
                return True
            time.sleep(0.2)
        return False

    task.apply_async()
    assert wait_for(lambda: _completion("guest:gerda@example.nl") is not None)
    decided = _completion("guest:gerda@example.nl")
    assert decided.is_completed
    certificate = _certificate(decided)
    assert smtp_server.messages == []  # not before the completion settled
    certificate.valid_since -= completion.SETTLE_DELAY
    db.session.commit()
    task.apply_async()
    # The certificate, and (Gerda has no account) the invitation to make one for the pool.
    messages = smtp_server.wait_for(2, timeout=30)
    assert messages, "no certificate mail delivered"
    assert sorted(m["Subject"] for _to, m in messages) == [
        "Sluit u aan bij de alumnipool",
        f"Uw certificaat: {session.course.title}",
    ]
    [(recipients, message)] = [(r, m) for r, m in messages if "certificaat" in m["Subject"]]
    assert recipients == ["gerda@example.nl"]
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert certificate.code in text and "Gerda Griffier" in text
    task.apply_async()  # again: nothing more to send
    time.sleep(1.0)
    assert len(smtp_server.messages) == 2
