"""Reading enrollments: a person's, an edition's, the active one of a person in an edition."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...auth.models import User
from ...courses.models import Edition
from ...extensions import db
from ..billing.invoices import Invoice
from .models import (
    ACTIVE_ENROLLMENT_STATUSES,
    ACTIVE_WAITLIST_STATUSES,
    Enrollment,
    WaitlistEntry,
)


# -- reading --------------------------------------------------------------------------------------
def active_enrollment(edition: Edition, user: User) -> Enrollment | None:
    return db.session.scalar(
        select(Enrollment).where(
            Enrollment.edition_id == edition.id,
            Enrollment.user_id == user.id,
            Enrollment.status.in_(ACTIVE_ENROLLMENT_STATUSES),
        )
    )


def active_waitlist_entry(edition: Edition, user: User) -> WaitlistEntry | None:
    return db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.edition_id == edition.id,
            WaitlistEntry.user_id == user.id,
            WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES),
        )
    )


def user_enrollments(user: User) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.user_id == user.id)
            # The dashboard links each one's invoice and credit note.
            .options(selectinload(Enrollment.invoice), selectinload(Enrollment.credit_invoice))
            .order_by(Enrollment.created_at.desc(), Enrollment.id.desc())
        )
    )


def user_waitlist_entries(user: User, *, active_only: bool = True) -> list[WaitlistEntry]:
    query = select(WaitlistEntry).where(WaitlistEntry.user_id == user.id)
    if active_only:
        query = query.where(WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES))
    return list(db.session.scalars(query.order_by(WaitlistEntry.created_at)))


def edition_enrollments(edition: Edition) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.edition_id == edition.id)
            .order_by(Enrollment.created_at, Enrollment.id)
        )
    )


def enrollment_credit_invoices(enrollment: Enrollment) -> list[Invoice]:
    """Every credit invoice of the enrollment: one per seat given back, and the cancellation's."""
    if enrollment.invoice_id is None:
        return []
    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.credit_for_id == enrollment.invoice_id)
            .order_by(Invoice.id)
        )
    )
