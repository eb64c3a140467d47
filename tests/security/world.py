"""A small but complete world for walking every route: one person per role plus a second one of
each (another organisation, another person), and the objects they own, in the states the pages
expect. Built through the services, as the pages would build it.

`build_world()` commits; the autouse fixture of tests/conftest.py empties the tables afterwards.
"""

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from bbtraining.extensions import db
from tests.conftest import PASSWORD

ROLES = ("anonymous", "facilitator", "client", "trainer", "admin")


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role -> the person acting in that role
    others: dict = field(default_factory=dict)  # role -> a second person in that role
    objects: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None

    def user(self, role: str):
        return self.users.get(role)


def _user(email: str, name: str, *roles: str, organisation=None):
    from bbtraining.auth.models import Role, User

    user = User(email=email, name=name, organisation=organisation)
    user.set_password(PASSWORD)
    for role in roles:
        user.add_role(Role(role))
    user.mark_email_verified()
    db.session.add(user)
    db.session.flush()
    return user


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def _edition(course, *, capacity: int, trainer, days_ahead: int = 30):
    from bbtraining.courses.models import Edition, TrainingSession

    edition = Edition(course=course, capacity=capacity, location="Utrecht")
    first = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(
        days=days_ahead
    )
    edition.sessions.append(
        TrainingSession(
            course=course,
            starts_at=first,
            ends_at=first + timedelta(hours=7),
            location="Utrecht",
            trainer=trainer,
        )
    )
    edition.trainers.append(trainer)
    db.session.add(edition)
    db.session.flush()
    return edition


def build_world() -> World:
    from bbtraining.alumni import matches, services
    from bbtraining.auth.models import Organisation
    from bbtraining.bookings.attendance.qualifications import record_qualification
    from bbtraining.bookings.enrollment import cancellation, enrolling, policy, waitlist
    from bbtraining.bookings.inhouse import (
        addenda,
        delivery,
        drafts,
        invoicing,
        participants,
        proposals,
        requests,
    )
    from bbtraining.bookings.inhouse.models import local_datetime, today_amsterdam
    from bbtraining.courses.models import Course
    from bbtraining.notifications import tasks
    from bbtraining.notifications.models import OutboxMessage

    w = World()
    org_a = Organisation(name="Gemeente Amersfoort", kind="gemeente")
    org_b = Organisation(name="Provincie Drenthe", kind="provincie")
    db.session.add_all([org_a, org_b])
    db.session.flush()
    w.users = {
        "facilitator": _user("eva@example.nl", "Eva Begeleider", "facilitator"),
        "client": _user(
            "griffie@amersfoort.example.nl", "Pieter Griffier", "client", organisation=org_a
        ),
        "trainer": _user("joost@example.nl", "Joost Trainer", "trainer"),
        "admin": _user("staf@example.nl", "Sanne Staf", "admin"),
    }
    w.others = {
        "facilitator": _user("noor@example.nl", "Noor Begeleider", "facilitator"),
        "client": _user(
            "projecten@drenthe.example.nl", "Fatima Projectleider", "client", organisation=org_b
        ),
        "trainer": _user("amira@example.nl", "Amira Trainer", "trainer"),
    }
    fac, fac2 = w.users["facilitator"], w.others["facilitator"]
    client, client2 = w.users["client"], w.others["client"]
    trainer, trainer2 = w.users["trainer"], w.others["trainer"]
    staff = w.users["admin"]
    o = w.objects
    o["org_a"], o["org_b"] = org_a, org_b

    # -- catalog ----------------------------------------------------------------------------------
    training = Course(
        slug="training-gespreksbegeleiding",
        title="Training gespreksbegeleiding",
        kind="facilitator-training",
        audience="facilitators",
        delivery="open",
        summary="Twee dagen oefenen met het begeleiden van tafelgesprekken.",
        price_seat=Decimal("495.00"),
        price_inhouse=Decimal("2500.00"),
        published=True,
        qualifies_for_alumni=True,
    )
    training.phases = ["uitvoering"]
    inspiratie = Course(
        slug="inspiratiesessie",
        title="Inspiratiesessie burgerberaad",
        kind="inspiratiesessie",
        audience="council",
        delivery="inhouse",
        summary="Wat een burgerberaad vraagt van raad en college.",
        price_inhouse=Decimal("1450.00"),
        duration_minutes=120,
        published=True,
    )
    inspiratie.phases = ["verkenning"]
    draft = Course(
        slug="nog-niet-gepubliceerd",
        title="Masterclass in voorbereiding",
        kind="masterclass",
        audience="civil-servants",
        delivery="both",
        price_seat=Decimal("300.00"),
        published=False,
    )
    draft.phases = ["voorbereiding"]
    db.session.add_all([training, inspiratie, draft])
    db.session.flush()
    o["course"], o["inhouse_course"], o["draft_course"] = training, inspiratie, draft
    edition = _edition(training, capacity=10, trainer=trainer)
    full = _edition(training, capacity=1, trainer=trainer2, days_ahead=45)
    draft_edition = _edition(draft, capacity=10, trainer=trainer2, days_ahead=60)
    o["edition"], o["full_edition"], o["draft_edition"] = edition, full, draft_edition
    o["open_edition"] = _edition(training, capacity=5, trainer=trainer, days_ahead=70)
    o["session"] = edition.sessions[0]

    # -- enrollments, the waiting list, their invoices ---------------------------------------------
    def billing(user):
        return policy.Billing(
            name=user.name, street="Oudegracht 1", postcode="3511 AB", city="Utrecht"
        )

    o["enrollment"] = enrolling.enroll(edition, fac, billing(fac), "invoice")
    o["enrollment2"] = enrolling.enroll(edition, fac2, billing(fac2), "invoice")
    o["invoice"] = o["enrollment"].invoice
    o["invoice2"] = o["enrollment2"].invoice
    # Group enrollments with named seats: each client books two colleagues.
    from bbtraining.bookings.enrollment.named_seats import seat_holder

    group_edition = _edition(training, capacity=6, trainer=trainer, days_ahead=80)
    for key, booker, domain in (
        ("group_enrollment", client, "amersfoort"),
        ("group_enrollment2", client2, "drenthe"),
    ):
        colleagues = [
            seat_holder(f"Collega {n}", f"collega{n}@{domain}.example.nl") for n in (1, 2)
        ]
        o[key] = enrolling.enroll(
            group_edition, booker, billing(booker), "invoice", holders=colleagues, seats=2
        )
    # `full` frees its seat for the facilitator on its waiting list: an open offer.
    taken = enrolling.enroll(full, fac2, billing(fac2), "invoice")
    offered = waitlist.join_waitlist(full, fac)
    cancellation.cancel_enrollment(taken, by=staff, reason="Ziek", refund="full")
    waitlist.offer_next_seats(full)
    # `full2` keeps the other facilitator waiting.
    full2 = _edition(training, capacity=1, trainer=trainer, days_ahead=50)
    enrolling.enroll(full2, fac, billing(fac), "invoice")
    waiting = waitlist.join_waitlist(full2, fac2)
    db.session.flush()
    assert offered.status == "offered", offered.status
    o["offered_entry"], o["waiting_entry"], o["full_edition2"] = offered, waiting, full2
    o["offer_token"] = waitlist.offer_token(offered)
    o["leave_token"] = waitlist.leave_token(waiting)

    # -- inhouse: org A has a proposal waiting, org B too --------------------------------------
    def request_for(user, days: int):
        today = today_amsterdam()
        booking, _new = requests.submit_request(
            inspiratie,
            requests.RequestData(
                contact_name=user.name,
                contact_email=user.email,
                expected_participants=25,
                delivery_mode="venue",
                venue="Stadhuis",
                date_options=[(today + timedelta(days=days), "evening")],
                assembly_phase="verkenning",
                assembly_context="Een burgerberaad over de energietransitie.",
            ),
            user=user,
        )
        return booking

    def propose(booking, days: int, by_trainer):
        starts = local_datetime(today_amsterdam() + timedelta(days=days), time(19))
        proposals.send_proposal(
            booking,
            by=staff,
            sessions=[
                drafts.SessionDraft(
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    trainer=by_trainer,
                    location="Stadhuis",
                )
            ],
            lines=[
                drafts.LineDraft("session-fee", "Inspiratiesessie", Decimal(1), Decimal("1450"))
            ],
            valid_until=today_amsterdam() + timedelta(days=14),
            vat_rate=Decimal("21.00"),
            terms="Annuleren kan tot vier weken vooraf.",
        )

    booking = request_for(client, 30)
    propose(booking, 31, trainer)
    booking2 = request_for(client2, 40)
    propose(booking2, 41, trainer2)
    scheduled = request_for(client, 50)
    propose(scheduled, 51, trainer)
    proposals.accept_proposal(
        scheduled, by=client, version=1, po_number="PO-1", agreed_to_terms=True
    )
    db.session.flush()
    invoiced = request_for(client, 20)
    propose(invoiced, 21, trainer)
    proposals.accept_proposal(
        invoiced, by=client, version=1, po_number="PO-2", agreed_to_terms=True
    )
    delivery.mark_delivered(invoiced, by=staff, now=datetime.now(UTC) + timedelta(days=60))
    o["org_invoice"] = invoicing.issue_booking_invoice(
        invoiced, by=staff, lines=invoicing.invoice_lines_from_proposal(invoiced)
    )
    o["booking"], o["booking2"], o["scheduled_booking"] = booking, booking2, scheduled
    # A proposal staff are still writing: a draft the client does not see.
    drafted = request_for(client, 60)
    starts = local_datetime(today_amsterdam() + timedelta(days=61), time(19))
    proposals.save_draft(
        drafted,
        by=staff,
        sessions=[drafts.SessionDraft(starts, starts + timedelta(hours=2), trainer, "Stadhuis")],
        lines=[drafts.LineDraft("session-fee", "Inspiratiesessie", Decimal(1), Decimal("1450"))],
        valid_until=today_amsterdam() + timedelta(days=14),
        vat_rate=Decimal("21.00"),
        terms="Annuleren kan tot vier weken vooraf.",
    )
    o["draft_booking"] = drafted
    o["booking_session"] = scheduled.sessions[0]
    o["participant"] = participants.add_participant(
        scheduled, by=client, name="Raadslid Jansen", email="jansen@amersfoort.example.nl"
    )
    # An extra session after acceptance, its addendum waiting for the client.
    extra = scheduled.sessions[0].starts_at + timedelta(days=7)
    addenda.add_priced_session(
        scheduled,
        by=staff,
        starts_at=extra,
        ends_at=extra + timedelta(hours=2),
        trainer=trainer,
        location="Stadhuis",
        price=Decimal("1200"),
    )
    db.session.flush()

    # -- alumni: both facilitators qualified and published; match requests by both clients -----
    def alumnus(user, province: str):
        record_qualification(user, training, source="admin", by=staff)
        profile = services.save_profile(
            user,
            services.ProfileData(display_name=user.name, province=province, languages=["nl"]),
        )
        services.publish_with_consent(profile, consent_given=True)
        return profile

    o["profile"] = alumnus(fac, "utrecht")
    o["profile2"] = alumnus(fac2, "drenthe")
    services.set_photo(o["profile"], _jpeg())
    o["specialisation"] = services.save_specialisation("Jongeren betrekken")
    day = today_amsterdam() + timedelta(days=90)

    def match(by, profiles):
        return matches.create_request(
            by,
            profiles,
            assembly="Burgerberaad klimaat",
            organisation_name=by.organisation.name,
            dates=[day],
            place="Stadhuis",
            role="table",
        )

    o["match_request"] = match(client, [o["profile"], o["profile2"]])
    o["match_request2"] = match(client2, [o["profile"], o["profile2"]])
    db.session.flush()
    o["recipient"] = next(r for r in o["match_request"].recipients if r.alumnus_id == fac.id)
    o["recipient2"] = next(r for r in o["match_request"].recipients if r.alumnus_id == fac2.id)
    o["respond_token"] = matches.response_token(o["recipient"])
    o["shortlist"] = matches.create_shortlist(
        client, [o["profile2"]], title="Voor Amersfoort", note="", by=staff
    )
    o["shortlist2"] = matches.create_shortlist(
        client2, [o["profile"]], title="Voor Drenthe", note="", by=staff
    )

    # -- attendance, completion, certificates, evaluation ---------------------------------------
    _attendance(w, billing)
    _advice_bundles(w)  # h17c

    # -- mail: one row in the outbox and one message in the development mailbox ---------------
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    row = next(r for r in rows if r.attachments)  # an invoice PDF: the mailbox shows it
    tasks.deliver(row.id)
    db.session.commit()
    o["outbox_row"] = row
    o["mailbox_name"] = f"{row.id:08d}.eml"
    return w


def _advice_bundles(w: World) -> None:
    """An advies-strippenkaart for each organisation, each with an hour logged (h17c)."""
    from bbtraining.advice import bundles

    advisor = _user("adviseur@example.nl", "Anna Adviseur", "advisor")
    o = w.objects
    for name, organisation in (("bundle", o["org_a"]), ("bundle2", o["org_b"])):
        o[name] = bundles.sell_bundle(
            organisation=organisation, hours=10, price=Decimal("1500"), by=w.users["admin"]
        )
        o[name + "_entry"] = bundles.log_time(
            o[name],
            day=bundles.today(),
            minutes=60,
            topic="Opzet van de loting",
            advisor=advisor,
            by=advisor,
        )


def _shift(edition, start: datetime) -> None:
    """Time passes: the edition's (only) session now starts at `start`."""
    session = edition.sessions[0]
    length = session.ends_at - session.starts_at
    session.starts_at, session.ends_at = start, start + length
    db.session.flush()


def _attendance(w: World, billing) -> None:
    """A session running now (the world's trainer leads it, the facilitator is enrolled), and two
    editions that ended three days ago, one per trainer, with completions, certificates and an
    evaluation round each."""
    from bbtraining.bookings.attendance import check_in, completion, guests, marking, sheet
    from bbtraining.bookings.attendance.certificates import Certificate
    from bbtraining.bookings.attendance.models import Completion
    from bbtraining.bookings.attendance.views import _grant_serializer
    from bbtraining.bookings.enrollment import enrolling
    from bbtraining.bookings.evaluation import answers, rounds
    from bbtraining.bookings.sessions.groups import session_group
    from bbtraining.db_types import utcnow

    o = w.objects
    fac, fac2 = w.users["facilitator"], w.others["facilitator"]
    trainer, trainer2 = w.users["trainer"], w.others["trainer"]
    now = utcnow().replace(microsecond=0)

    # Running now: enrolled while it lay ahead, then the day came.
    running = _edition(o["course"], capacity=10, trainer=trainer, days_ahead=80)
    enrolling.enroll(running, fac, billing(fac), "invoice")
    _shift(running, now - timedelta(minutes=30))
    session = running.sessions[0]
    o["att_edition"], o["att_session"] = running, session
    o["guest"] = guests.add_guest(  # guests join inhouse sessions only
        o["booking_session"], name="Gast Jansen", email="gast@example.nl", role=None, by=trainer
    )
    o["check_in_token"] = check_in.check_in_token(session, now)
    o["check_in_grant"] = _grant_serializer().dumps({"session": session.id})
    o["other_grant"] = _grant_serializer().dumps({"session": o["session"].id})

    # Ended: the facilitators were there, completion is decided, certificates issued.
    done = _edition(o["course"], capacity=10, trainer=trainer, days_ahead=85)
    done2 = _edition(o["course"], capacity=10, trainer=trainer2, days_ahead=86)
    for edition, people in ((done, (fac, fac2)), (done2, (fac2,))):
        for person in people:
            enrolling.enroll(edition, person, billing(person), "invoice")
        _shift(edition, now - timedelta(days=3))
        ended = edition.sessions[0]
        for row in sheet.build_sheet(ended).rows:
            marking.mark(ended, row.key, "present", by=ended.trainer, now=ended.starts_at)
        completion.compute_completion(session_group(ended))

    def certificate(edition, user):
        return db.session.scalar(
            select(Certificate)
            .join(Completion, Certificate.completion_id == Completion.id)
            .where(Completion.edition_id == edition.id, Completion.user_id == user.id)
        )

    o["done_edition"], o["done_edition2"] = done, done2
    o["done_session"] = done.sessions[0]
    o["certificate"] = certificate(done, fac)
    o["certificate2"] = certificate(done, fac2)  # the other facilitator's, same training
    o["certificate3"] = certificate(done2, fac2)  # led by the other trainer
    assert o["certificate"] and o["certificate2"] and o["certificate3"]
    o["completion"] = o["certificate"].completion

    groups = {g.key: g for g in rounds.due_groups(now)}
    o["round"] = rounds.open_round(groups[f"edition:{done.id}"])
    o["round2"] = rounds.open_round(groups[f"edition:{done2.id}"])
    round_requests = {r.user_id: r for r in o["round"].requests}
    o["evaluation_token"] = answers.make_token(round_requests[fac.id])
    o["evaluation_token2"] = answers.make_token(round_requests[fac2.id])
    db.session.flush()
