"""Public catalog: home by phase, the filtered catalog, course pages and the public calendar."""

from flask import Response, abort, render_template, request, url_for
from flask_login import current_user

from ..db_types import utcnow
from ..http_cache import public_page
from ..page_cache import cached_page
from . import bp, catalog
from .jsonld import course_jsonld
from .models import (
    AUDIENCE_LABELS,
    COURSE_KIND_LABELS,
    PHASE_LABELS,
    Phase,
)


def catalog_url(filters: catalog.CatalogFilters) -> str:
    return url_for("courses.catalog", **filters.to_args())


@bp.app_context_processor
def catalog_helpers():
    return {"catalog_url": catalog_url}


@bp.route("/")
@public_page
@cached_page
def home():
    by_phase = catalog.courses_by_phase()
    courses = {c.id: c for group in by_phase.values() for c in group}
    return render_template(
        "courses/home.html",
        phases=[(phase.value, PHASE_LABELS[phase], by_phase[phase.value]) for phase in Phase],
        next_starts=catalog.next_starts(list(courses.values())),
        upcoming=catalog.upcoming_public_editions(limit=4),
    )


@bp.route("/courses/", endpoint="catalog")
@public_page
@cached_page
def catalog_page():
    filters = catalog.CatalogFilters.from_args(request.args)
    courses = catalog.search_courses(filters)
    return render_template(
        "courses/catalog.html",
        filters=filters,
        courses=courses,
        next_starts=catalog.next_starts(courses),
        relaxations=catalog.relaxations(filters) if not courses else [],
        kinds=COURSE_KIND_LABELS,
        phase_labels=PHASE_LABELS,
        audiences=AUDIENCE_LABELS,
    )


@bp.route("/courses/<slug>")
@public_page
@cached_page
def course(slug: str):
    preview = current_user.is_authenticated and current_user.is_admin
    found = catalog.published_course_or_none(slug, preview=preview)
    if found is None:
        abort(404)
    now = utcnow()
    editions = catalog.upcoming_editions(found, now) if found.is_open else []
    return render_template(
        "courses/course.html",
        course=found,
        editions=editions,
        trainers=catalog.upcoming_trainers(editions),
        jsonld=course_jsonld(found, editions),
        now=now,
    )


@bp.route("/calendar/public.ics")
@public_page
def public_calendar():
    from ..notifications.calendar import ics_content_type

    response = Response(catalog.public_calendar(), content_type=ics_content_type("PUBLISH"))
    response.headers["Content-Disposition"] = 'inline; filename="trainingen.ics"'
    return response
