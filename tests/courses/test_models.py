"""Rules that hold in the database itself (SQLite and PostgreSQL), and the model transitions."""

from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from bbtraining.courses.models import Course, Edition, TrainingSession, fold_text
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.money import incl_vat, to_cents, vat_amount
from tests.courses.conftest import in_days, local


def _refused_by_database(change) -> None:
    with pytest.raises(IntegrityError):
        change()
        db.session.flush()
    db.session.rollback()


def test_session_must_end_after_start(make_edition):
    edition = make_edition()
    session = edition.sessions[0]

    def end_before_start():
        session.ends_at = local(in_days(30), "08:00")

    _refused_by_database(end_before_start)

    def end_at_start():
        db.session.get(TrainingSession, session.id).ends_at = session.starts_at

    _refused_by_database(end_at_start)
    assert db.session.get(TrainingSession, session.id).local_end.hour == 16


def test_capacity_at_least_one(make_edition):
    edition = make_edition()

    def zero():
        db.session.execute(update(Edition).where(Edition.id == edition.id).values(capacity=0))

    _refused_by_database(zero)
    assert db.session.get(Edition, edition.id).capacity == 12


def test_seats_taken_within_capacity_even_without_the_application(make_edition):
    edition = make_edition(capacity=3, seats_taken=3)

    def overbook():
        db.session.execute(
            text("UPDATE edition SET seats_taken = seats_taken + 1 WHERE id = :id"),
            {"id": edition.id},
        )

    _refused_by_database(overbook)

    def shrink_below_taken():
        db.session.execute(
            text("UPDATE edition SET capacity = 2 WHERE id = :id"), {"id": edition.id}
        )

    _refused_by_database(shrink_below_taken)
    db.session.expire_all()
    assert (edition.capacity, edition.seats_taken) == (3, 3)


def test_slug_is_unique(make_course):
    make_course(slug="masterclass-loting")

    def duplicate():
        course = Course(
            slug="masterclass-loting",
            title="Nog een",
            kind="masterclass",
            audience="council",
            delivery="inhouse",
        )
        db.session.add(course)

    _refused_by_database(duplicate)
    assert len(db.session.scalars(select(Course)).all()) == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [("kind", "webinar"), ("delivery", "hybride"), ("max_group_size", 0), ("session_count", 0)],
)
def test_course_columns_are_checked(make_course, column, value):
    course = make_course()

    def bad():
        db.session.execute(update(Course).where(Course.id == course.id).values({column: value}))

    _refused_by_database(bad)


def test_publish_refuses_without_the_price_its_delivery_needs(make_course):
    inhouse = make_course(delivery="inhouse", price_inhouse=None, published=False)
    with pytest.raises(DomainError, match="prijs per sessie"):
        inhouse.publish()
    both = make_course(delivery="both", price_seat=None, published=False)
    with pytest.raises(DomainError, match="prijs per deelnemer"):
        both.publish()
    open_course = make_course(
        delivery="open", price_seat=Decimal("0"), price_inhouse=None, published=False
    )
    open_course.publish()  # free is a price
    assert open_course.published
    assert not inhouse.published and not both.published


def test_session_transitions_refuse_invalid_moves(make_edition):
    session = make_edition().sessions[0]
    with pytest.raises(DomainError, match="eindtijd moet na de begintijd"):
        session.reschedule(session.ends_at, session.starts_at)
    assert session.revision == 0
    session.cancel("ziek")
    assert session.revision == 1
    with pytest.raises(DomainError, match="al geannuleerd"):
        session.cancel()
    with pytest.raises(DomainError, match="geannuleerde sessie"):
        session.reschedule(session.starts_at, session.ends_at)
    assert session.revision == 1


def test_edition_cancel_takes_its_sessions_and_happens_once(make_edition):
    edition = make_edition(days=(20, 21))
    cancelled = edition.cancel("te weinig aanmeldingen")
    assert len(cancelled) == 2 and all(s.is_cancelled and s.revision == 1 for s in cancelled)
    with pytest.raises(DomainError, match="Alleen een geplande editie"):
        edition.cancel()


def test_search_text_is_folded_on_insert_and_update(make_course):
    course = make_course(title="Ideeën voor de ÉÉN Tafel")
    assert "ideeen" in course.search_text and "een tafel" in course.search_text
    assert "masterclass" in course.search_text  # the kind label is searchable too
    course.learning_goals = "Loting begrijpen"
    db.session.commit()
    assert "loting" in db.session.get(Course, course.id).search_text
    assert fold_text("Gespreksbegeleiding Café") == "gespreksbegeleiding cafe"


def test_money_helpers_round_half_up():
    assert incl_vat(Decimal("1195.00"), Decimal("21")) == Decimal("1445.95")
    assert vat_amount(Decimal("0.50"), Decimal("21")) == Decimal("0.11")  # 0.105 -> 0.11
    assert vat_amount(Decimal("2.50"), Decimal("21")) == Decimal("0.53")  # 0.525 -> 0.53
    assert incl_vat("10", "9") == Decimal("10.90")
    assert to_cents(Decimal("1.005")) == Decimal("1.01")
    amount = Decimal("33.33")
    assert incl_vat(amount, 21) == to_cents(amount) + vat_amount(amount, 21)
