"""Catalog events that later layers react to (invites, waiting lists) without the catalog
knowing them: the catalog sends, `bookings` connects receivers."""

from blinker import Namespace

_signals = Namespace()

# sender: TrainingSession; change: "moved" | "cancelled" | "details"
session_changed = _signals.signal("session-changed")
# sender: Edition; capacity raised: the waiting list may move.
edition_changed = _signals.signal("edition-changed")
# sender: Edition, just cancelled (with its sessions); by: the staff member or None, reason: the
# cancel reason or None. Bookings cancels and refunds the enrollments and closes the waiting list.
edition_cancelled = _signals.signal("edition-cancelled")
# sender: Edition; before: the old location, sessions: the sessions moved to the new one
# (their invites are updated through session_changed already): bookings tells the people.
edition_location_changed = _signals.signal("edition-location-changed")
# sender: Edition; before: the old online link or None, sessions: the sessions given the new one
# (their invites are updated through session_changed already): bookings tells the people.
edition_link_changed = _signals.signal("edition-link-changed")
