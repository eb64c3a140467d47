"""After a kennismakingsgesprek: the advisor marks it held or missed and records the outcome
(notes for staff, the phase, the next step); the client sees the call and what was agreed.

Who sees a call: its requester, and the clients of its organisation once the requester belongs
to that organisation (someone who named an existing organisation is not shown its calls, nor
shown to it, until staff confirm the membership, as with inhouse requests). Staff notes are
never shown to clients.
"""

from datetime import datetime
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased, selectinload

from .. import audit
from ..auth.models import User
from ..courses.models import PHASE_LABELS, Course, CoursePhase
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..notifications.services import queue_mail
from ..urls import public_url
from . import calls
from .models import AdviceCall, CallStatus, NextStep

NEXT_STEPS = ("", *(step.value for step in NextStep))


# -- who sees what ------------------------------------------------------------------------------
def client_can_view(call: AdviceCall, user: User) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if call.requester_id == user.id:
        return True
    return (
        user.organisation_id is not None
        and user.organisation_id == call.organisation_id
        and user.is_client
        and call.requester.organisation_id == call.organisation_id
    )


def client_calls_query(user: User):
    """The calls `user` sees in their portal, newest first."""
    requester = aliased(User)
    own = AdviceCall.requester_id == user.id
    if user.organisation_id is not None and user.is_client:
        seen = or_(
            own,
            (AdviceCall.organisation_id == user.organisation_id)
            & (requester.organisation_id == AdviceCall.organisation_id),
        )
    else:
        seen = own
    return (
        select(AdviceCall)
        .join(requester, requester.id == AdviceCall.requester_id)
        .where(seen)
        .options(selectinload(AdviceCall.suggested_courses))
        .order_by(AdviceCall.starts_at.desc(), AdviceCall.id.desc())
    )


def can_client_change(call: AdviceCall, now: datetime | None = None) -> bool:
    """Moving or cancelling by link is open until the advisor's minimum notice (the rule of
    `calls`, asked rather than copied)."""
    if not call.is_booked:
        return False
    try:
        calls._check_notice(call, now or utcnow(), "")
    except calls.CallRefused:
        return False
    return True


# -- the advisor's side --------------------------------------------------------------------------
def can_staff_handle(call: AdviceCall, user: User) -> bool:
    """Admins handle every call; an advisor their own."""
    if user.is_admin:
        return True
    return user.is_advisor and call.advisor.user_id == user.id


def mark(call: AdviceCall, status: str, *, by: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    if call.starts_at > now:
        raise DomainError(_l("Dit gesprek moet nog plaatsvinden."))
    if status == CallStatus.HELD:
        call.mark_held()
    elif status == CallStatus.NO_SHOW:
        call.mark_no_show()
    else:
        raise DomainError(_l("Kies gehouden of niet verschenen."))
    db.session.flush()
    audit.record("advice.call_marked", call, actor=by, status=status)


def courses_for_phase(phase: str | None) -> list[Course]:
    """Published courses tagged with the phase (all published courses for an unknown phase)."""
    query = select(Course).where(Course.published.is_(True)).order_by(Course.title)
    if phase and phase != "unknown":
        query = query.where(
            Course.id.in_(select(CoursePhase.course_id).where(CoursePhase.phase == phase))
        )
    return list(db.session.scalars(query))


def course_choices(phase: str | None) -> list[tuple[int, str]]:
    """Every published course to suggest, those for the phase first, each with its phases."""
    for_phase = {c.id for c in courses_for_phase(phase)}
    courses = sorted(courses_for_phase(None), key=lambda c: (c.id not in for_phase, c.title))
    return [
        (c.id, f"{c.title} ({', '.join(c.phase_labels)})" if c.phases else c.title) for c in courses
    ]


def record_outcome(
    call: AdviceCall,
    *,
    by: User,
    phase: str,
    next_step: str,
    course_ids: list[int],
    notes: str,
    now: datetime | None = None,
) -> AdviceCall:
    """Record what came of the call; mails the client the agreed next step when it is new or
    changed. A booked call whose time has passed counts as held by this."""
    now = now or utcnow()
    if call.is_cancelled:
        raise DomainError(_l("Dit gesprek is geannuleerd; er is geen uitkomst vast te leggen."))
    if call.starts_at > now:
        raise DomainError(_l("Dit gesprek moet nog plaatsvinden."))
    if call.status == CallStatus.NO_SHOW:
        raise DomainError(_l("Deze klant verscheen niet. Markeer het gesprek eerst als gehouden."))
    if phase not in {p.value for p in PHASE_LABELS}:
        raise DomainError(_l("Kies de fase van het burgerberaad."), field="outcome_phase")
    if next_step not in NEXT_STEPS:
        raise DomainError(_l("Kies een vervolg uit de lijst."), field="next_step")
    if len(notes or "") > 5000:
        raise DomainError(_l("Houd uw tekst korter dan 5000 tekens."), field="outcome_notes")
    courses = []
    if course_ids:
        wanted = set(course_ids)
        courses = [c for c in courses_for_phase(None) if c.id in wanted]
        if len(courses) != len(wanted):
            raise DomainError(_l("Kies alleen gepubliceerde trainingen."), field="courses")
    if next_step == NextStep.COURSES and not courses:
        raise DomainError(_l("Kies minstens één training om voor te stellen."), field="courses")
    if call.is_booked:
        call.mark_held()
    before = (call.next_step, call.outcome_phase, sorted(c.id for c in call.suggested_courses))
    call.outcome_phase = phase
    call.next_step = next_step or None
    call.suggested_courses = courses
    call.outcome_notes = (notes or "").strip() or None
    first = call.outcome_recorded_at is None
    call.outcome_recorded_at = now
    db.session.flush()
    audit.record(
        "advice.outcome_recorded",
        call,
        actor=by,
        phase=phase,
        next_step=next_step,
        courses=[c.id for c in courses],
    )
    after = (call.next_step, call.outcome_phase, sorted(c.id for c in courses))
    if call.next_step and (first or before != after):
        _mail_outcome(call)
    return call


def next_step_links(call: AdviceCall) -> dict:
    """What the client gets to act on: course pages, the prefilled inhouse request."""
    courses = [
        {"title": c.title, "url": public_url("courses.course", slug=c.slug)}
        for c in call.suggested_courses
    ]
    inhouse_url = None
    if call.next_step == NextStep.INHOUSE:
        prefill = {
            "assembly_phase": call.outcome_phase or call.phase,
            "assembly_context": call.question or "",
        }
        inhouse_course = next((c for c in call.suggested_courses if c.is_inhouse), None)
        if inhouse_course is not None:
            inhouse_url = (
                public_url("bookings.inhouse_request", slug=inhouse_course.slug)
                + "?"
                + urlencode(prefill)
            )
        else:
            inhouse_url = public_url(
                "courses.catalog",
                phase=call.outcome_phase if call.outcome_phase != "unknown" else None,
                delivery="inhouse",
            )
    return {"courses": courses, "inhouse_url": inhouse_url}


def bundle_offer_url(call: AdviceCall) -> str | None:
    """Where staff sell the organisation a strippenkaart (h17c's pages), when they exist."""
    views = current_app.view_functions
    if "advice_admin.bundle_sell" in views:
        return public_url("advice_admin.bundle_sell", organisatie=call.organisation_id)
    if "advice_admin.bundle_list" in views:
        return public_url("advice_admin.bundle_list")
    return None


def _mail_outcome(call: AdviceCall) -> None:
    links = next_step_links(call)
    queue_mail(
        to=call.requester,
        subject=_l("Ons vervolg op het kennismakingsgesprek"),
        template="advice/call_outcome",
        context={
            "call": call,
            "name": call.requester.name,
            "advisor_name": call.advisor.user.name,
            "next_step": call.next_step,
            "courses": links["courses"],
            "inhouse_url": links["inhouse_url"],
            "account_url": public_url("advice.call_detail", call_id=call.id),
        },
    )
    if call.next_step == NextStep.BUNDLE and current_app.config.get("STAFF_EMAIL"):
        bundles = bundle_offer_url(call)
        queue_mail(
            to=current_app.config["STAFF_EMAIL"],
            subject=_l("Strippenkaart-offerte sturen aan %(org)s", org=call.organisation.name),
            template="advice/call_bundle_staff",
            context={
                "call": call,
                "advisor_name": call.advisor.user.name,
                "call_url": public_url("advice_admin.call_detail", call_id=call.id),
                "bundles_url": bundles,
            },
        )
