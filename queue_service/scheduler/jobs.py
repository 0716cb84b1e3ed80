"""The scheduled jobs. Each is a thin wrapper: the runner has pushed the app context and claimed
the occurrence; the job selects ids, calls a service and returns a summary for the admin page.

Add a job with one line at the bottom. Jobs from tickets and booking (end-of-day close, no-shows,
reminders, slot release, retention purge, statistics roll-up) belong here too.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from .. import clock
from ..offices import messages
from ..stats import jobs as stats_jobs
from . import runner
from .registry import daily_at, every, register_job


def expire_office_messages(scheduled_for: datetime) -> dict:
    """Ticker messages past their end leave the displays."""
    ids = messages.expired_message_ids(clock.now())
    return {"expired": sum(messages.expire_office_message(message_id) for message_id in ids)}


def purge_job_runs(scheduled_for: datetime) -> dict:
    """The job history keeps 30 days; runs whose process died are marked abandoned."""
    return runner.purge_old_runs(scheduled_for)  # job runs are kept in machine time


register_job("expire_office_messages", expire_office_messages, every(minutes=5),
             _l("Remove ticker messages past their end from the displays"))
register_job("purge_job_runs", purge_job_runs, daily_at("04:15"),
             _l("Delete the history of scheduled jobs older than 30 days"))
register_job("close_day", stats_jobs.close_day, daily_at("20:30"),
             _l("Close the queue of the day in every office with tickets today"))
register_job("stats_rollup", stats_jobs.stats_rollup, daily_at("03:30"),
             _l("Roll up yesterday's statistics (no personal data)"))
