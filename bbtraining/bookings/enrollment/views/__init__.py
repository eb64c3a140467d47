"""Enrollment's pages on `bookings.bp`, by audience: the public (enroll, waiting-list links),
the participant's account (their own enrollments) and staff (admin). Thin: the rules are in
the rule modules."""

from . import account, admin, public

__all__ = ["account", "admin", "public"]
