"""The waiting list: joining, offers by mail with signed links, promotion chains, groups."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.enrollment import cancellation, waitlist
from bbtraining.bookings.enrollment import tasks as enrollment_tasks
from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
from bbtraining.courses.signals import edition_changed
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.bookings.conftest import seats_taken
from tests.conftest import outbox_to


def _offer_link(email: str) -> str:
    mail = [m for m in outbox_to(email) if m.subject.startswith("Er is een plaats")][-1]
    return re.search(r"http://bbtraining\.test(/waitlist/offer/\S+)", mail.text_body).group(1)


def _leave_link(email: str) -> str:
    mail = outbox_to(email)[-1]
    return re.search(r"http://bbtraining\.test(/waitlist/leave/\S+)", mail.text_body).group(1)


def _entry(user) -> WaitlistEntry:
    db.session.expire_all()
    return db.session.scalar(
        select(WaitlistEntry).where(WaitlistEntry.user_id == user.id).order_by(WaitlistEntry.id)
    )


def _cancel(enrollment):
    cancellation.cancel_enrollment(enrollment, by=None, refund="full")
    db.session.commit()


def test_joining_a_full_edition_by_the_page(client, full_edition, make_user, login):
    edition = full_edition(capacity=2)
    user = make_user("facilitator", email="wacht@example.nl")
    login(user)
    response = client.post(
        f"/editions/{edition.id}/waitlist", data={"seats": "1", "note": ""}, follow_redirects=True
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "U staat op de wachtlijst, op plaats 1" in text
    entry = _entry(user)
    assert entry.status == "waiting" and entry.seats == 1
    assert seats_taken(edition) == 2  # waiting takes no seat
    joined = outbox_to("wacht@example.nl")[-1]
    assert joined.subject.startswith("U staat op de wachtlijst")
    assert "/waitlist/leave/" in joined.text_body
    page = client.get("/account/").get_data(as_text=True)
    assert "plaats 1 op de wachtlijst" in page


def test_visitor_creates_account_and_joins_the_waiting_list(client, full_edition):
    edition = full_edition(capacity=3)
    response = client.post(
        f"/editions/{edition.id}/waitlist",
        data={
            "seats": "2",
            "name": "Groep Leider",
            "email": "groep@example.nl",
            "password": "lange zin als wachtwoord",
            "password_confirm": "lange zin als wachtwoord",
        },
    )
    assert response.status_code == 302
    entry = db.session.scalar(select(WaitlistEntry))
    assert entry.user.email == "groep@example.nl" and entry.seats == 2
    assert client.get("/account/").status_code == 200  # signed in by the same flow


@pytest.mark.parametrize(
    ("data", "message", "status"),
    [
        ({"seats": "0"}, "Kies tussen 1 en 10 plaatsen.", 400),
        ({"seats": "11"}, "Kies tussen 1 en 10 plaatsen.", 400),
        ({"seats": "veel"}, "Ongeldig getal.", 400),
        ({"seats": "3"}, "Kies tussen 1 en 2 plaatsen.", 400),  # more than the edition holds
    ],
)
def test_bad_waitlist_input_changes_nothing(
    client, full_edition, make_user, login, data, message, status
):
    edition = full_edition(capacity=2)
    login(make_user("facilitator"))
    response = client.post(f"/editions/{edition.id}/waitlist", data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_joining_twice_or_while_enrolled_is_refused(client, full_edition, make_user, login):
    edition = full_edition(capacity=1)
    enrolled = db.session.scalar(select(Enrollment)).user
    login(enrolled)
    response = client.post(f"/editions/{edition.id}/waitlist", data={"seats": "1"})
    assert response.status_code == 409
    assert "U bent al ingeschreven" in response.get_data(as_text=True)
    client.post("/auth/logout")
    other = make_user("facilitator")
    login(other)
    client.post(f"/editions/{edition.id}/waitlist", data={"seats": "1"})
    response = client.post(f"/editions/{edition.id}/waitlist", data={"seats": "1"})
    assert response.status_code == 409
    assert "U staat al op de wachtlijst" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 1


def test_single_person_with_a_free_seat_is_sent_to_enroll(client, make_edition, make_user, login):
    edition = make_edition(capacity=2)
    login(make_user("facilitator"))
    response = client.post(f"/editions/{edition.id}/waitlist", data={"seats": "1"})
    assert response.status_code == 409
    assert "u kunt zich direct inschrijven" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_promotion_chain_cancel_offer_decline_lapse_accept(
    client, full_edition, make_user, login, billing_form
):
    """Three people wait; one seat frees. It travels down the list without staff."""
    edition = full_edition(capacity=2)
    first, second, third = (make_user("facilitator", email=f"w{i}@example.nl") for i in (1, 2, 3))
    for user in (first, second, third):
        waitlist.join_waitlist(edition, user)
    db.session.commit()
    assert [waitlist.waitlist_position(_entry(u)) for u in (first, second, third)] == [1, 2, 3]

    _cancel(db.session.scalars(select(Enrollment)).first())
    assert _entry(first).status == "offered" and seats_taken(edition) == 2  # reserved for them
    assert waitlist.waitlist_position(_entry(second)) == 1

    # The first declines by the link in the mail, without logging in.
    link = _offer_link("w1@example.nl")
    page = client.get(link).get_data(as_text=True)
    assert "Er staat 1 plaats voor u klaar" in page and "Log in om te accepteren" in page
    client.post(link + "/decline")
    assert _entry(first).status == "declined"
    assert _entry(second).status == "offered"

    # The second lets the offer lapse; the beat task rolls it on and tells them.
    entry = _entry(second)
    entry.offer_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    counts = enrollment_tasks.expire_offers()
    assert counts["lapsed"] == 1
    assert _entry(second).status == "lapsed"
    assert any(m.subject.startswith("Aanbod verlopen") for m in outbox_to("w2@example.nl"))
    assert _entry(third).status == "offered"

    # The third accepts, pays by invoice, and holds the seat the offer reserved.
    link = _offer_link("w3@example.nl")
    login(third)
    assert "Aanbod accepteren" in client.get(link).get_data(as_text=True)
    response = client.post(link, data=billing_form())
    assert response.status_code == 302, response.data[:500]
    entry = _entry(third)
    assert entry.status == "accepted"
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == third.id))
    assert enrollment.status == "confirmed" and enrollment.waitlist_entry_id == entry.id
    assert seats_taken(edition) == 2  # the reserved seat moved over; nothing counted twice
    # An old link (first offer round) no longer works.
    assert client.get(link).status_code == 200  # shows "accepted"
    assert "geaccepteerd" in client.get(link).get_data(as_text=True)


def test_offered_seat_is_not_taken_by_a_newcomer(
    client, full_edition, make_user, login, billing_form
):
    edition = full_edition(capacity=1)
    waiting = make_user("facilitator")
    waitlist.join_waitlist(edition, waiting)
    db.session.commit()
    _cancel(db.session.scalar(select(Enrollment)))
    assert _entry(waiting).status == "offered"
    login(make_user("facilitator"))
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form())
    assert response.status_code == 409 and "Deze editie is vol" in response.get_data(as_text=True)


def test_group_entry_waits_until_its_seats_fit_while_smaller_ones_move(full_edition, make_user):
    edition = full_edition(capacity=3)
    group = make_user("facilitator")
    single = make_user("facilitator")
    waitlist.join_waitlist(edition, group, seats=2, note="met Jan")
    waitlist.join_waitlist(edition, single)
    db.session.commit()
    enrollments = db.session.scalars(select(Enrollment).order_by(Enrollment.id)).all()
    _cancel(enrollments[0])
    assert _entry(group).status == "waiting"  # 2 seats do not fit in 1
    assert _entry(single).status == "offered"
    _cancel(enrollments[1])
    _cancel(enrollments[2])
    assert _entry(group).status == "offered" and _entry(group).seats == 2
    assert seats_taken(edition) == 3


def test_group_accepts_and_gets_one_enrollment_for_all_seats(
    client, full_edition, make_user, login, billing_form
):
    edition = full_edition(capacity=2)
    group = make_user("facilitator", email="groep@example.nl")
    waitlist.join_waitlist(edition, group, seats=2)
    db.session.commit()
    for enrollment in db.session.scalars(select(Enrollment)).all():
        _cancel(enrollment)
    login(group)
    client.post(_offer_link("groep@example.nl"), data=billing_form())
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == group.id))
    assert enrollment.seats == 2 and enrollment.status == "confirmed"
    assert enrollment.invoice.lines[0].quantity == 2
    assert str(enrollment.invoice.total) == "1197.90"
    assert seats_taken(edition) == 2


def test_offer_for_another_edition_of_the_same_course(
    client, make_course, make_edition, make_enrollment, make_user, login, billing_form
):
    course = make_course()
    wanted = make_edition(course, capacity=1, start_in_days=20)
    other = make_edition(course, capacity=1, start_in_days=40)
    make_enrollment(wanted)
    blocker = make_enrollment(other)
    flexible = make_user("facilitator", email="flex@example.nl")
    waitlist.join_waitlist(wanted, flexible, any_edition=True)
    db.session.commit()
    _cancel(blocker)  # a seat frees in the *other* edition
    entry = _entry(flexible)
    assert entry.status == "offered" and entry.offered_edition_id == other.id
    mail = [m for m in outbox_to("flex@example.nl") if m.subject.startswith("Er is een plaats")][-1]
    assert "andere editie" in mail.text_body
    login(flexible)
    client.post(_offer_link("flex@example.nl"), data=billing_form())
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == flexible.id))
    assert enrollment.edition_id == other.id and enrollment.status == "confirmed"


def test_leaving_by_link_and_from_the_account(client, full_edition, make_user, login):
    edition = full_edition(capacity=1)
    by_link = make_user("facilitator", email="link@example.nl")
    by_account = make_user("facilitator")
    waitlist.join_waitlist(edition, by_link)
    waitlist.join_waitlist(edition, by_account)
    db.session.commit()
    link = _leave_link("link@example.nl")
    assert "U staat op plaats 1" in client.get(link).get_data(as_text=True)
    client.post(link)
    assert _entry(by_link).status == "left"
    assert "niet (meer) op deze wachtlijst" in client.get(link).get_data(as_text=True)
    login(by_account)
    client.post(f"/waitlist/{_entry(by_account).id}/leave")
    assert _entry(by_account).status == "left"
    # Somebody else's entry is a 404.
    assert client.post(f"/waitlist/{_entry(by_link).id}/leave").status_code == 404


def test_leaving_with_an_offer_passes_the_seat_on(full_edition, make_user):
    edition = full_edition(capacity=1)
    first, second = make_user("facilitator"), make_user("facilitator")
    waitlist.join_waitlist(edition, first)
    waitlist.join_waitlist(edition, second)
    db.session.commit()
    _cancel(db.session.scalar(select(Enrollment)))
    waitlist.leave_waitlist(_entry(first), by=first)
    db.session.commit()
    assert _entry(second).status == "offered" and seats_taken(edition) == 1


def test_links_are_signed_and_tied_to_their_offer(client, full_edition, make_user, login):
    edition = full_edition(capacity=1)
    waiting = make_user("facilitator", email="w@example.nl")
    waitlist.join_waitlist(edition, waiting)
    db.session.commit()
    assert client.get("/waitlist/offer/vervalst-token").status_code == 410
    assert client.get("/waitlist/leave/vervalst-token").status_code == 410
    _cancel(db.session.scalar(select(Enrollment)))
    link = _offer_link("w@example.nl")
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert client.get(tampered).status_code == 410
    # Another account cannot accept someone's offer.
    login(make_user("facilitator"))
    assert client.post(link, data={}).status_code == 404
    assert _entry(waiting).status == "offered"


def test_an_old_offer_link_stops_working_after_a_new_offer(full_edition, make_user):
    edition = full_edition(capacity=1)
    entry_user = make_user("facilitator", email="w@example.nl")
    waitlist.join_waitlist(edition, entry_user, any_edition=True)
    db.session.commit()
    _cancel(db.session.scalar(select(Enrollment)))
    entry = _entry(entry_user)
    old_token = waitlist.offer_token(entry)
    entry.offer_round += 1  # as a later offer would
    db.session.commit()
    with pytest.raises(DomainError, match="eerder aanbod"):
        waitlist.entry_for_offer_token(old_token)


def test_accepting_an_expired_offer_is_refused(
    client, full_edition, make_user, login, billing_form
):
    edition = full_edition(capacity=1)
    waiting = make_user("facilitator", email="w@example.nl")
    waitlist.join_waitlist(edition, waiting)
    db.session.commit()
    _cancel(db.session.scalar(select(Enrollment)))
    link = _offer_link("w@example.nl")
    entry = _entry(waiting)
    entry.offer_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login(waiting)
    response = client.post(link, data=billing_form())
    assert response.status_code == 409 and "Dit aanbod is verlopen" in response.get_data(
        as_text=True
    )
    assert (
        db.session.scalar(select(func.count(Enrollment.id)).where(Enrollment.user_id == waiting.id))
        == 0
    )


def test_raised_capacity_offers_seats_without_staff(full_edition, make_user):
    edition = full_edition(capacity=1)
    waiting = [make_user("facilitator") for _ in range(3)]
    for user in waiting:
        waitlist.join_waitlist(edition, user)
    db.session.commit()
    edition.capacity = 3  # the catalog raises capacity and sends its signal
    edition_changed.send(edition)
    db.session.commit()
    assert [_entry(u).status for u in waiting] == ["offered", "offered", "waiting"]
    assert seats_taken(edition) == 3


def test_beat_offers_free_seats_even_when_a_signal_was_missed(full_edition, make_user):
    edition = full_edition(capacity=1)
    waiting = make_user("facilitator")
    waitlist.join_waitlist(edition, waiting)
    db.session.commit()
    edition.capacity = 2  # raised without the signal
    db.session.commit()
    assert enrollment_tasks.expire_offers()["offered"] == 1
    assert _entry(waiting).status == "offered"


def test_offer_mail_reaches_smtp_through_the_outbox_worker(
    app, full_edition, make_user, celery_worker, smtp_server
):
    edition = full_edition(capacity=1)
    waiting = make_user("facilitator", email="wacht@example.nl")
    waitlist.join_waitlist(edition, waiting)
    db.session.commit()
    _cancel(db.session.scalar(select(Enrollment)))
    offer = [m for m in outbox_to("wacht@example.nl") if m.subject.startswith("Er is een plaats")]
    assert len(offer) == 1
    messages = smtp_server.wait_for(1, timeout=30)
    delivered = [msg for rcpt, msg in messages if "wacht@example.nl" in rcpt]
    deadline = utcnow() + timedelta(seconds=30)
    while not any(str(m["Subject"]).startswith("Er is een plaats") for m in delivered):
        assert utcnow() < deadline, [str(m["Subject"]) for m in delivered]
        messages = smtp_server.wait_for(len(messages) + 1, timeout=2)
        delivered = [msg for rcpt, msg in messages if "wacht@example.nl" in rcpt]
    body = next(m for m in delivered if str(m["Subject"]).startswith("Er is een plaats"))
    assert "/waitlist/offer/" in body.get_body(("plain",)).get_content()
    db.session.expire_all()
    assert db.session.get(OutboxMessage, offer[0].id).status == "sent"


def test_group_asks_for_seats_that_are_free_and_gets_an_offer_at_once(
    client, make_edition, make_user, login
):
    edition = make_edition(capacity=5)
    user = make_user("facilitator")
    login(user)
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert "Plaatsen voor een groep" in page
    response = client.post(f"/editions/{edition.id}/waitlist", data={"seats": "3"})
    assert response.status_code == 302 and "/waitlist/offer/" in response.headers["Location"]
    assert _entry(user).status == "offered" and seats_taken(edition) == 3
