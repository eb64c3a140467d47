"""Enrollment policy: settings with their defaults, the domain errors, billing details, and the
terms for cancelling (free cancellation deadline, refund fraction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app

from ...courses.models import AMSTERDAM, Edition
from ...db_types import utcnow
from ...errors import DomainError
from .models import (
    CENT,
    Enrollment,
    EnrollmentStatus,
    PaymentStatus,
)

log = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires sooner than 30 minutes after creation.
STRIPE_MIN_HOLD = timedelta(minutes=31)


# -- settings (config keys with defaults, so a missing key never breaks a request) --------------
def hold_minutes() -> int:
    return int(current_app.config.get("ENROLLMENT_HOLD_MINUTES", 30))


def offer_hours() -> int:
    return int(current_app.config.get("WAITLIST_OFFER_HOURS", 48))


def processing_hold_hours() -> int:
    return int(current_app.config.get("ENROLLMENT_PROCESSING_HOLD_HOURS", 72))


def invoice_due_days() -> int:
    return int(current_app.config.get("ENROLLMENT_INVOICE_DUE_DAYS", 14))


def max_group_seats() -> int:
    return int(current_app.config.get("WAITLIST_MAX_GROUP", 10))


# -- errors ---------------------------------------------------------------------------------------
class EnrollmentClosed(DomainError):
    pass


class EditionFull(DomainError):
    """No seat left: the caller offers the waiting list."""


class AlreadyEnrolled(DomainError):
    pass


# -- billing --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Billing:
    name: str
    street: str
    postcode: str
    city: str
    country: str = "NL"
    organisation: str | None = None
    vat_number: str | None = None
    reference: str | None = None


# -- policy ---------------------------------------------------------------------------------------
def free_cancellation_deadline(edition: Edition) -> datetime | None:
    start = edition.starts_at
    if start is None:
        return None
    return start - timedelta(days=edition.free_cancellation_days)


def free_cancellation_open(edition: Edition, now: datetime | None = None) -> bool:
    """The one rule on free cancellation: it runs through the deadline's whole day in Dutch time,
    as pages and mails say "tot en met 20 november". No deadline (no sessions yet): open."""
    deadline = free_cancellation_deadline(edition)
    if deadline is None:
        return True
    return (now or utcnow()).astimezone(AMSTERDAM).date() <= deadline.astimezone(AMSTERDAM).date()


def offered_free_cancellation(edition: Edition, now: datetime | None = None) -> datetime | None:
    """The deadline to offer ("Kosteloos annuleren kan tot en met ..."), or None when its last day
    has passed: a short-notice edition promises nothing it will refuse."""
    deadline = free_cancellation_deadline(edition)
    if deadline is None or not free_cancellation_open(edition, now):
        return None
    return deadline


def participant_may_cancel(enrollment: Enrollment, now: datetime | None = None) -> bool:
    if not enrollment.is_active:
        return False
    if enrollment.status == EnrollmentStatus.HELD:
        # Nothing paid yet: letting the seat go is fine, unless the bank is still settling.
        return enrollment.payment_status != PaymentStatus.PROCESSING
    return free_cancellation_open(enrollment.edition, now)


def refund_fraction(enrollment: Enrollment, mode: str, now: datetime | None = None) -> Decimal:
    """Share of the price that is refunded or credited: 'full', 'none' or 'policy'."""
    if mode == "full":
        return Decimal(1)
    if mode == "none":
        return Decimal(0)
    if free_cancellation_open(enrollment.edition, now):
        return Decimal(1)
    return Decimal(enrollment.edition.late_refund_percent) / Decimal(100)


def round_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
