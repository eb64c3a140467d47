"""Bookings: what happens once someone books a course, one sub-package per capability.

Each sub-package imports only those before it in this order (tests/bookings/test_layering.py
reads the imports and holds it):

    billing, sessions  <-  enrollment, inhouse  <-  attendance  <-  evaluation

- billing: invoices (numbering, lines, VAT), credit invoices, the Stripe client and the
  dispatch of verified webhook events to the handlers the others register;
- sessions: who takes part in a session, which sessions belong together, calendar invites,
  personal feeds, reminders;
- enrollment: seats, enroll/pay/cancel, the waiting list and checkout of open editions;
- inhouse: requests, proposals, delivery, invoicing and messages of inhouse bookings;
- attendance: the sheet, check-in, completion, certificates and qualifications;
- evaluation: rounds, answers and results after a training.

Every sub-package's `__init__.py` is its wiring: the routes it adds to `bp`, the task modules the
worker loads, and what it registers with the lower ones (participant providers, signal
receivers, Stripe event handlers, dashboard panels).
"""

from flask import Blueprint

bp = Blueprint("bookings", __name__)

from . import attendance, billing, enrollment, evaluation, inhouse, sessions  # noqa: E402

CAPABILITIES = (billing, sessions, enrollment, inhouse, attendance, evaluation)
TASK_MODULES = tuple(name for capability in CAPABILITIES for name in capability.TASK_MODULES)
