"""Starting the scheduler: embedded in ``serve`` (SQLite profile) or as the dedicated
``queue-service scheduler`` process (PostgreSQL profile). Either way it only runs while it holds
the deployment's scheduler lock; without the lock it stands by and retries.
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..notify import outbox
from .locks import SchedulerLock, lock_for
from .registry import TIMEZONE, registered_jobs, with_interval_overrides
from .runner import run_occurrence

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}


class _Occurrence:
    """The parts of an APScheduler Job that ``run_job`` reads, plus the scheduled time."""

    def __init__(self, job, run_time):
        self._job = job
        self.id = job.id
        self._jobstore_alias = job._jobstore_alias
        self.misfire_grace_time = job.misfire_grace_time
        self.func = job.func
        self.args = job.args
        self.kwargs = {**job.kwargs, "scheduled_for": run_time}

    def __str__(self) -> str:
        return str(self._job)


class OccurrenceExecutor(ThreadPoolExecutor):
    """Passes each run's scheduled time to the job, the key under which it is claimed.

    Jobs coalesce, so a submission carries one run time (the latest).
    """

    def _do_submit_job(self, job, run_times):
        run_time = run_times[-1]
        super()._do_submit_job(_Occurrence(job, run_time), [run_time])


def _fire(app: Flask, name: str, scheduled_for=None) -> None:
    if scheduled_for is None:  # APScheduler must run jobs through OccurrenceExecutor
        raise RuntimeError(f"job {name} was started without its scheduled time")
    with app.app_context():
        run_occurrence(name, scheduled_for)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """An APScheduler with every registered job (not started)."""
    scheduler = BackgroundScheduler(
        timezone=TIMEZONE,
        executors={"default": OccurrenceExecutor(max_workers=4)},
        job_defaults=dict(JOB_DEFAULTS),
    )
    jobs = with_interval_overrides(registered_jobs(), app.config.get("SCHEDULER_JOB_INTERVALS"))
    for spec in jobs.values():
        scheduler.add_job(
            partial(_fire, app, spec.name),
            trigger=spec.trigger,
            id=spec.name,
            name=spec.name,
            replace_existing=True,
        )
    return scheduler


class MailSender:
    """The scheduler's mail sender (MAIL_SENT_BY "scheduler"): composes and sends what the
    server processes wrote into the outbox, every MAIL_SENDER_POLL_SECONDS and again at once
    after a full batch. Claims per row keep it from sending what another sender has."""

    BATCH = 100

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mail-outbox-sender", daemon=True)

    def start(self) -> MailSender:
        self.thread.start()
        return self

    def _run(self) -> None:
        poll = float(self.app.config.get("MAIL_SENDER_POLL_SECONDS") or 1)
        while not self.stop_event.is_set():
            sent = 0
            try:
                with self.app.app_context():
                    sent = len(outbox.send_due(limit=self.BATCH))
            except Exception:  # the database away for a moment: try again after the wait
                log.exception("the mail sender could not read the outbox")
            if sent < self.BATCH:
                self.stop_event.wait(poll)

    def stop(self, wait: bool) -> None:
        self.stop_event.set()
        if wait:
            self.thread.join(30)


class GuardedScheduler:
    """Runs the scheduler while holding the lock; stands by and retries while another has it."""

    def __init__(self, app: Flask, lock: SchedulerLock, retry_seconds: float = 10.0):
        self.app = app
        self.lock = lock
        self.retry_seconds = retry_seconds
        self.active = False
        self.stop_event = threading.Event()

    def run(self) -> None:
        announced_standby = False
        try:
            while not self.stop_event.is_set():
                if not self.lock.try_acquire():
                    if not announced_standby:
                        log.info(
                            "another scheduler is active (%s); standing by", self.lock.description
                        )
                        announced_standby = True
                    self.stop_event.wait(self.retry_seconds)
                    continue
                announced_standby = False
                self._run_while_locked()
        finally:
            self.lock.release()

    def _run_while_locked(self) -> None:
        scheduler = build_scheduler(self.app)
        scheduler.start()
        with self.app.app_context():
            by_scheduler = outbox.sent_by_scheduler()
        sender = MailSender(self.app).start() if by_scheduler else None
        self.active = True
        log.info(
            "scheduler active (%s): %s",
            self.lock.description,
            ", ".join(j.id for j in scheduler.get_jobs()),
        )
        try:
            while not self.stop_event.wait(self.retry_seconds):
                if not self.lock.still_held():
                    log.error("lost the scheduler lock; stopping the jobs and standing by")
                    break
        finally:
            self.active = False
            # on a normal stop let running jobs finish; after losing the lock do not wait
            if sender is not None:
                sender.stop(wait=self.stop_event.is_set())
            scheduler.shutdown(wait=self.stop_event.is_set())
            self.lock.release()

    def stop(self) -> None:
        self.stop_event.set()


_embedded: GuardedScheduler | None = None


def embedded() -> GuardedScheduler | None:
    """The scheduler of this process, if it was started here."""
    return _embedded


def scheduler_enabled(app: Flask) -> bool:
    """SCHEDULER_ENABLED, by default on for SQLite (embedded profile); never in tests."""
    if app.config.get("TESTING"):
        return False
    setting = app.config.get("SCHEDULER_ENABLED")
    if setting is None:
        return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    return bool(setting)


def guarded(app: Flask) -> GuardedScheduler:
    return GuardedScheduler(
        app,
        lock_for(app.config["SQLALCHEMY_DATABASE_URI"]),
        float(app.config.get("SCHEDULER_LOCK_RETRY_SECONDS") or 10),
    )


def start_embedded(app: Flask) -> GuardedScheduler | None:
    """Start the scheduler in a background thread of this server process, if enabled."""
    global _embedded
    if not scheduler_enabled(app) or _embedded is not None:
        return _embedded
    _embedded = guarded(app)
    threading.Thread(target=_embedded.run, name="scheduler", daemon=True).start()
    return _embedded
