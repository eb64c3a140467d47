"""Celery app for bench/reminders.py: the normal worker plus the benchmark's participants."""

from bbtraining.worker import celery, flask_app  # noqa: F401 - what `celery -A` loads
from bench.reminders import register_bench_participants

register_bench_participants()
