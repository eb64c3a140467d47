"""Attendance: the sheet, check-in, completion, certificates and qualifications.

This file is the capability's wiring: its routes on `bookings.bp` (the views), the task module
the worker loads, and what it registers with the lower capabilities and the dashboards, in one
block below.
"""

from ...auth.signals import email_verified
from ...core.panels import account_panels, admin_panels
from ...courses.signals import session_changed
from ..sessions.participants import register_provider
from . import (  # noqa: F401  (certificate_views, preview, views: routes)
    certificate_views,
    completion,
    guests,
    panels,
    preview,
    qualifications,
    views,
)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.attendance.tasks",)

# Wiring: guests added on the sheet take part in their session; a session cancelled or moved
# after its group's end decides completion again; the dashboards' panels.
register_provider(guests.guest_participants, many=guests.guest_participants_many)
session_changed.connect(completion.decide_again_after_session_change)
# A training completed before the person had an account is theirs once their address is verified.
email_verified.connect(completion.claim_completions)
account_panels.register(10)(panels.first_steps_panel)
account_panels.register(15)(panels.trainer_sessions_panel)
account_panels.register(35)(panels.participant_attendance_panel)
admin_panels.register(30)(panels.attendance_tile)
