"""Journey 1 with the keyboard only: from the course page to a submitted inhouse request with
Tab, Shift+Tab, Enter, Space, arrows and typing; the mouse is never used. Every control must be
reachable in a sensible order and show where the focus is."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bbtraining.bookings.inhouse.models import InhouseBooking, today_amsterdam
from bbtraining.extensions import db
from tests.conftest import PASSWORD
from tests.security.world import build_world

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  const el = document.activeElement;
  const label = el.labels && el.labels[0] ? el.labels[0].innerText.trim() : "";
  const style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), id: el.id, type: el.type || "", label: label,
          text: (el.innerText || el.value || "").trim(), checked: !!el.checked,
          outline: style.outlineStyle !== "none" || style.boxShadow !== "none"};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_to(page, matches, limit: int = 80) -> dict:
    """Press Tab until the focused element matches; fail if it is never reached."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        seen.append(element["id"] or element["text"][:30])
        if matches(element):
            return element
    raise AssertionError(f"not reachable with Tab; focus went through {seen}")


def test_clerk_requests_an_inspiratiesessie_with_the_keyboard_only(page, live_server):
    w = build_world()
    # Day equal to month: the date field reads the same in dd-mm and mm-dd order, whichever
    # the browser's language gives it.
    first = today_amsterdam() + timedelta(days=8)
    while first.day != first.month:
        first += timedelta(days=1)
    course_url = f"{live_server.url}/courses/{w.inhouse_course.slug}"
    page.goto(course_url)

    # The skip link comes first and jumps past the menu.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Naar de inhoud"
    page.keyboard.press("Enter")
    link = tab_to(page, lambda e: e["tag"] == "a" and e["text"] == "Inhouse aanvragen", 30)
    assert link["outline"], "the focused link shows no focus indicator"
    page.keyboard.press("Enter")
    page.wait_for_url("**/request")

    typed = {
        "organisation_name": "Gemeente Zeist",
        "contact_name": "Femke de Boer",
        "contact_email": "griffie@zeist.example.nl",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "expected_participants": "30",
        "venue": "Raadhuis, Het Rond 1",
        "date_1": first.strftime("%d%m%Y"),
        "assembly_context": "Een burgerberaad over wonen.",
    }
    chosen = {"part_1": "avond", "assembly_phase": "Verkenning"}  # type-ahead in a select
    done = set()
    for _ in range(120):
        page.keyboard.press("Tab")
        element = focused(page)
        name = element["id"]
        if element["tag"] == "button" and element["text"] == "Aanvraag versturen":
            break
        if name in typed and name not in done:
            page.keyboard.type(typed[name])
            done.add(name)
        elif name in chosen and name not in done:
            page.keyboard.type(chosen[name])
            done.add(name)
        elif element["type"] == "radio" and not element["checked"]:
            page.keyboard.press("Space")
    else:
        raise AssertionError("the submit button was never reached with Tab")
    assert done == set(typed) | set(chosen), set(typed) | set(chosen) - done
    page.keyboard.press("Enter")
    page.wait_for_url("**/account/inhouse/*")
    assert page.get_by_text("Uw aanvraag is ontvangen").is_visible()

    booking = db.session.scalar(
        select(InhouseBooking).where(InhouseBooking.contact_email == "griffie@zeist.example.nl")
    )
    assert booking is not None
    assert booking.venue == "Raadhuis, Het Rond 1" and booking.expected_participants == 30
    assert booking.assembly_phase == "verkenning"
    assert [(o.day, o.part_of_day) for o in booking.date_options] == [(first, "evening")]
