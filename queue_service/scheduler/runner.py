"""Running one occurrence of a job, exactly once across every scheduler process.

JobRun times are machine time (clock.real_now), the time APScheduler fires on; the jobs
themselves work with the application clock (clock.now), which CLOCK_START may shift.

Before any work the runner INSERTs a JobRun row keyed by (job, scheduled_for) in its own
transaction. A second scheduler (split brain, a takeover during a run) fails on the UNIQUE
constraint and skips. The row then records finish, status, error and the job's summary.
A failed occurrence is not retried: the next occurrence runs as usual.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..db import unit_of_work
from ..extensions import db
from ..monitoring import metrics
from .models import JobRun, RunStatus
from .registry import get_job

log = logging.getLogger(__name__)

JOB_RUN_RETENTION_DAYS = 30
ABANDONED_AFTER = timedelta(hours=6)


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def claim(job: str, scheduled_for: datetime) -> int | None:
    """Insert the JobRun row for this occurrence; None if another process already has it."""
    try:
        with unit_of_work() as session:
            run = JobRun(
                job=job,
                scheduled_for=scheduled_for,
                started_at=clock.real_now(),
                status=RunStatus.RUNNING,
                runner=runner_id(),
            )
            session.add(run)
            session.flush()
            run_id = run.id
    except IntegrityError:
        return None
    return run_id


def _finish(
    run_id: int, status: RunStatus, *, summary: dict | None = None, error: str | None = None
) -> None:
    with unit_of_work() as session:
        run = session.get(JobRun, run_id)
        run.status, run.finished_at = status, clock.real_now()
        run.summary, run.error = summary, error


def run_occurrence(name: str, scheduled_for: datetime) -> RunStatus | None:
    """Claim and run one occurrence (inside an app context); None if it was already claimed."""
    spec = get_job(name)
    run_id = claim(name, scheduled_for)
    if run_id is None:
        log.info("job %s for %s already ran elsewhere; skipped", name, scheduled_for.isoformat())
        return None
    try:
        summary = spec.func(scheduled_for)
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s for %s failed", name, scheduled_for.isoformat())
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        _finish(run_id, RunStatus.FAILED, error=detail[:2000])
        metrics.count_job_run(name, RunStatus.FAILED.value)
        return RunStatus.FAILED
    _finish(run_id, RunStatus.SUCCEEDED, summary=dict(summary or {}))
    metrics.count_job_run(name, RunStatus.SUCCEEDED.value)
    return RunStatus.SUCCEEDED


def last_runs(job: str, limit: int = 5) -> list[JobRun]:
    return list(
        db.session.scalars(
            select(JobRun)
            .where(JobRun.job == job)
            .order_by(JobRun.scheduled_for.desc())
            .limit(limit)
        )
    )


def latest_run() -> JobRun | None:
    return db.session.scalar(select(JobRun).order_by(JobRun.started_at.desc()).limit(1))


def purge_old_runs(now: datetime) -> dict:
    """Drop runs older than the retention; mark runs whose process died as abandoned."""
    with unit_of_work() as session:
        abandoned = session.execute(
            update(JobRun)
            .where(JobRun.status == RunStatus.RUNNING, JobRun.started_at < now - ABANDONED_AFTER)
            .values(status=RunStatus.ABANDONED, finished_at=now)
        ).rowcount
        deleted = session.execute(
            delete(JobRun).where(
                JobRun.scheduled_for < now - timedelta(days=JOB_RUN_RETENTION_DAYS)
            )
        ).rowcount
    return {"deleted": deleted, "abandoned": abandoned}


def _figures() -> list[Metric]:
    """When each job last finished successfully, in /metrics."""
    last = GaugeMetricFamily(
        "qs_scheduler_job_last_success_timestamp_seconds",
        "When each job last finished successfully (Unix time)",
        labels=["job"],
    )
    for job, finished in db.session.execute(
        select(JobRun.job, func.max(JobRun.finished_at))
        .where(JobRun.status == RunStatus.SUCCEEDED)
        .group_by(JobRun.job)
    ).all():
        if finished is not None:
            if finished.tzinfo is None:
                finished = finished.replace(tzinfo=UTC)
            last.add_metric([job], finished.timestamp())
    return [last]


metrics.register_database_figures("scheduler_jobs", _figures)
