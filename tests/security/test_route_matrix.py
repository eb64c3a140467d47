"""Who may reach what: every rule of app.url_map, for every role and for anonymous visitors.

TABLE states per URL rule who reaches it. A rule the table does not know fails
`test_every_route_has_a_decision`, so a new page cannot ship without someone deciding who may
open it. `test_route_matrix` then walks every rule as each role, with real objects built by the
services (tests/security/world.py):

- a role in `allow` reaches the page: no 403/404/405, no detour to the login page, no 500;
- anonymous visitors outside `allow` are sent to the login page;
- signed-in roles outside `allow` get `denied` (403 for a role gate; 404 where the object is
  someone else's, so an id reveals nothing);
- `foreign` is the same URL with an object of another organisation or another person: every
  allowed role except staff gets a 404 there (or the given status), and the page shows none of
  the other party's data;
- a refused request writes nothing (audit log and outbox unchanged).

URLs are built with the acting role's own objects where it has them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.extensions import db
from tests.conftest import PASSWORD
from tests.security.world import ROLES, World, build_world

A, F, C, T, S = "anonymous", "facilitator", "client", "trainer", "admin"
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset({F, C, T, S})
STAFF = frozenset({S})

Url = str | Callable[[World, str], str]


@dataclass(frozen=True)
class Route:
    allow: frozenset[str]
    url: Url
    denied: int | dict = 403  # for signed-in roles outside `allow`; a dict maps role -> status
    foreign: Callable[[World, str], str | None] | None = None
    foreign_status: int | tuple[int, ...] = 404
    ok: tuple[int, ...] | None = None  # statuses that count as reached, when not the usual ones
    post: "Route | None" = None  # a different decision for POST on the same rule
    # Walked after the rest, in this order: 1 changes state others read, 2 ends the session;
    # -1 before the rest (a token that is only valid for a minute or two).
    last: int = 0

    def denied_status(self, role: str) -> int:
        if isinstance(self.denied, dict):
            return self.denied.get(role, 404)
        return self.denied


def obj(name: str, pattern: str, attr: str = "id") -> Callable[[World, str], str]:
    """A URL around one object of the world, the same for every role."""
    return lambda w, role: pattern.format(getattr(w.objects[name], attr))


def own(pattern: str, **per_role: str) -> Callable[[World, str], str]:
    """A URL around the acting role's own object; `default` names the object for other roles."""

    def build(w: World, role: str) -> str:
        name = per_role.get(role, per_role["default"])
        return pattern.format(w.objects[name].id)

    return build


def only_for(role_urls: dict[str, Callable[[World, str], str]]):
    def build(w: World, role: str) -> str | None:
        fn = role_urls.get(role)
        return fn(w, role) if fn else None

    return build


def _reset_token(w: World, role: str) -> str:
    from bbtraining.auth.services import make_reset_token

    return "/auth/reset/" + make_reset_token(w.user(role) or w.user(F))


def _verify_token(w: World, role: str) -> str:
    from bbtraining.auth.services import make_verify_token

    return "/auth/verify/" + make_verify_token(w.user(role) or w.user(F))


def _respond(w: World, role: str) -> str:
    return f"/alumni/respond/{w.recipient.id}/{w.respond_token}"


def _respond_with_wrong_id(w: World, role: str) -> str:
    return f"/alumni/respond/{w.recipient2.id}/{w.respond_token}"


OWN_ENROLLMENT = own("/enrollments/{}", default="enrollment")
OTHER_ENROLLMENT = only_for({F: obj("enrollment2", "/enrollments/{}")})
BOOKING = own("/account/inhouse/{}", default="booking")
OTHER_ORG_BOOKING = only_for({C: obj("booking2", "/account/inhouse/{}")})
ENROLLMENT_GATE = {C: 404, T: 404, S: 404}  # only the participant themself
CLIENT_GATE = {F: 404, T: 404, S: 403}  # staff see the booking, but the client decides
SHEET_PEOPLE = frozenset({T, S})  # an attendance sheet: the session's trainers and staff


def sheet(suffix: str = "", session: str = "att_session") -> Route:
    """One of the attendance sheet's URLs: anyone but the session's trainers and staff gets a
    404; a session another trainer leads is a 404 for ours."""
    return Route(
        SHEET_PEOPLE,
        obj(session, "/attendance/sessions/{}" + suffix),
        denied=404,
        foreign=only_for(
            {T: lambda w, role: f"/attendance/sessions/{w.full_edition.sessions[0].id}{suffix}"}
        ),
    )


def edition_export(suffix: str) -> Route:
    return Route(
        SHEET_PEOPLE,
        obj("att_edition", "/attendance/editions/{}" + suffix),
        denied=404,
        foreign=only_for({T: obj("full_edition", "/attendance/editions/{}" + suffix)}),
    )


def _check_in(w: World, role: str) -> str:
    return f"/check-in/{w.att_session.id}?grant={w.check_in_grant}"


def _advice(w: World) -> dict:
    """Kennismakingsgesprekken of the world, made on first use: an advisor, a past call of the
    client's organisation and one of the other organisation (both held, so that no walk can
    move or cancel them)."""
    if "advice_call" not in w.objects:
        from datetime import timedelta

        from bbtraining.advice.models import AdviceCall, AdvisorProfile
        from bbtraining.auth.models import Role, User
        from bbtraining.db_types import utcnow

        user = User(email="anke@example.nl", name="Anke Adviseur")
        user.set_password(PASSWORD)
        user.add_role(Role.ADVISOR)
        advisor = AdvisorProfile(user=user)
        db.session.add(advisor)
        start = utcnow().replace(second=0, microsecond=0) - timedelta(days=3)
        for name, requester, org in (
            ("advice_call", w.users[C], w.org_a),
            ("advice_call2", w.others[C], w.org_b),
        ):
            call = AdviceCall(
                advisor=advisor,
                organisation=org,
                requester=requester,
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                blocked_from=start - timedelta(minutes=10),
                blocked_until=start + timedelta(minutes=40),
                mode="online",
                phase="verkenning",
                organisation_name_given=org.name,
                question="",
                status="held",
            )
            db.session.add(call)
            w.objects[name] = call
            start += timedelta(hours=2)
        db.session.commit()
    return w.objects


def advice_call(pattern: str, name: str = "advice_call") -> Callable[[World, str], str]:
    return lambda w, role: pattern.format(_advice(w)[name].id)


def advice_link(suffix: str = "") -> Callable[[World, str], str]:
    def build(w: World, role: str) -> str:
        from bbtraining.advice.calls import manage_token

        return f"/advies/gesprek/{manage_token(_advice(w)['advice_call'])}{suffix}"

    return build


def _advisor(w: World):
    """The world's advisor (made on first use): the other trainer, with a day off planned."""
    if "advisor" not in w.objects:
        from bbtraining.advice.advisors import make_advisor
        from bbtraining.advice.models import AdvisorDateOverride

        profile = make_advisor(w.others[T])
        profile.overrides.append(
            AdvisorDateOverride(day=datetime.now(UTC).date() + timedelta(days=30), kind="off")
        )
        db.session.commit()
        w.objects["advisor"] = profile
    return w.objects["advisor"]


TABLE: dict[str, Route] = {
    # -- core -------------------------------------------------------------------------------------
    "/static/<path:filename>": Route(EVERYONE, "/static/css/app.css"),
    "/healthz": Route(EVERYONE, "/healthz", ok=(200, 503)),
    "/favicon.ico": Route(EVERYONE, "/favicon.ico"),  # 503 without a worker: still JSON
    "/language/<code>": Route(EVERYONE, "/language/nl"),
    "/account/": Route(SIGNED_IN, "/account/"),
    "/account/calendar-token": Route(SIGNED_IN, "/account/calendar-token"),
    "/admin/": Route(STAFF, "/admin/"),
    # -- accounts ---------------------------------------------------------------------------------
    "/auth/login": Route(EVERYONE, "/auth/login"),
    "/auth/logout": Route(EVERYONE, "/auth/logout", last=2),
    "/auth/register": Route(EVERYONE, "/auth/register"),
    "/auth/reset": Route(EVERYONE, "/auth/reset"),
    "/auth/reset/<token>": Route(EVERYONE, _reset_token),
    # Verifying redirects: to the dashboard, or to the login page for a visitor.
    "/auth/verify/<token>": Route(EVERYONE, _verify_token, ok=(302,)),
    "/auth/verify/resend": Route(SIGNED_IN, "/auth/verify/resend"),
    "/auth/password": Route(SIGNED_IN, "/auth/password"),
    "/admin/users/": Route(STAFF, "/admin/users/"),
    # The other facilitator: an empty form must not take the acting admin's own rights away.
    "/admin/users/<int:user_id>": Route(STAFF, lambda w, role: f"/admin/users/{w.others[F].id}"),
    "/admin/organisations/": Route(STAFF, "/admin/organisations/"),
    "/admin/organisations/<int:organisation_id>/vat": Route(
        STAFF, obj("org_a", "/admin/organisations/{}/vat")
    ),
    # -- mail -------------------------------------------------------------------------------------
    "/dev/mailbox/": Route(STAFF, "/dev/mailbox/"),
    "/dev/mailbox/<name>": Route(STAFF, lambda w, role: f"/dev/mailbox/{w.mailbox_name}"),
    "/dev/mailbox/<name>/attachments/<int:index>": Route(
        STAFF, lambda w, role: f"/dev/mailbox/{w.mailbox_name}/attachments/0"
    ),
    "/admin/outbox/": Route(STAFF, "/admin/outbox/"),
    "/admin/outbox/<int:row_id>/retry": Route(STAFF, obj("outbox_row", "/admin/outbox/{}/retry")),
    # -- public catalog ---------------------------------------------------------------------------
    "/": Route(EVERYONE, "/"),
    "/courses/": Route(EVERYONE, "/courses/"),
    "/courses/<slug>": Route(
        EVERYONE,
        obj("course", "/courses/{}", "slug"),
        foreign=obj("draft_course", "/courses/{}", "slug"),  # unpublished: staff only
    ),
    "/calendar/public.ics": Route(EVERYONE, "/calendar/public.ics"),
    # -- catalog admin ----------------------------------------------------------------------------
    "/admin/courses/": Route(STAFF, "/admin/courses/"),
    "/admin/courses/new": Route(STAFF, "/admin/courses/new"),
    "/admin/courses/<int:course_id>/edit": Route(STAFF, obj("course", "/admin/courses/{}/edit")),
    "/admin/courses/<int:course_id>/publish": Route(
        STAFF, obj("draft_course", "/admin/courses/{}/publish")
    ),
    "/admin/courses/<int:course_id>/unpublish": Route(
        STAFF, obj("draft_course", "/admin/courses/{}/unpublish")
    ),
    "/admin/courses/editions/": Route(STAFF, "/admin/courses/editions/"),
    "/admin/courses/<int:course_id>/editions/new": Route(
        STAFF, obj("course", "/admin/courses/{}/editions/new")
    ),
    "/admin/courses/editions/<int:edition_id>": Route(
        STAFF, obj("edition", "/admin/courses/editions/{}")
    ),
    "/admin/courses/editions/<int:edition_id>/trainers": Route(
        STAFF, obj("draft_edition", "/admin/courses/editions/{}/trainers")
    ),
    "/admin/courses/editions/<int:edition_id>/capacity": Route(
        STAFF, obj("draft_edition", "/admin/courses/editions/{}/capacity")
    ),
    "/admin/courses/editions/<int:edition_id>/details": Route(
        STAFF, obj("draft_edition", "/admin/courses/editions/{}/details")
    ),
    "/admin/courses/editions/<int:edition_id>/duplicate": Route(
        STAFF, obj("draft_edition", "/admin/courses/editions/{}/duplicate")
    ),
    "/admin/courses/editions/<int:edition_id>/cancel": Route(
        STAFF, obj("draft_edition", "/admin/courses/editions/{}/cancel")
    ),
    "/admin/courses/sessions/<int:session_id>/move": Route(
        STAFF, obj("session", "/admin/courses/sessions/{}/move")
    ),
    "/admin/courses/sessions/<int:session_id>/cancel": Route(
        STAFF, obj("session", "/admin/courses/sessions/{}/cancel")
    ),
    "/admin/courses/trainers/": Route(STAFF, "/admin/courses/trainers/"),
    "/admin/courses/trainers/<int:user_id>": Route(
        STAFF, lambda w, role: f"/admin/courses/trainers/{w.user(T).id}"
    ),
    # -- open enrollment --------------------------------------------------------------------------
    "/editions/<int:edition_id>/enroll": Route(
        EVERYONE,
        obj("edition", "/editions/{}/enroll"),
        foreign=obj("draft_edition", "/editions/{}/enroll"),  # course not published
    ),
    "/editions/<int:edition_id>/waitlist": Route(
        EVERYONE,
        obj("full_edition", "/editions/{}/waitlist"),
        foreign=obj("draft_edition", "/editions/{}/waitlist"),
    ),
    "/enrollments/<int:enrollment_id>": Route(
        frozenset({F, S}), OWN_ENROLLMENT, denied=404, foreign=OTHER_ENROLLMENT
    ),
    "/enrollments/<int:enrollment_id>/pay": Route(
        frozenset({F}),
        own("/enrollments/{}/pay", default="enrollment"),
        denied=ENROLLMENT_GATE,
        foreign=only_for({F: obj("enrollment2", "/enrollments/{}/pay")}),
    ),
    "/enrollments/<int:enrollment_id>/invoice": Route(
        frozenset({F}),
        own("/enrollments/{}/invoice", default="enrollment"),
        denied=ENROLLMENT_GATE,
        foreign=only_for({F: obj("enrollment2", "/enrollments/{}/invoice")}),
    ),
    "/enrollments/<int:enrollment_id>/cancel": Route(
        frozenset({F}),
        own("/enrollments/{}/cancel", default="enrollment"),
        denied=ENROLLMENT_GATE,
        foreign=only_for({F: obj("enrollment2", "/enrollments/{}/cancel")}),
    ),
    "/enrollments/<int:enrollment_id>/seats/<int:position>": Route(
        frozenset({C}),  # the booker of a group names its seats
        own("/enrollments/{}/seats/1", default="group_enrollment"),
        denied={F: 404, T: 404, S: 404},
        foreign=only_for({C: obj("group_enrollment2", "/enrollments/{}/seats/1")}),
    ),
    "/enrollments/<int:enrollment_id>/seats/<int:position>/cancel": Route(
        frozenset({C}),  # the booker of a group gives back one of its seats
        own("/enrollments/{}/seats/2/cancel", default="group_enrollment"),
        denied={F: 404, T: 404, S: 404},
        foreign=only_for({C: obj("group_enrollment2", "/enrollments/{}/seats/2/cancel")}),
    ),
    # The link in the offer mail is the key: anyone holding it sees the offer; accepting it is
    # for the person it was made to, signed in.
    "/waitlist/offer/<token>": Route(
        EVERYONE,
        lambda w, role: f"/waitlist/offer/{w.offer_token}",
        foreign=lambda w, role: "/waitlist/offer/not-a-token",
        foreign_status=410,
        post=Route(
            frozenset({F}),
            lambda w, role: f"/waitlist/offer/{w.offer_token}",
            denied=404,
        ),
    ),
    "/waitlist/offer/<token>/decline": Route(
        EVERYONE,
        lambda w, role: f"/waitlist/offer/{w.offer_token}/decline",
        foreign=lambda w, role: "/waitlist/offer/not-a-token/decline",
        foreign_status=410,
        last=1,
    ),
    "/waitlist/leave/<token>": Route(
        EVERYONE,
        lambda w, role: f"/waitlist/leave/{w.leave_token}",
        foreign=lambda w, role: "/waitlist/leave/not-a-token",
        foreign_status=410,
        last=1,
    ),
    "/waitlist/<int:entry_id>/leave": Route(
        frozenset({F}),
        obj("offered_entry", "/waitlist/{}/leave"),
        denied=404,
        foreign=only_for({F: obj("waiting_entry", "/waitlist/{}/leave")}),
        last=1,
    ),
    "/admin/enrollments": Route(STAFF, "/admin/enrollments"),
    "/admin/editions/<int:edition_id>/enrollments": Route(
        STAFF, obj("edition", "/admin/editions/{}/enrollments")
    ),
    "/admin/editions/<int:edition_id>/enrollments.csv": Route(
        STAFF, obj("edition", "/admin/editions/{}/enrollments.csv")
    ),
    "/admin/enrollments/<int:enrollment_id>/cancel": Route(
        STAFF, obj("enrollment2", "/admin/enrollments/{}/cancel")
    ),
    "/admin/editions/<int:edition_id>/cancel-enrollments": Route(
        STAFF, obj("draft_edition", "/admin/editions/{}/cancel-enrollments")
    ),
    "/invoices/<int:invoice_id>.pdf": Route(
        frozenset({F, C, S}),
        own("/invoices/{}.pdf", client="org_invoice", default="invoice"),
        denied=404,
        foreign=only_for(
            {F: obj("invoice2", "/invoices/{}.pdf"), C: obj("invoice", "/invoices/{}.pdf")}
        ),
    ),
    "/admin/receivables": Route(STAFF, "/admin/receivables"),
    "/admin/receivables.<any(csv, xlsx):fmt>": Route(STAFF, "/admin/receivables.xlsx"),
    "/admin/invoices/<int:invoice_id>/payment": Route(
        STAFF, obj("invoice2", "/admin/invoices/{}/payment")
    ),
    "/admin/invoices/<int:invoice_id>/reminder": Route(
        STAFF, obj("invoice2", "/admin/invoices/{}/reminder")
    ),
    "/stripe/webhook": Route(EVERYONE, "/stripe/webhook"),  # Stripe's signature is the key
    # -- inhouse ----------------------------------------------------------------------------------
    "/courses/<slug>/request": Route(
        EVERYONE,
        obj("inhouse_course", "/courses/{}/request", "slug"),
        foreign=obj("draft_course", "/courses/{}/request", "slug"),
    ),
    "/account/inhouse/<int:booking_id>": Route(
        frozenset({C, S}), BOOKING, denied=404, foreign=OTHER_ORG_BOOKING
    ),
    "/account/inhouse/<int:booking_id>/proposals/<int:version>": Route(
        frozenset({C, S}),
        own("/account/inhouse/{}/proposals/1", default="booking"),
        denied=404,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/proposals/1")}),
    ),
    "/account/inhouse/<int:booking_id>/proposals/<int:version>.pdf": Route(
        frozenset({C, S}),
        own("/account/inhouse/{}/proposals/1.pdf", default="booking"),
        denied=404,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/proposals/1.pdf")}),
    ),
    "/account/inhouse/<int:booking_id>/accept": Route(
        frozenset({C}),
        obj("booking", "/account/inhouse/{}/accept"),
        denied=CLIENT_GATE,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/accept")}),
    ),
    "/account/inhouse/<int:booking_id>/decline": Route(
        frozenset({C}),
        obj("booking", "/account/inhouse/{}/decline"),
        denied=CLIENT_GATE,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/decline")}),
    ),
    "/account/inhouse/<int:booking_id>/addenda/<int:number>/accept": Route(
        frozenset({C}),
        obj("scheduled_booking", "/account/inhouse/{}/addenda/1/accept"),
        denied=CLIENT_GATE,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/addenda/1/accept")}),
    ),
    "/account/inhouse/<int:booking_id>/cancel": Route(
        frozenset({C}),
        obj("booking", "/account/inhouse/{}/cancel"),
        denied=CLIENT_GATE,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/cancel")}),
    ),
    "/account/inhouse/<int:booking_id>/messages": Route(
        frozenset({C, S}),
        obj("booking", "/account/inhouse/{}/messages"),
        denied=404,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/messages")}),
    ),
    "/account/inhouse/<int:booking_id>/participants": Route(
        frozenset({C}),
        obj("scheduled_booking", "/account/inhouse/{}/participants"),
        denied=CLIENT_GATE,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/participants")}),
    ),
    "/account/inhouse/<int:booking_id>/participants/import": Route(
        frozenset({C}),
        obj("scheduled_booking", "/account/inhouse/{}/participants/import"),
        denied=CLIENT_GATE,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/participants/import")}),
    ),
    "/account/inhouse/<int:booking_id>/participants/import/confirm": Route(
        frozenset({C}),
        obj("scheduled_booking", "/account/inhouse/{}/participants/import/confirm"),
        denied=CLIENT_GATE,
        foreign=only_for({C: obj("booking2", "/account/inhouse/{}/participants/import/confirm")}),
    ),
    "/account/inhouse/<int:booking_id>/participants/<int:participant_id>/delete": Route(
        frozenset({C}),
        lambda w, role: (
            f"/account/inhouse/{w.scheduled_booking.id}/participants/{w.participant.id}/delete"
        ),
        denied=CLIENT_GATE,
        foreign=only_for(
            {
                C: lambda w, role: (
                    f"/account/inhouse/{w.booking2.id}/participants/{w.participant.id}/delete"
                )
            }
        ),
    ),
    "/admin/inhouse/": Route(STAFF, "/admin/inhouse/"),
    "/admin/inhouse/export.csv": Route(STAFF, "/admin/inhouse/export.csv"),
    "/admin/inhouse/<int:booking_id>": Route(STAFF, obj("booking", "/admin/inhouse/{}")),
    "/admin/inhouse/<int:booking_id>/review": Route(
        STAFF, obj("booking2", "/admin/inhouse/{}/review")
    ),
    "/admin/inhouse/<int:booking_id>/confirm-membership": Route(
        STAFF, obj("booking2", "/admin/inhouse/{}/confirm-membership")
    ),
    "/admin/inhouse/<int:booking_id>/delivered": Route(
        STAFF, obj("scheduled_booking", "/admin/inhouse/{}/delivered")
    ),
    "/admin/inhouse/<int:booking_id>/evaluated": Route(
        STAFF, obj("scheduled_booking", "/admin/inhouse/{}/evaluated")
    ),
    "/admin/inhouse/<int:booking_id>/cancel": Route(
        STAFF, obj("booking2", "/admin/inhouse/{}/cancel")
    ),
    "/admin/inhouse/<int:booking_id>/proposal": Route(
        STAFF, obj("booking", "/admin/inhouse/{}/proposal")
    ),
    "/admin/inhouse/<int:booking_id>/proposal/draft": Route(
        STAFF, obj("draft_booking", "/admin/inhouse/{}/proposal/draft")
    ),
    "/admin/inhouse/<int:booking_id>/proposal/draft.pdf": Route(
        STAFF, obj("draft_booking", "/admin/inhouse/{}/proposal/draft.pdf")
    ),
    "/admin/inhouse/<int:booking_id>/proposal/send": Route(
        STAFF, obj("draft_booking", "/admin/inhouse/{}/proposal/send")
    ),
    "/admin/inhouse/<int:booking_id>/addenda/<int:number>/include": Route(
        STAFF, obj("scheduled_booking", "/admin/inhouse/{}/addenda/1/include")
    ),
    "/admin/inhouse/<int:booking_id>/sessions/new": Route(
        STAFF, obj("scheduled_booking", "/admin/inhouse/{}/sessions/new")
    ),
    "/admin/inhouse/<int:booking_id>/sessions/<int:session_id>": Route(
        STAFF,
        lambda w, role: f"/admin/inhouse/{w.scheduled_booking.id}/sessions/{w.booking_session.id}",
    ),
    "/admin/inhouse/<int:booking_id>/sessions/<int:session_id>/cancel": Route(
        STAFF,
        lambda w, role: (
            f"/admin/inhouse/{w.scheduled_booking.id}/sessions/{w.booking_session.id}/cancel"
        ),
    ),
    "/admin/inhouse/<int:booking_id>/invoice": Route(
        STAFF, obj("scheduled_booking", "/admin/inhouse/{}/invoice")
    ),
    # -- alumni pool ------------------------------------------------------------------------------
    "/alumni/": Route(frozenset({C, S}), "/alumni/"),
    "/alumni/<int:profile_id>": Route(
        frozenset({F, C, S}),
        own("/alumni/{}", facilitator="profile", default="profile2"),
        denied=404,
        foreign=only_for({F: obj("profile2", "/alumni/{}")}),
    ),
    "/alumni/<int:profile_id>/photo/<int:version>.jpg": Route(
        frozenset({F, C, S}),
        lambda w, role: f"/alumni/{w.profile.id}/photo/{w.profile.photo_version}.jpg",
        denied=404,
    ),
    "/alumni/profile": Route(SIGNED_IN, "/alumni/profile"),  # others see why they cannot
    "/alumni/profile/photo": Route(SIGNED_IN, "/alumni/profile/photo"),
    "/alumni/profile/photo/delete": Route(SIGNED_IN, "/alumni/profile/photo/delete"),
    "/alumni/profile/publish": Route(SIGNED_IN, "/alumni/profile/publish"),
    "/alumni/profile/unpublish": Route(SIGNED_IN, "/alumni/profile/unpublish"),
    "/alumni/profile/confirm": Route(SIGNED_IN, "/alumni/profile/confirm"),
    "/alumni/inbox": Route(SIGNED_IN, "/alumni/inbox"),
    "/alumni/inbox/<int:recipient_id>/<any(accept, decline):decision>": Route(
        frozenset({F}),
        obj("recipient", "/alumni/inbox/{}/decline"),
        denied=404,
        foreign=only_for({F: obj("recipient2", "/alumni/inbox/{}/decline")}),
    ),
    "/alumni/respond/<int:recipient_id>/<token>": Route(
        EVERYONE, _respond, foreign=_respond_with_wrong_id, foreign_status=400
    ),
    "/alumni/requests/new": Route(frozenset({C, S}), "/alumni/requests/new"),
    "/alumni/requests/": Route(frozenset({C, S}), "/alumni/requests/"),
    "/alumni/requests/<int:request_id>": Route(
        frozenset({C, S}),
        obj("match_request", "/alumni/requests/{}"),
        denied=404,
        foreign=only_for({C: obj("match_request2", "/alumni/requests/{}")}),
    ),
    "/alumni/shortlists/<int:shortlist_id>": Route(
        frozenset({C, S}),
        obj("shortlist", "/alumni/shortlists/{}"),
        denied=404,
        foreign=only_for({C: obj("shortlist2", "/alumni/shortlists/{}")}),
    ),
    "/alumni/privacy": Route(SIGNED_IN, "/alumni/privacy"),
    "/alumni/privacy/export.json": Route(SIGNED_IN, "/alumni/privacy/export.json"),
    "/alumni/privacy/delete": Route(SIGNED_IN, "/alumni/privacy/delete"),
    "/admin/alumni/": Route(STAFF, "/admin/alumni/"),
    "/admin/alumni/profiles": Route(STAFF, "/admin/alumni/profiles"),
    "/admin/alumni/profiles/<int:profile_id>/<any(hide, unhide):action>": Route(
        STAFF, obj("profile2", "/admin/alumni/profiles/{}/hide")
    ),
    "/admin/alumni/matches": Route(STAFF, "/admin/alumni/matches"),
    "/admin/alumni/matches/<int:request_id>": Route(
        STAFF, obj("match_request2", "/admin/alumni/matches/{}")
    ),
    "/admin/alumni/matches/<int:request_id>/recipients/<int:recipient_id>/remind": Route(
        STAFF,
        lambda w, role: (
            f"/admin/alumni/matches/{w.match_request.id}/recipients/{w.recipient.id}/remind"
        ),
    ),
    "/admin/alumni/matches/<int:request_id>/close": Route(
        STAFF, obj("match_request2", "/admin/alumni/matches/{}/close")
    ),
    "/admin/alumni/matches/<int:request_id>/forward": Route(
        STAFF, obj("match_request2", "/admin/alumni/matches/{}/forward")
    ),
    "/admin/alumni/shortlists/new": Route(STAFF, "/admin/alumni/shortlists/new"),
    "/admin/alumni/shortlists": Route(STAFF, "/admin/alumni/shortlists"),
    "/admin/alumni/qualifications": Route(STAFF, "/admin/alumni/qualifications"),
    "/admin/alumni/specialisations": Route(STAFF, "/admin/alumni/specialisations"),
    "/admin/alumni/specialisations/<int:specialisation_id>": Route(
        STAFF, obj("specialisation", "/admin/alumni/specialisations/{}")
    ),
    # -- attendance -------------------------------------------------------------------------------
    "/attendance/sessions/<int:session_id>": sheet(),
    "/attendance/sessions/<int:session_id>/preview": sheet("/preview"),
    "/attendance/sessions/<int:session_id>/state": sheet("/state"),
    "/attendance/sessions/<int:session_id>/mark": sheet("/mark"),
    "/attendance/sessions/<int:session_id>/everyone-present": sheet("/everyone-present"),
    "/attendance/sessions/<int:session_id>/confirm": sheet("/confirm"),
    "/attendance/sessions/<int:session_id>/details": sheet("/details"),
    "/attendance/sessions/<int:session_id>/note": sheet("/note"),
    # Guests join inhouse sessions only: the scheduled booking's, which our trainer leads.
    "/attendance/sessions/<int:session_id>/guests": sheet("/guests", "booking_session"),
    "/attendance/sessions/<int:session_id>/guests/<int:guest_id>/remove": Route(
        SHEET_PEOPLE,
        lambda w, role: f"/attendance/sessions/{w.booking_session.id}/guests/{w.guest.id}/remove",
        denied=404,
        foreign=only_for(
            {
                T: lambda w, role: (
                    f"/attendance/sessions/{w.full_edition.sessions[0].id}"
                    f"/guests/{w.guest.id}/remove"
                )
            }
        ),
    ),
    "/attendance/sessions/<int:session_id>/check-in-code": sheet("/check-in-code"),
    "/attendance/sessions/<int:session_id>/check-in-code.svg": sheet("/check-in-code.svg"),
    "/attendance/sessions/<int:session_id>/attendance.csv": sheet("/attendance.csv"),
    "/attendance/sessions/<int:session_id>/attendance.xlsx": sheet("/attendance.xlsx"),
    "/attendance/sessions/<int:session_id>/sign-in-sheet.pdf": sheet("/sign-in-sheet.pdf"),
    "/attendance/sessions/<int:session_id>/completion": sheet("/completion", "done_session"),
    "/attendance/editions/<int:edition_id>/attendance.csv": edition_export("/attendance.csv"),
    "/attendance/editions/<int:edition_id>/attendance.xlsx": edition_export("/attendance.xlsx"),
    # Deciding against the attendance rule is for staff.
    "/attendance/completions/<int:completion_id>/override": Route(
        STAFF, obj("completion", "/attendance/completions/{}/override")
    ),
    # The QR code's address: anyone holding a fresh token (it rotates every minute) is sent on
    # to log in and confirm; an old or made-up token is refused.
    "/check-in/<int:session_id>/<token>": Route(
        EVERYONE,
        lambda w, role: f"/check-in/{w.att_session.id}/{w.check_in_token}",
        foreign=lambda w, role: f"/check-in/{w.att_session.id}/not-a-token",
        foreign_status=400,
        last=-1,
    ),
    # Confirming needs an account and the scan's grant (a grant for another session is refused).
    # The POST carries the grant in its form, which the walk does not send: it is refused with
    # a 400 for everyone here; that only the session's participants are checked in is tested in
    # tests/bookings/attendance/test_check_in.py.
    "/check-in/<int:session_id>": Route(
        SIGNED_IN,
        _check_in,
        foreign=lambda w, role: f"/check-in/{w.att_session.id}?grant={w.other_grant}",
        foreign_status=400,
    ),
    # -- certificates -----------------------------------------------------------------------------
    "/certificates/": Route(EVERYONE, "/certificates/"),
    "/certificates/<code>": Route(
        EVERYONE,
        obj("certificate", "/certificates/{}", "code"),
        foreign=lambda w, role: "/certificates/ABCD-EFGH-JKMN-PQRS",  # no such certificate
    ),
    # The participant's own, the trainers of the training, staff.
    "/account/certificates/<int:certificate_id>.pdf": Route(
        frozenset({F, T, S}),
        obj("certificate", "/account/certificates/{}.pdf"),
        denied=404,
        foreign=only_for(
            {
                F: obj("certificate2", "/account/certificates/{}.pdf"),
                T: obj("certificate3", "/account/certificates/{}.pdf"),
            }
        ),
    ),
    # -- evaluations ------------------------------------------------------------------------------
    # The mailed link is the key, for the person it was sent to: signed in as someone else, it
    # is refused.
    "/evaluation/<token>": Route(
        frozenset({A, F}),
        lambda w, role: f"/evaluation/{w.evaluation_token}",
        foreign=only_for({F: lambda w, role: f"/evaluation/{w.evaluation_token2}"}),
        foreign_status=403,
        denied=403,
    ),
    "/admin/evaluations/": Route(STAFF, "/admin/evaluations/"),
    "/admin/evaluations/<int:round_id>": Route(STAFF, obj("round", "/admin/evaluations/{}")),
    "/account/evaluations/<int:round_id>": Route(
        frozenset({T, S}),
        obj("round", "/account/evaluations/{}"),
        denied=404,
        foreign=only_for({T: obj("round2", "/account/evaluations/{}")}),
    ),
    # -- advies-strippenkaart (h17c) --------------------------------------------------------------
    # The organisation's clients and staff (and advisors, not a role of this walk).
    "/advies/strippenkaarten/<int:bundle_id>": Route(
        frozenset({C, S}),
        obj("bundle", "/advies/strippenkaarten/{}"),
        denied=404,
        foreign=only_for({C: obj("bundle2", "/advies/strippenkaarten/{}")}),
    ),
    "/advies/strippenkaarten/<int:bundle_id>/overzicht.pdf": Route(
        frozenset({C, S}),
        obj("bundle", "/advies/strippenkaarten/{}/overzicht.pdf"),
        denied=404,
        foreign=only_for({C: obj("bundle2", "/advies/strippenkaarten/{}/overzicht.pdf")}),
    ),
    "/advies/strippenkaarten/<int:bundle_id>/regels.<any(csv, xlsx):fmt>": Route(
        frozenset({C, S}),
        obj("bundle", "/advies/strippenkaarten/{}/regels.csv"),
        denied=404,
        foreign=only_for({C: obj("bundle2", "/advies/strippenkaarten/{}/regels.xlsx")}),
    ),
    "/admin/advies/strippenkaarten": Route(STAFF, "/admin/advies/strippenkaarten"),
    "/admin/advies/strippenkaarten/nieuw": Route(STAFF, "/admin/advies/strippenkaarten/nieuw"),
    "/admin/advies/strippenkaarten/<int:bundle_id>": Route(
        STAFF, obj("bundle2", "/admin/advies/strippenkaarten/{}")
    ),
    "/admin/advies/strippenkaarten/<int:bundle_id>/tijd": Route(
        STAFF, obj("bundle2", "/admin/advies/strippenkaarten/{}/tijd")
    ),
    "/admin/advies/strippenkaarten/<int:bundle_id>/regels/<int:entry_id>/correctie": Route(
        STAFF,
        lambda w, role: (
            f"/admin/advies/strippenkaarten/{w.bundle2.id}/regels/{w.bundle2_entry.id}/correctie"
        ),
    ),
    "/admin/advies/strippenkaarten/<int:bundle_id>"
    "/overschrijding/<any(toestaan, stoppen):action>": Route(
        STAFF, obj("bundle2", "/admin/advies/strippenkaarten/{}/overschrijding/stoppen")
    ),
    "/admin/advies/strippenkaarten/<int:bundle_id>/overschrijding/factureren": Route(
        STAFF, obj("bundle2", "/admin/advies/strippenkaarten/{}/overschrijding/factureren")
    ),
    "/admin/advies/strippenkaarten/<int:bundle_id>/sluiten": Route(
        STAFF, obj("bundle2", "/admin/advies/strippenkaarten/{}/sluiten"), last=1
    ),
    "/admin/advies/uren-per-adviseur.csv": Route(STAFF, "/admin/advies/uren-per-adviseur.csv"),
    # -- calendar feeds ---------------------------------------------------------------------------
    # The token is the only credential (calendar apps cannot log in). Someone who never signs in
    # here, so that no walk regenerates the token first.
    "/calendar/<token>.ics": Route(
        EVERYONE,
        lambda w, role: f"/calendar/{w.others[F].calendar_token}.ics",
        foreign=lambda w, role: "/calendar/not-a-token.ics",
    ),
    # -- kennismakingsgesprekken -------------------------------------------------------------------
    "/advies/kennismaking": Route(EVERYONE, "/advies/kennismaking"),
    # The signed link is the key, also for people who are not signed in.
    "/advies/gesprek/<token>": Route(
        EVERYONE, advice_link(), foreign=lambda w, role: "/advies/gesprek/not-a-token"
    ),
    "/advies/gesprek/<token>/verzetten": Route(
        EVERYONE, advice_link("/verzetten"), foreign=lambda w, role: "/advies/gesprek/x/verzetten"
    ),
    "/advies/gesprek/<token>/annuleren": Route(
        EVERYONE, advice_link("/annuleren"), foreign=lambda w, role: "/advies/gesprek/x/annuleren"
    ),
    "/advies/gesprekken/<int:call_id>": Route(
        frozenset({C}),
        advice_call("/advies/gesprekken/{}"),
        denied=404,
        foreign=only_for({C: advice_call("/advies/gesprekken/{}", "advice_call2")}),
    ),
    "/admin/advies/gesprekken": Route(STAFF, "/admin/advies/gesprekken"),
    "/admin/advies/gesprekken/<int:call_id>": Route(
        STAFF, advice_call("/admin/advies/gesprekken/{}")
    ),
    "/admin/advies/gesprekken/<int:call_id>/uitkomst": Route(
        STAFF, advice_call("/admin/advies/gesprekken/{}/uitkomst")
    ),
    "/admin/advies/gesprekken/<int:call_id>/status": Route(
        STAFF, advice_call("/admin/advies/gesprekken/{}/status")
    ),
    "/admin/advies/gesprekken/<int:call_id>/adviseur": Route(
        STAFF, advice_call("/admin/advies/gesprekken/{}/adviseur")
    ),
    # -- advice: advisors' availability (h17a) ---------------------------------------------------
    # The world's advisor is the other trainer (no walk signs in as them); the walking trainer is
    # no advisor, so the role gate refuses them. An advisor reaching another's page: 404
    # (tests/advice/test_advisor_hours.py).
    "/admin/advies/beschikbaarheid": Route(STAFF, "/admin/advies/beschikbaarheid"),
    "/admin/advies/adviseurs/": Route(STAFF, "/admin/advies/adviseurs/"),
    "/admin/advies/adviseurs/<int:advisor_id>": Route(
        STAFF, lambda w, role: f"/admin/advies/adviseurs/{_advisor(w).id}"
    ),
    "/admin/advies/adviseurs/<int:advisor_id>/regels": Route(
        STAFF, lambda w, role: f"/admin/advies/adviseurs/{_advisor(w).id}/regels"
    ),
    "/admin/advies/adviseurs/<int:advisor_id>/uren": Route(
        STAFF, lambda w, role: f"/admin/advies/adviseurs/{_advisor(w).id}/uren"
    ),
    "/admin/advies/adviseurs/<int:advisor_id>/afwijkingen": Route(
        STAFF, lambda w, role: f"/admin/advies/adviseurs/{_advisor(w).id}/afwijkingen"
    ),
    "/admin/advies/adviseurs/<int:advisor_id>/afwijkingen/<int:override_id>/verwijderen": Route(
        STAFF,
        lambda w, role: (
            f"/admin/advies/adviseurs/{_advisor(w).id}/afwijkingen/"
            f"{_advisor(w).overrides[0].id}/verwijderen"
        ),
        last=1,
    ),
}


def app_rules(app) -> dict[str, set[str]]:
    """URL rule -> the methods it serves (without HEAD and OPTIONS, which Flask adds)."""
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return rules


def test_every_route_has_a_decision(app):
    rules = app_rules(app)
    missing = sorted(set(rules) - set(TABLE))
    stale = sorted(set(TABLE) - set(rules))
    assert not missing, (
        "Routes without an access decision; add them to TABLE in "
        f"tests/security/test_route_matrix.py: {missing}"
    )
    assert not stale, f"TABLE lists rules the app no longer has: {stale}"


# -- walking the table ----------------------------------------------------------------------------
@dataclass
class Check:
    method: str
    url: str
    expect: str  # "reach", "login", or a status code as text
    rule: str
    ok: tuple[int, ...] | None = None
    foreign: bool = False
    secrets: tuple[str, ...] = field(default_factory=tuple)


def _url(url: Url, w: World, role: str) -> str:
    return url(w, role) if callable(url) else url


def plan(app, w: World, role: str) -> list[Check]:
    """Every request this role makes, built before the first one changes anything."""
    checks: list[tuple[int, Check]] = []
    # What another organisation or person must never see on a refused page.
    secrets = (w.org_b.name, w.others[F].email, w.others[C].email)
    for rule, methods in sorted(app_rules(app).items()):
        base = TABLE[rule]
        for method in sorted(methods):  # GET before POST
            route = base.post if method == "POST" and base.post else base
            order = route.last
            if role in route.allow:
                expect = "reach"
            elif role == A:
                expect = "login"
            else:
                expect = str(route.denied_status(role))
            checks.append((order, Check(method, _url(route.url, w, role), expect, rule, route.ok)))
            foreign = route.foreign or base.foreign
            if foreign and role in route.allow and role != S:
                foreign_url = foreign(w, role)
                if foreign_url:
                    statuses = base.foreign_status
                    statuses = statuses if isinstance(statuses, tuple) else (statuses,)
                    expect = "|".join(map(str, statuses))
                    checks.append(
                        (
                            order,
                            Check(method, foreign_url, expect, rule, foreign=True, secrets=secrets),
                        )
                    )
    return [check for _order, check in sorted(checks, key=lambda item: item[0])]


def _counts() -> tuple[int, int]:
    from bbtraining.audit import AuditEntry
    from bbtraining.notifications.models import OutboxMessage

    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(AuditEntry)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def judge(check: Check, response) -> str | None:
    """None when the response is what the table says; otherwise what went wrong."""
    status = response.status_code
    location = response.headers.get("Location", "")
    to_login = status in (301, 302, 303) and "/auth/login" in location
    if check.expect == "reach" and check.ok is not None:
        return None if status in check.ok else f"{status}, expected one of {check.ok}"
    if status >= 500:
        return f"{status} (server error)"
    if check.expect == "reach":
        if status in (401, 403, 404, 405) or to_login:
            return f"{status} {location}".strip() + ", expected to reach it"
        return None
    if check.expect == "login":
        return None if to_login else f"{status} {location}, expected the login page".strip()
    expected = {int(code) for code in check.expect.split("|")}
    if status not in expected:
        return f"{status} {location}, expected {check.expect}".strip()
    body = response.get_data(as_text=True)
    leaked = [s for s in check.secrets if s in body]
    if leaked:
        return f"{status} but shows {leaked}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_route_matrix(app, client, role):
    w = build_world()
    checks = plan(app, w, role)
    if role != A:
        user = w.user(role)
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.data[:300]
    token = client._token()
    problems = []
    for check in checks:
        refused = check.expect != "reach"
        before = _counts() if refused else None
        if check.method == "GET":
            response = client.get(check.url)
        else:
            response = client.post(check.url, data={"csrf_token": token})
        problem = judge(check, response)
        if refused and problem is None and _counts() != before:
            problem = "refused, but the audit log or the outbox changed"
        if problem:
            kind = "foreign " if check.foreign else ""
            problems.append(f"{check.method} {check.url} [{kind}{check.rule}]: {problem}")
    assert not problems, f"{role}: {len(problems)} of {len(checks)} checks:\n" + "\n".join(problems)


def test_hidden_alumni_profiles_are_a_404_for_clients(client, login):
    """Beyond the table: a profile taken offline is gone for clients, photo included."""
    from bbtraining.alumni import services

    w = build_world()
    hidden_id, version = w.profile.id, w.profile.photo_version
    services.unpublish(w.profile)
    db.session.commit()
    login(w.user(C))
    assert client.get(f"/alumni/{hidden_id}").status_code == 404
    assert client.get(f"/alumni/{hidden_id}/photo/{version}.jpg").status_code == 404
    assert client.get(f"/alumni/{w.profile2.id}").status_code == 200
