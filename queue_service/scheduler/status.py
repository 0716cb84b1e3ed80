"""What the admin page "Geplante Aufgaben" shows: jobs, next run, last runs, who runs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app

from .. import clock
from . import runner
from .models import JobRun
from .registry import DailyTrigger, JobSpec, registered_jobs, with_interval_overrides
from .runtime import embedded, scheduler_enabled


@dataclass(frozen=True)
class JobStatus:
    name: str
    description: object
    schedule: tuple[str, object]  # ("daily", "04:15") | ("interval", seconds) | ("other", text)
    next_run: datetime | None
    last_runs: list[JobRun]


@dataclass(frozen=True)
class Overview:
    jobs: list[JobStatus]
    in_this_process: str  # "active", "standby" or "not_here"
    embedded_enabled: bool
    latest_run: JobRun | None


def describe(spec: JobSpec) -> tuple[str, object]:
    trigger = spec.trigger
    if isinstance(trigger, DailyTrigger):
        return ("daily", f"{trigger.at:%H:%M}")
    if isinstance(trigger, IntervalTrigger):
        return ("interval", int(trigger.interval.total_seconds()))
    return ("other", str(trigger))


def overview(now: datetime | None = None) -> Overview:
    now = now or clock.real_now()  # the scheduler fires on machine time
    jobs = with_interval_overrides(
        registered_jobs(), current_app.config.get("SCHEDULER_JOB_INTERVALS")
    )
    statuses = [
        JobStatus(
            spec.name,
            spec.description,
            describe(spec),
            spec.next_run(now),
            runner.last_runs(spec.name),
        )
        for spec in sorted(jobs.values(), key=lambda s: s.name)
    ]
    here = embedded()
    state = "not_here" if here is None else ("active" if here.active else "standby")
    return Overview(statuses, state, scheduler_enabled(current_app), runner.latest_run())
