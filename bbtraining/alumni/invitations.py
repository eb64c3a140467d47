"""The invitation to the alumni pool: someone who completed a training that qualifies for the
pool, and has no profile yet, gets one mail asking them to publish one.

`invite_to_alumni_pool` receives bookings' `qualified` signal (connected in this package's
`__init__`); it runs in the transaction that recorded the qualification and only queues a mail.
"""

from sqlalchemy import exists, select

from ..bookings.attendance.qualifications import Qualification
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..notifications.models import OutboxMessage
from ..notifications.services import queue_mail
from ..urls import public_url
from .models import AlumniProfile


def invite_to_alumni_pool(qualification: Qualification, **_kwargs) -> None:
    """Receiver of `qualified`: invite once per person and course, unless they have a profile."""
    user, course = qualification.user, qualification.course
    if not course.qualifies_for_alumni or _has_profile(user.id):
        return
    dedupe_key = f"alumni-invite:{user.id}:{course.id}"
    already = db.session.scalar(select(exists().where(OutboxMessage.dedupe_key == dedupe_key)))
    if already:
        return
    queue_mail(
        to=user,
        subject=_l("Publiceer uw profiel in de alumnipool"),
        template="bookings/alumni_invite",
        context={"user": user, "course": course, "link": public_url("alumni.profile_edit")},
        dedupe_key=dedupe_key,
    )


def invite_to_make_an_account(completion, **_kwargs) -> None:
    """Receiver of `completed_without_account`: the completed training counts for the pool once
    they have an account with this address; invite once per address and course."""
    course = completion.course
    if not course.qualifies_for_alumni:
        return
    dedupe_key = f"alumni-invite:{completion.email}:{course.id}"
    already = db.session.scalar(select(exists().where(OutboxMessage.dedupe_key == dedupe_key)))
    if already:
        return
    queue_mail(
        to=completion.email,
        subject=_l("Sluit u aan bij de alumnipool"),
        template="bookings/alumni_invite_new_account",
        context={
            "name": completion.name,
            "course": course,
            "email": completion.email,
            "link": public_url("auth.register"),
        },
        dedupe_key=dedupe_key,
        locale=completion.locale,
    )


def _has_profile(user_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(AlumniProfile.user_id == user_id))))
