"""Evaluation: rounds, answers and results after a training.

This file is the capability's wiring: its routes on `bookings.bp` (the views), the task module
the worker loads, and the dashboards' panels it registers, in one block below.
"""

from ...core.panels import account_panels, admin_panels
from . import views  # (routes on bookings.bp)

TASK_MODULES: tuple[str, ...] = ("bbtraining.bookings.evaluation.tasks",)

# Wiring: the trainer's evaluations on /account/, the results tile on /admin/.
account_panels.register(60)(views.trainer_evaluations_panel)
admin_panels.register(70)(views.evaluations_tile)
