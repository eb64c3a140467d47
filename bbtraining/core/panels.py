"""Places where blueprints contribute to shared pages without those pages importing them.

`/account/` shows one panel per domain (enrollments, bookings, sessions, matches) and `/admin/`
one tile per pipeline; each blueprint registers its own at startup.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class PanelRegistry:
    panels: list[tuple[int, Callable]] = field(default_factory=list)

    def register(self, order: int = 50) -> Callable:
        def decorator(fn: Callable) -> Callable:
            if fn not in [f for _, f in self.panels]:
                self.panels.append((order, fn))
                self.panels.sort(key=lambda item: item[0])
            return fn

        return decorator

    def render(self, *args) -> list:
        """Each panel returns rendered HTML (Markup) or None when it has nothing to show."""
        return [html for _, fn in self.panels if (html := fn(*args))]


account_panels = PanelRegistry()
admin_panels = PanelRegistry()
# Extra links in the navigation: functions (user) -> list[(label, endpoint)].
nav_links = PanelRegistry()
