"""schema.org structured data for a course page: a Course with its editions as CourseInstance
(an Event), so search engines and council intranets can show dates, places and prices."""

from datetime import datetime
from typing import Any

from flask import current_app

from ..urls import public_url
from .models import AMSTERDAM, Course, Edition

SCHEMA = "https://schema.org/"


def _iso(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).isoformat()


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{rest}M" if rest or not hours else "")


def _location(edition: Edition) -> list[dict[str, Any]]:
    places: list[dict[str, Any]] = []
    if edition.location:
        places.append({"@type": "Place", "name": edition.location, "address": edition.location})
    if edition.online_url:
        places.append({"@type": "VirtualLocation", "url": edition.online_url})
    return places


def _instance(course: Course, edition: Edition, base: str) -> dict[str, Any]:
    sessions = edition.active_sessions
    price = edition.unit_price_incl_vat
    if edition.location and edition.online_url:
        mode, attendance = "Blended", "MixedEventAttendanceMode"
    elif edition.online_url:
        mode, attendance = "Online", "OnlineEventAttendanceMode"
    else:
        mode, attendance = "Onsite", "OfflineEventAttendanceMode"
    instance: dict[str, Any] = {
        "@type": "CourseInstance",
        "name": course.title,
        "courseMode": mode,
        "eventStatus": SCHEMA + "EventScheduled",
        "eventAttendanceMode": SCHEMA + attendance,
        "startDate": _iso(sessions[0].starts_at),
        "endDate": _iso(sessions[-1].ends_at),
        "location": _location(edition),
        "maximumAttendeeCapacity": edition.capacity,
        "remainingAttendeeCapacity": edition.seats_left,
        "courseWorkload": _duration(
            sum(int((s.ends_at - s.starts_at).total_seconds() // 60) for s in sessions)
        ),
        "instructor": [{"@type": "Person", "name": t.name} for t in edition.trainers],
        "subEvent": [
            {
                "@type": "Event",
                "name": f"{course.title} ({number}/{len(sessions)})",
                "startDate": _iso(s.starts_at),
                "endDate": _iso(s.ends_at),
                "location": s.place() or edition.place(),
            }
            for number, s in enumerate(sessions, start=1)
        ],
    }
    if price is not None:
        offer: dict[str, Any] = {
            "@type": "Offer",
            "category": "Paid" if price > 0 else "Free",
            "price": f"{price:.2f}",
            "priceCurrency": "EUR",
            "priceSpecification": {
                "@type": "PriceSpecification",
                "price": f"{price:.2f}",
                "priceCurrency": "EUR",
                "valueAddedTaxIncluded": True,
            },
        }
        if edition.is_full:
            offer["availability"] = SCHEMA + "SoldOut"
        elif edition.enrollment_open():
            offer["availability"] = SCHEMA + "InStock"
        if edition.enrollment_open():  # the waiting list is also joined there
            offer["url"] = f"{base}/editions/{edition.id}/enroll"
        if edition.enrollment_deadline is not None:
            offer["validThrough"] = _iso(edition.enrollment_deadline)
        instance["offers"] = offer
    return instance


def course_jsonld(course: Course, editions: list[Edition]) -> dict[str, Any]:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Course",
        "name": course.title,
        "description": course.summary or course.title,
        "url": public_url("courses.course", slug=course.slug),
        "courseCode": course.slug,
        "inLanguage": "nl",
        "provider": {
            "@type": "Organization",
            "name": current_app.config["ORGANISATION_NAME"],
            "url": base + "/",
        },
        "audience": {"@type": "Audience", "audienceType": course.audience_label},
        "timeRequired": _duration(course.duration_minutes * course.session_count),
    }
    if course.goals:
        data["teaches"] = course.goals
    offers = []
    if course.is_inhouse and course.price_inhouse_incl_vat is not None:
        offers.append(
            {
                "@type": "Offer",
                "category": "Paid",
                "name": "Inhouse",
                "price": f"{course.price_inhouse_incl_vat:.2f}",
                "priceCurrency": "EUR",
                "url": f"{base}/courses/{course.slug}/request",
            }
        )
    if offers:
        data["offers"] = offers
    instances = [_instance(course, e, base) for e in editions if e.active_sessions]
    if instances:
        data["hasCourseInstance"] = instances
    return data
