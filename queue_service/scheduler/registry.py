"""The job registry: every scheduled job with its trigger, declared in one readable list.

    register_job("close_day", close_day, daily_at("20:30"), _l("Close the day of every office"))

Triggers are built here so that every one runs in Europe/Berlin, daily jobs never fall into the
hour the clocks skip or repeat (02:00-03:00), and interval triggers are anchored at a fixed
moment, so two scheduler processes compute the same occurrences (the JobRun key).

Daily jobs use our own DailyTrigger, not APScheduler's CronTrigger: CronTrigger 3.11.3 skips the
Monday after the spring change (30 March 2026) for every time from 00:00 to 00:59 (see
tests/scheduler/test_dst.py). DailyTrigger computes each local day with zoneinfo instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .. import clock

TIMEZONE = clock.LOCAL_TZ
# occurrences of interval jobs count from here, identical in every process
INTERVAL_ANCHOR = datetime(2020, 1, 1, tzinfo=UTC)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")

JobFunc = Callable[[datetime], dict | None]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    trigger: BaseTrigger
    description: Any = ""  # a (lazy) translated text for the admin page

    def next_run(self, now: datetime | None = None) -> datetime | None:
        now = (now or clock.real_now()).astimezone(TIMEZONE)
        return self.trigger.get_next_fire_time(None, now)


_jobs: dict[str, JobSpec] = {}


class UnsafeSchedule(ValueError):
    """A trigger that could fire in the DST hour, or without the local time zone."""


class DailyTrigger(BaseTrigger):
    """Every day at a local wall-clock time, one occurrence per local calendar day."""

    def __init__(self, at: time, timezone=TIMEZONE):
        if at.hour == 2:
            raise UnsafeSchedule(f"{at:%H:%M}: no daily job between 02:00 and 03:00 (DST changes)")
        self.at = at
        self.timezone = timezone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        # like CronTrigger: after the previous run (so missed runs can coalesce), else from now
        # (compared in UTC: Python compares datetimes of one time zone by wall clock)
        after = (
            previous_fire_time + timedelta(microseconds=1) if previous_fire_time else now
        ).astimezone(UTC)
        day = after.astimezone(self.timezone).date()
        while True:
            candidate = datetime.combine(day, self.at, tzinfo=self.timezone)
            if candidate.astimezone(UTC) >= after:
                return candidate
            day += timedelta(days=1)

    def __str__(self) -> str:
        return f"daily[{self.at:%H:%M}]"

    def __repr__(self) -> str:
        return f"<DailyTrigger at {self.at:%H:%M} ({self.timezone})>"


def daily_at(hhmm: str) -> DailyTrigger:
    """Every day at ``hhmm`` Hannover time (never 02:00-02:59: that hour is skipped or doubled)."""
    match = _HHMM.match(hhmm)
    if not match:
        raise ValueError(f"{hhmm!r} is not a time like 04:15")
    return DailyTrigger(time(int(match.group(1)), int(match.group(2))))


def every(*, seconds: int = 0, minutes: int = 0, hours: int = 0) -> IntervalTrigger:
    """Every fixed interval (absolute time, so DST does not matter)."""
    if seconds + minutes * 60 + hours * 3600 <= 0:
        raise ValueError("the interval must be positive")
    return IntervalTrigger(
        seconds=seconds, minutes=minutes, hours=hours, start_date=INTERVAL_ANCHOR, timezone=TIMEZONE
    )


def check_trigger(trigger: BaseTrigger) -> None:
    """Refuse triggers without the Berlin time zone, cron triggers that can fire between 00:00
    and 03:00 (the DST hour, and CronTrigger's skipped day after the spring change), and
    interval triggers without the shared anchor."""
    zone = getattr(trigger, "timezone", None)
    if str(zone) != str(TIMEZONE):
        raise UnsafeSchedule(f"trigger {trigger} must use the time zone {TIMEZONE}")
    if isinstance(trigger, CronTrigger):
        hour_field = next(f for f in trigger.fields if f.name == "hour")
        for hour in (0, 1, 2):
            if hour_field.get_next_value(datetime(2026, 1, 1, hour, 0, tzinfo=TIMEZONE)) == hour:
                raise UnsafeSchedule(
                    f"trigger {trigger} can fire between 00:00 and 03:00; use daily_at() or every()"
                )
    elif isinstance(trigger, IntervalTrigger):
        if trigger.start_date != INTERVAL_ANCHOR:
            raise UnsafeSchedule(f"trigger {trigger} must be built with every(...)")


def register_job(name: str, func: JobFunc, trigger: BaseTrigger, description: Any = "") -> JobSpec:
    """Register ``func(scheduled_for) -> summary dict`` to run on ``trigger`` (stable ``name``)."""
    if not _NAME.match(name):
        raise ValueError(f"job name {name!r}: lower-case letters, digits and underscores")
    check_trigger(trigger)
    spec = JobSpec(name, func, trigger, description)
    _jobs[name] = spec
    return spec


def unregister_job(name: str) -> None:
    _jobs.pop(name, None)


def registered_jobs() -> dict[str, JobSpec]:
    """Every job, after the job module has registered them."""
    from . import jobs  # noqa: F401  (registers on import)

    return dict(_jobs)


def get_job(name: str) -> JobSpec:
    jobs = registered_jobs()
    if name not in jobs:
        raise KeyError(f"no scheduled job called {name!r}")
    return jobs[name]


def with_interval_overrides(jobs: dict[str, JobSpec], overrides: str | None) -> dict[str, JobSpec]:
    """Apply ``SCHEDULER_JOB_INTERVALS`` ("name=seconds,name=seconds"; tests and operations)."""
    if not overrides:
        return jobs
    result = dict(jobs)
    for part in overrides.split(","):
        name, _, seconds = part.strip().partition("=")
        if name not in result or not seconds.strip().isdigit():
            raise ValueError(f"SCHEDULER_JOB_INTERVALS: cannot read {part!r}")
        spec = result[name]
        result[name] = JobSpec(spec.name, spec.func, every(seconds=int(seconds)), spec.description)
    return result
