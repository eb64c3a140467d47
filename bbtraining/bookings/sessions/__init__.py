"""Sessions: who takes part in a session, which sessions belong together, calendar invites,
personal feeds and reminders.

This file is the capability's wiring: its routes on `bookings.bp` (feeds), the task module the
worker loads, and what it registers, in one block below.
"""

from ...courses.signals import edition_link_changed, edition_location_changed, session_changed
from . import feeds, groups, invites, participants, reminders  # noqa: F401  (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.sessions.tasks",)

# Wiring: the catalog's grouping of sessions, the built-in reminders, and invites that follow
# the catalog's changes.
groups.register_group_resolver(groups.EDITIONS)
reminders.register_reminder_source(reminders.session_reminders)
session_changed.connect(invites.sync_invites_after_change)
edition_location_changed.connect(invites.mail_new_location)
edition_link_changed.connect(invites.mail_new_link)
