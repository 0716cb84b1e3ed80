"""Exactly one scheduler per deployment, with real processes.

Scaled profile: two `queue-service scheduler` processes against PostgreSQL; the second stands by
(advisory lock) and takes over when the first is killed. Embedded profile: `queue-service serve`
on SQLite runs the jobs itself, and a `scheduler` process started next to it stands by.
The expiry job is set to fire every second (SCHEDULER_JOB_INTERVALS) so the test is quick.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from ..support.servers import ROOT, run_cli

FAST = {
    "SCHEDULER_JOB_INTERVALS": "expire_office_messages=1",
    "SCHEDULER_LOCK_RETRY_SECONDS": "0.3",
}


def _env(database_url: str) -> dict:
    return dict(
        os.environ, DATABASE_URL=database_url, SECRET_KEY="scheduler-test", LOG_LEVEL="INFO", **FAST
    )


def _start_scheduler(env: dict, log_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "queue_service", "scheduler"],
        env=env,
        cwd=ROOT,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


def _runs(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT scheduled_for, runner, status FROM job_runs WHERE job = 'expire_office_messages' ORDER BY scheduled_for"
                )
            )
        ]


def _wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def _pid(runner: str) -> int:
    return int(runner.rsplit(":", 1)[1])


@pytest.mark.postgres
@pytest.mark.slow
def test_two_scheduler_processes_run_each_occurrence_once_and_the_second_takes_over(
    pg_empty_database_url, tmp_path
):
    env = _env(pg_empty_database_url)
    assert run_cli(["db", "upgrade"], env).returncode == 0
    engine = create_engine(pg_empty_database_url)
    processes = {}
    try:
        for name in ("a", "b"):
            process = _start_scheduler(env, tmp_path / f"{name}.log")
            processes[process.pid] = (process, tmp_path / f"{name}.log")
        first_runs = _wait_for(lambda: _runs(engine))
        active_pid = _pid(first_runs[0][1])
        ((active, _),) = [v for pid, v in processes.items() if pid == active_pid]
        ((standby, standby_log),) = [v for pid, v in processes.items() if pid != active_pid]
        _wait_for(lambda: "standing by" in standby_log.read_text())
        time.sleep(2)
        assert {_pid(runner) for _, runner, _ in _runs(engine)} == {
            active.pid
        }  # the standby did nothing
        active.send_signal(signal.SIGKILL)  # no clean shutdown: PostgreSQL drops its lock
        active.wait(timeout=10)
        _wait_for(lambda: [r for r in _runs(engine) if _pid(r[1]) == standby.pid])
        time.sleep(1.2)
        runs = _runs(engine)
        times = [scheduled_for for scheduled_for, _, _ in runs]
        assert len(times) == len(set(times)), "an occurrence ran twice"
        assert all(b - a >= timedelta(seconds=1) for a, b in zip(times, times[1:], strict=False))
        owners = [_pid(runner) for _, runner, _ in runs]
        assert owners == sorted(
            owners, key=lambda pid: pid == standby.pid
        )  # first one, then the other
        assert owners.count(active.pid) >= 3 and owners.count(standby.pid) >= 1
        assert all(
            status == "succeeded" for _, runner, status in runs if _pid(runner) == standby.pid
        )
        # a clean stop releases the lock
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=15) == 0
        with engine.connect() as conn:
            assert (
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar()
                == 0
            )
    finally:
        for process, _log in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        engine.dispose()


@pytest.mark.slow
def test_the_server_runs_the_jobs_itself_on_sqlite_and_a_second_scheduler_stands_by(
    live_server, tmp_path
):
    database = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    assert run_cli(["db", "upgrade"], _env(database)).returncode == 0
    server = live_server(database_url=database, env={**FAST, "LOG_LEVEL": "INFO"}, load_demo=False)
    engine = create_engine(database)
    extra = _start_scheduler(server.env, tmp_path / "extra.log")
    try:
        runs = _wait_for(lambda: len(_runs(engine)) >= 2 and _runs(engine))
        assert {_pid(runner) for _, runner, _ in runs} == {server.process.pid}
        _wait_for(lambda: "standing by" in (tmp_path / "extra.log").read_text())
        time.sleep(1.5)
        assert {_pid(runner) for _, runner, _ in _runs(engine)} == {server.process.pid}
        assert "Scheduler: embedded in this process" in server.log()
    finally:
        extra.send_signal(signal.SIGTERM)
        extra.wait(timeout=15)
        engine.dispose()
