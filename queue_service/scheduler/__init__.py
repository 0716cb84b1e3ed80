"""Scheduled jobs (APScheduler 3.x), exactly once per deployment.

- ``registry``: ``register_job(name, func, trigger)`` with ``daily_at("04:15")`` / ``every(minutes=5)``
- ``jobs``: the jobs themselves, thin wrappers around services (one line each to register)
- ``runner``: runs one occurrence: claims a JobRun row (UNIQUE(job, scheduled_for)) first
- ``locks``/``runtime``: one active scheduler per deployment (PostgreSQL advisory lock, or a file
  lock next to the SQLite database); embedded in ``serve`` or the dedicated ``scheduler`` command
"""

from .registry import daily_at, every, register_job

__all__ = ["daily_at", "every", "register_job"]
