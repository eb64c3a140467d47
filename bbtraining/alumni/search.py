"""Alumni search: the criteria, the query (full text, filters, availability, ranking), the
counts per province, and what a client may see of a profile. Functions only read.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from sqlalchemy import (
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import lazyload

from ..auth.models import User
from ..bookings.attendance.qualifications import Qualification
from ..courses.models import Course
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .models import (
    CONFIRMATION_VALID_FOR,
    FTS_TABLE,
    LANGUAGE_CODES,
    PROVINCE_CODES,
    AlumniProfile,
    BlockedDate,
    ProfileTag,
    Specialisation,
    code_mask,
    profile_specialisation,
    search_document,
    weekday_mask,
)

MAX_SEARCH_DAYS = 366
MAX_QUERY_TERMS = 8


# -- search ----------------------------------------------------------------------------------------
@dataclass
class SearchCriteria:
    province: str | None = None
    languages: list[str] = field(default_factory=list)
    specialisation: str | None = None  # slug from the managed list
    tag: str | None = None
    min_assemblies: int | None = None
    min_years: int | None = None
    dates: list[date] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    course_id: int | None = None
    # Weekday indexes (0 = Monday): only profiles that prefer every one of them.
    weekdays: list[int] = field(default_factory=list)
    q: str = ""

    def without_province(self) -> "SearchCriteria":
        return SearchCriteria(**{**self.__dict__, "province": None})

    @property
    def has_dates(self) -> bool:
        return bool(self.dates or self.date_from)


@dataclass
class SearchPage:
    profiles: list[AlumniProfile]
    total: int
    page: int
    per_page: int
    province_counts: dict[str, int]
    trainings: dict[int, list[str]]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def query_terms(q: str) -> list[str]:
    return re.findall(r"\w+", q.lower())[:MAX_QUERY_TERMS]


def validate_criteria(criteria: SearchCriteria) -> SearchCriteria:
    """Raise a DomainError for input no search can answer; returns the criteria."""
    if criteria.province and criteria.province not in PROVINCE_CODES:
        raise DomainError(_l("Onbekende provincie."), field="province")
    if set(criteria.languages) - set(LANGUAGE_CODES):
        raise DomainError(_l("Onbekende taal."), field="language")
    if criteria.date_from or criteria.date_to:
        start = criteria.date_from or criteria.date_to
        end = criteria.date_to or criteria.date_from
        if end < start:
            raise DomainError(_l("De einddatum ligt voor de begindatum."), field="date_to")
        if (end - start).days >= MAX_SEARCH_DAYS:
            raise DomainError(_l("Kies een periode van hooguit een jaar."), field="date_to")
        criteria.date_from, criteria.date_to = start, end
    if len(criteria.dates) > 60:
        raise DomainError(_l("Geef hooguit 60 losse data op."), field="dates")
    if any(not 0 <= day <= 6 for day in criteria.weekdays):
        raise DomainError(_l("Onbekende dag van de week."), field="weekday")
    if criteria.specialisation and _specialisation_id(criteria.specialisation) is None:
        raise DomainError(_l("Onbekende specialisatie."), field="specialisation")
    return criteria


def _specialisation_id(slug: str) -> int | None:
    return db.session.scalar(select(Specialisation.id).where(Specialisation.slug == slug))


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _tsquery(terms: list[str]):
    """Every term, as a prefix of its Dutch stem or of the word itself.

    The stem alone misses compounds ('klimaat' stems to 'klimat', which no longer prefixes
    'klimaatberad'); the plain prefix alone misses inflections. Either may match.
    """
    query = None
    for term in terms:
        either = func.to_tsquery(literal_column("'dutch'::regconfig"), f"{term}:*").op("||")(
            func.to_tsquery(literal_column("'simple'::regconfig"), f"{term}:*")
        )
        query = either if query is None else query.op("&&")(either)
    return query


def _fts5_match(terms: list[str]) -> str:
    return " ".join(f'"{t}"*' for t in terms)


def _fts5_hits():
    return (
        select(literal_column("rowid").label("id"), literal_column("rank").label("rank"))
        .select_from(text(FTS_TABLE))
        .where(text(f"{FTS_TABLE} MATCH :fts_query"))
        .subquery("fts")
    )


def visible_profile_conditions(now: datetime) -> list:
    """`AlumniProfile.is_searchable` in SQL: who anyone may find and ask, staff included."""
    profile = AlumniProfile
    return [
        # Spelled out as the partial index ix_alumni_profile_visible is, so PostgreSQL uses it.
        profile.published,
        ~profile.hidden_by_staff,
        profile.consented_at.is_not(None),
        profile.confirmed_at > now - CONFIRMATION_VALID_FOR,
        # Closed accounts are a short list: a hashed NOT IN, not a join with every user.
        profile.user_id.not_in(
            select(User.id).where(or_(User.deleted_at.is_not(None), ~User.is_active_account))
        ),
    ]


def _conditions(criteria: SearchCriteria, now: datetime) -> list:
    profile = AlumniProfile
    conditions: list = visible_profile_conditions(now)
    # Travel provinces and languages are tested on the row's bit masks: no join.
    if criteria.province:
        bit = code_mask([criteria.province], PROVINCE_CODES)
        conditions.append(
            or_(profile.province == criteria.province, profile.travel_mask.op("&")(bit) != 0)
        )
    # One test per bit: PostgreSQL estimates `mask & bit <> 0` as broad, `mask & m = m` as
    # nearly nothing, and an estimate of a few rows turns the joins that follow into loops.
    for language in criteria.languages:
        bit = code_mask([language], LANGUAGE_CODES)
        conditions.append(profile.language_mask.op("&")(bit) != 0)
    if criteria.specialisation:
        spec_id = _specialisation_id(criteria.specialisation)
        conditions.append(
            exists().where(
                profile_specialisation.c.profile_id == profile.id,
                profile_specialisation.c.specialisation_id == spec_id,
            )
        )
    if criteria.tag:
        conditions.append(
            exists().where(ProfileTag.profile_id == profile.id, ProfileTag.tag == criteria.tag)
        )
    if criteria.min_assemblies:
        conditions.append(profile.assemblies_count >= criteria.min_assemblies)
    if criteria.min_years:
        conditions.append(profile.years_experience >= criteria.min_years)
    if criteria.weekdays:
        # The profile keeps its days as a bit mask (bit 0: Monday); a bitwise AND on the row
        # (SQLite and PostgreSQL alike) adds no join and no query to the search.
        for day in sorted(set(criteria.weekdays)):
            conditions.append(profile.preferred_weekdays.op("&")(weekday_mask([day])) != 0)
    blocked = []
    if criteria.dates:
        blocked.append(BlockedDate.day.in_(sorted(set(criteria.dates))))
    if criteria.date_from:
        blocked.append(BlockedDate.day.between(criteria.date_from, criteria.date_to))
    if blocked:
        conditions.append(~exists().where(BlockedDate.profile_id == profile.id, or_(*blocked)))
    if criteria.course_id:
        conditions.append(
            exists().where(
                Qualification.user_id == profile.user_id,
                Qualification.course_id == criteria.course_id,
            )
        )
    terms = query_terms(criteria.q)
    if terms:
        if _is_postgres():
            conditions.append(search_document().op("@@")(_tsquery(terms)))
        else:
            conditions.append(
                profile.id.in_(
                    select(literal_column("rowid"))
                    .select_from(text(FTS_TABLE))
                    .where(text(f"{FTS_TABLE} MATCH :fts_query"))
                )
            )
    return conditions


def _bind(statement: Select, criteria: SearchCriteria) -> Select:
    terms = query_terms(criteria.q)
    if terms and not _is_postgres():
        return statement.params(fts_query=_fts5_match(terms))
    return statement


def _base(columns, criteria: SearchCriteria, now: datetime) -> Select:
    return select(*columns).select_from(AlumniProfile).where(and_(*_conditions(criteria, now)))


def search(
    criteria: SearchCriteria,
    *,
    page: int = 1,
    per_page: int | None = None,
    with_map: bool = True,
    now: datetime | None = None,
) -> SearchPage:
    validate_criteria(criteria)
    now = now or utcnow()
    per_page = per_page or current_app.config["ALUMNI_PAGE_SIZE"]
    page = max(1, page)

    home, travel = _coverage(criteria.without_province(), now)
    # Every profile has one home province and travels only to others (save_profile sees to
    # that), so the counts per province also give the total: no separate count query.
    if criteria.province:
        total = home.get(criteria.province, 0) + travel.get(criteria.province, 0)
    else:
        total = sum(home.values())
    offset = (page - 1) * per_page
    terms = query_terms(criteria.q)
    if terms:
        profiles = _ranked_page(criteria, terms, total, now, offset, per_page)
    elif criteria.province:
        # Residents of the province first, then those willing to travel there; the counts
        # say where the page starts, so each part walks the experience index on its own.
        residents = home.get(criteria.province, 0)
        parts = []
        if offset < residents:
            parts.append(
                (offset, per_page, AlumniProfile.province == criteria.province),
            )
        shown_residents = max(min(residents - offset, per_page), 0)
        if shown_residents < per_page:
            parts.append(
                (
                    max(offset - residents, 0),
                    per_page - shown_residents,
                    AlumniProfile.province != criteria.province,
                )
            )
        profiles = _experience_page(criteria, now, parts)
    else:
        profiles = _experience_page(criteria, now, [(offset, per_page)])
    return SearchPage(
        profiles=profiles,
        total=total,
        page=page,
        per_page=per_page,
        province_counts=_merge(home, travel) if with_map else {},
        trainings=verified_trainings([p.user_id for p in profiles]),
    )


EXPERIENCE_ORDER = (
    AlumniProfile.assemblies_count.desc(),
    AlumniProfile.sessions_count.desc(),
    AlumniProfile.years_experience.desc(),
    AlumniProfile.id,
)
# Ranking by relevance recomputes each match's text vector; above this many matches the
# headline alone is ranked (much shorter), which keeps broad searches fast.
FULL_RANK_LIMIT = 2000


def _experience_page(
    criteria: SearchCriteria, now: datetime, parts: list[tuple]
) -> list[AlumniProfile]:
    """The profiles of one page, made of parts (offset, limit, *conditions) shown one after
    the other, each in order of experience.

    One statement finds the ids of every part (each part still walks the experience index on
    its own) and one loads those profiles, so the profiles' languages, tags and provinces are
    loaded once for the whole page, not once per part.
    """
    selects = [
        _base([AlumniProfile.id, literal(number).label("part")], criteria, now)
        .where(*extra)
        .order_by(*EXPERIENCE_ORDER)
        .limit(limit)
        .offset(offset)
        for number, (offset, limit, *extra) in enumerate(parts)
    ]
    if len(selects) == 1:
        found = select(selects[0].subquery())
    else:
        found = union_all(*(select(part.subquery()) for part in selects))
    rows = db.session.execute(_bind(found, criteria)).all()
    if not rows:
        return []
    part_of = {row.id: row.part for row in rows}
    profiles = db.session.scalars(
        select(AlumniProfile).where(AlumniProfile.id.in_(list(part_of)))
    ).all()
    # Sorted here (parts in turn, each by experience) rather than trusting the order in which
    # a UNION hands back its parts.
    return sorted(
        profiles,
        key=lambda p: (
            part_of[p.id],
            -p.assemblies_count,
            -p.sessions_count,
            -p.years_experience,
            p.id,
        ),
    )


def _ranked_page(
    criteria: SearchCriteria,
    terms: list[str],
    total: int,
    now: datetime,
    offset: int,
    limit: int,
) -> list[AlumniProfile]:
    statement = _base([AlumniProfile], criteria, now)
    order = []
    if _is_postgres():
        document = (
            search_document()
            if total <= FULL_RANK_LIMIT
            else func.to_tsvector(literal_column("'dutch'::regconfig"), AlumniProfile.headline)
        )
        order.append(func.ts_rank_cd(document, _tsquery(terms)).desc())
    else:
        hits = _fts5_hits()
        statement = statement.join(hits, hits.c.id == AlumniProfile.id)
        order.append(hits.c.rank.asc())  # bm25: lower is more relevant
    if criteria.province:
        order.append(case((AlumniProfile.province == criteria.province, 0), else_=1))
    statement = statement.order_by(*order, *EXPERIENCE_ORDER).limit(limit).offset(offset)
    return list(db.session.scalars(_bind(statement, criteria)))


def _coverage(criteria: SearchCriteria, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Matching profiles per home province, and per province they travel to: one grouped
    count over the profile rows alone (home province and travel mask), spread out here."""
    statement = _base(
        [AlumniProfile.province, AlumniProfile.travel_mask, func.count()], criteria, now
    ).group_by(AlumniProfile.province, AlumniProfile.travel_mask)
    home: dict[str, int] = {}
    travel: dict[str, int] = {}
    for province, mask, count in db.session.execute(_bind(statement, criteria)):
        home[province] = home.get(province, 0) + count
        for index, code in enumerate(PROVINCE_CODES):
            if mask & (1 << index):
                travel[code] = travel.get(code, 0) + count
    return home, travel


def _merge(home: dict[str, int], travel: dict[str, int]) -> dict[str, int]:
    return {code: home.get(code, 0) + travel.get(code, 0) for code in PROVINCE_CODES}


def province_counts(criteria: SearchCriteria, *, now: datetime | None = None) -> dict[str, int]:
    """How many profiles match every filter but the province, per province they cover."""
    return _merge(*_coverage(criteria.without_province(), now or utcnow()))


def verified_trainings(user_ids: list[int]) -> dict[int, list[str]]:
    """Course titles each user completed, from the platform's own records."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Qualification.user_id, Course.title)
        .join(Course, Course.id == Qualification.course_id)
        .where(Qualification.user_id.in_(user_ids))
        .order_by(Qualification.completed_at)
    ).all()
    result: dict[int, list[str]] = {}
    for user_id, title in rows:
        titles = result.setdefault(user_id, [])
        if title not in titles:
            titles.append(title)
    return result


def qualifying_courses() -> list[Course]:
    return list(
        db.session.scalars(
            select(Course)
            .where(Course.qualifies_for_alumni.is_(True))
            .order_by(Course.title)
            .options(lazyload(Course.phase_rows))  # a list of titles: phases load on use
        )
    )


def public_card(profile: AlumniProfile, trainings: list[str], urls: dict[str, str]) -> dict:
    """What a client may see of a profile. Built field by field: contact details never enter."""
    return {
        "id": profile.id,
        "display_name": profile.display_name,
        "headline": profile.headline,
        "bio": profile.bio,
        "province": profile.province,
        "province_label": profile.province_label,
        "municipality": profile.municipality,
        "travels_to": profile.travel_provinces,
        "languages": profile.languages,
        "specialisations": [s.name for s in profile.specialisations],
        "tags": profile.tags,
        "experience": {
            "assemblies": profile.assemblies_count,
            "sessions": profile.sessions_count,
            "years": profile.years_experience,
        },
        "preferred_weekdays": profile.weekday_labels,
        "verified_trainings": trainings,
        "confirmed_at": profile.confirmed_at.isoformat() if profile.confirmed_at else None,
        **urls,
    }
