"""Each occurrence of a job runs once, even when two schedulers reach it at the same moment."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.db import unit_of_work
from queue_service.extensions import db
from queue_service.scheduler import runtime
from queue_service.scheduler.models import JobRun, RunStatus
from queue_service.scheduler.registry import every, register_job, unregister_job
from queue_service.scheduler.runner import purge_old_runs, run_occurrence

OCCURRENCE = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)


@pytest.fixture
def test_jobs():
    calls: list[datetime] = []

    def slow(scheduled_for):
        calls.append(scheduled_for)
        time.sleep(0.3)
        return {"seen": len(calls)}

    def broken(scheduled_for):
        raise ValueError("the mail server said no")

    register_job("test_slow", slow, every(minutes=10))
    register_job("test_broken", broken, every(minutes=10))
    yield calls
    unregister_job("test_slow")
    unregister_job("test_broken")


def test_two_schedulers_racing_for_one_occurrence_run_it_once(app, test_jobs):
    results = []
    barrier = threading.Barrier(2)

    def scheduler_thread():
        with app.app_context():
            barrier.wait()
            results.append(run_occurrence("test_slow", OCCURRENCE))

    threads = [threading.Thread(target=scheduler_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2 and set(results) == {RunStatus.SUCCEEDED, None}
    assert test_jobs == [OCCURRENCE]
    run = db.session.scalars(select(JobRun).where(JobRun.job == "test_slow")).one()
    assert (
        run.status == RunStatus.SUCCEEDED
        and run.summary == {"seen": 1}
        and run.finished_at >= run.started_at
    )


def test_a_failed_run_is_recorded_and_old_runs_are_purged(app, test_jobs):
    assert run_occurrence("test_broken", OCCURRENCE) == RunStatus.FAILED
    run = db.session.scalars(select(JobRun).where(JobRun.job == "test_broken")).one()
    assert run.status == RunStatus.FAILED and "the mail server said no" in run.error
    # a run whose process died stays "running" until the purge marks it abandoned
    with unit_of_work() as session:
        session.add(
            JobRun(
                job="test_slow",
                scheduled_for=OCCURRENCE,
                started_at=OCCURRENCE,
                status=RunStatus.RUNNING,
                runner="gone:1",
            )
        )
    assert purge_old_runs(OCCURRENCE + timedelta(hours=7)) == {"deleted": 0, "abandoned": 1}
    assert purge_old_runs(OCCURRENCE + timedelta(days=31)) == {"deleted": 2, "abandoned": 0}


def test_the_scheduler_hands_each_occurrence_time_to_its_job(sqlite_app):
    """A real BackgroundScheduler (one-second interval): each run is claimed under its own time."""
    sqlite_app.config["SCHEDULER_JOB_INTERVALS"] = "expire_office_messages=1"
    assert runtime.start_embedded(sqlite_app) is None  # never inside tests (TESTING)
    scheduler = runtime.build_scheduler(sqlite_app)
    clock.reset()
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            db.session.rollback()
            # this job's runs only: a job due every minute may run at the same second
            runs = db.session.scalars(
                select(JobRun).where(
                    JobRun.job == "expire_office_messages", JobRun.status == RunStatus.SUCCEEDED
                )
            ).all()
            if len(runs) >= 2:
                break
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    assert len(runs) >= 2
    times = sorted(r.scheduled_for for r in runs)
    assert all(t.microsecond == 0 for t in times) and len(set(times)) == len(times)
    assert all(r.summary == {"expired": 0} and r.job == "expire_office_messages" for r in runs)
