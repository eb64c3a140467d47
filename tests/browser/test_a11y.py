"""Accessibility: axe-core (shipped inside axe-playwright-python, no network) on every page the
journeys visit, as each role sees it, on a desktop and on a phone. No serious or critical
violation is allowed; the report names the rule, the page and the element."""

import pytest

from tests.browser.conftest import browser_login
from tests.security.world import build_world

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}

# Pages per role, as the journeys visit them. Built from the world's objects.
PAGES = {
    "anonymous": [
        lambda w: "/",
        lambda w: "/courses/",
        lambda w: "/courses/?phase=verkenning&q=burgerberaad",
        lambda w: f"/courses/{w.course.slug}",
        lambda w: f"/courses/{w.inhouse_course.slug}",
        lambda w: f"/courses/{w.inhouse_course.slug}/request",
        lambda w: f"/editions/{w.open_edition.id}/enroll",
        lambda w: f"/editions/{w.full_edition.id}/enroll",
        lambda w: f"/waitlist/offer/{w.offer_token}",
        lambda w: "/auth/login",
        lambda w: "/auth/register",
        lambda w: "/auth/reset",
        lambda w: "/bestaat-niet",
    ],
    "facilitator": [
        lambda w: "/account/",
        lambda w: f"/editions/{w.open_edition.id}/enroll",
        lambda w: f"/enrollments/{w.enrollment.id}",
        lambda w: f"/enrollments/{w.enrollment.id}/cancel",
        lambda w: f"/waitlist/offer/{w.offer_token}",
        lambda w: "/alumni/profile",
        lambda w: "/alumni/profile/publish",
        lambda w: "/alumni/inbox",
        lambda w: f"/alumni/respond/{w.recipient.id}/{w.respond_token}",
        lambda w: "/alumni/privacy",
        lambda w: "/auth/password",
    ],
    "client": [
        lambda w: "/account/",
        lambda w: f"/courses/{w.inhouse_course.slug}/request",
        lambda w: f"/account/inhouse/{w.booking.id}",
        lambda w: f"/account/inhouse/{w.scheduled_booking.id}",
        lambda w: f"/account/inhouse/{w.booking.id}/proposals/1",
        lambda w: "/alumni/",
        lambda w: "/alumni/?province=utrecht&language=nl",
        lambda w: f"/alumni/{w.profile.id}",
        lambda w: f"/alumni/requests/new?profile={w.profile.id}",
        lambda w: "/alumni/requests/",
        lambda w: f"/alumni/requests/{w.match_request.id}",
        lambda w: f"/alumni/shortlists/{w.shortlist.id}",
    ],
    "trainer": [
        lambda w: "/account/",
        lambda w: "/admin/",  # the 403 page
    ],
    "admin": [
        lambda w: "/admin/",
        lambda w: "/admin/inhouse/",
        lambda w: f"/admin/inhouse/{w.booking.id}",
        lambda w: f"/admin/inhouse/{w.booking2.id}/proposal",
        lambda w: f"/admin/inhouse/{w.draft_booking.id}/proposal/draft",
        lambda w: f"/admin/inhouse/{w.scheduled_booking.id}",
        lambda w: "/admin/enrollments",
        lambda w: f"/admin/editions/{w.edition.id}/enrollments",
        lambda w: "/admin/receivables",
        lambda w: f"/admin/invoices/{w.invoice.id}/payment",
        lambda w: "/admin/courses/",
        lambda w: f"/admin/courses/{w.course.id}/edit",
        lambda w: "/admin/courses/editions/",
        lambda w: f"/admin/courses/editions/{w.edition.id}",
        lambda w: f"/admin/courses/{w.course.id}/editions/new",
        lambda w: "/admin/alumni/",
        lambda w: "/admin/alumni/matches",
        lambda w: "/admin/alumni/profiles",
        lambda w: "/admin/alumni/qualifications",
        lambda w: "/admin/users/",
        lambda w: "/admin/organisations/",
        lambda w: "/admin/outbox/",
        lambda w: f"/courses/{w.draft_course.slug}",  # the preview of an unpublished course
    ],
}


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        targets = ", ".join(" ".join(n["target"]) for n in violation["nodes"][:3])
        found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


# What axe no longer checks but screen readers trip over: an id used twice makes a label name
# the wrong element (the form field goes unnamed).
MARKUP_PROBLEMS = """() => {
  const problems = [], seen = new Set();
  // Hidden inputs (every form's csrf_token) are out of reach of assistive technology.
  for (const el of document.querySelectorAll("[id]:not(input[type=hidden])")) {
    if (seen.has(el.id)) problems.push("id used twice: " + el.id);
    seen.add(el.id);
  }
  const controls = ["INPUT", "SELECT", "TEXTAREA", "BUTTON", "METER", "OUTPUT", "PROGRESS"];
  for (const label of document.querySelectorAll("label[for]")) {
    const target = document.getElementById(label.htmlFor);
    if (!target || !controls.includes(target.tagName)) {
      problems.push("label for=" + label.htmlFor + " names no form field");
    }
  }
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (attr.value === "None") problems.push(attr.name + '="None" on ' + el.tagName);
    }
  }
  return problems;
}"""


def _walk(page, live_server, w, role) -> list[str]:
    problems = []
    for build in PAGES[role]:
        url = build(w)
        page.goto(live_server.url + url)
        problems += [f"{role} {url}: {v}" for v in axe_violations(page)]
        found = sorted(set(page.evaluate(MARKUP_PROBLEMS)))
        problems += [f"{role} {url}: {v}" for v in found]
    return problems


@pytest.mark.parametrize("role", list(PAGES))
def test_no_serious_accessibility_violations(page, live_server, role):
    w = build_world()
    if role != "anonymous":
        browser_login(page, w.user(role))
    problems = _walk(page, live_server, w, role)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["anonymous", "client"])
def test_no_serious_accessibility_violations_on_a_phone(phone_page, live_server, role):
    w = build_world()
    if role != "anonymous":
        browser_login(phone_page, w.user(role))
    problems = _walk(phone_page, live_server, w, role)
    assert not problems, "\n".join(problems)
