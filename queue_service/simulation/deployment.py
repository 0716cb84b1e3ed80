"""The deployment a simulation runs against: one it starts itself (SQLite, one gevent process,
the clock compressed) or a running one found at ``--url`` (its clock read from the API)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import clock as app_clock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OwnDeployment:
    url: str
    token: str
    database_url: str
    process: subprocess.Popen
    log_path: Path
    anchor: float

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        _terminate(self.process)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Prepared:
    env: dict
    token: str
    database_url: str
    workdir: Path


def prepare_own(workdir: Path, catalogue: Path, scheduler_seconds: int = 2) -> Prepared:
    """A fresh SQLite file, migrated, with the catalogue and a staff token."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{workdir / 'simulation.sqlite3'}"
    env = dict(os.environ)
    for name in ("CLOCK_START", "CLOCK_SPEED", "CLOCK_ANCHOR", "REDIS_URL"):
        env.pop(name, None)
    env.update(
        {
            "HOST": "127.0.0.1",
            "SECRET_KEY": secrets.token_hex(32),
            "INSTANCE_PATH": str(workdir / "instance"),
            "DATABASE_URL": database_url,
            "SOCKETIO_ASYNC_MODE": "gevent",
            "LOG_LEVEL": "WARNING",
            "MAIL_BACKEND": "folder",
            "MAIL_FOLDER": str(workdir / "mail"),
            # jobs fire on the machine's time: in compressed time they must fire as often
            "SCHEDULER_JOB_INTERVALS": ",".join(
                f"{name}={scheduler_seconds}"
                for name in ("mark_appointment_no_shows", "expire_booking_holds")
            ),
        }
    )
    token = _set_up_database(database_url, catalogue)
    return Prepared(env, token, database_url, workdir)


def _set_up_database(database_url: str, catalogue: Path) -> str:
    """Migrate, load the catalogue, create an admin and its API token (in this process: the
    same as ``db upgrade``, ``load-catalogue``, ``create-user`` and ``create-token``)."""
    from .. import create_app
    from ..auth.services import create_api_token, create_user
    from ..db import upgrade_database
    from ..extensions import db
    from ..offices.catalogue import load_catalogue_file

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "setup", "LOG_LEVEL": "WARNING"}
    )
    with app.app_context():
        upgrade_database()
        load_catalogue_file(catalogue)
        create_user("simulation", "admin", [])
        token = create_api_token("simulation", "simulation")
        db.session.remove()
        db.engine.dispose()
    return token


def serve_own(
    prepared: Prepared,
    clock_start: str,
    speed: float,
    startup_allowance: float = 8.0,
    timeout: float = 60,
) -> OwnDeployment:
    """Serve the prepared database (gevent, as deployed) with the clock starting at
    ``clock_start`` and running ``speed`` times as fast. The clock reads ``clock_start``
    ``startup_allowance`` seconds from now (the server is up by then; until then it shows
    earlier moments and nobody asks it)."""
    return serve_own_processes(prepared, clock_start, speed, startup_allowance, timeout)[0]


def serve_own_processes(
    prepared: Prepared,
    clock_start: str,
    speed: float,
    startup_allowance: float = 8.0,
    timeout: float = 60,
    count: int = 1,
    mail_by_scheduler: bool = False,
) -> list[OwnDeployment]:
    """``serve_own`` with ``count`` server processes on the same SQLite file and the same clock,
    started together (writes are serialised by SQLite's ``BEGIN IMMEDIATE``, as for any two
    processes). No Redis: a socket event reaches only the clients of the process that sent it,
    so this is for HTTP-only work (booking ahead); the first runs the scheduled jobs, or with
    ``mail_by_scheduler`` none does and ``start_scheduler`` runs them and sends the mail."""
    anchor = time.time() + startup_allowance
    launched = []
    for index in range(count):
        env = _clocked(prepared, clock_start, speed, anchor, mail_by_scheduler)
        port = free_port()
        env["PORT"] = str(port)
        if index or mail_by_scheduler:
            env["SCHEDULER_ENABLED"] = "0"  # jobs run once per deployment
        log_path = prepared.workdir / f"server-{port}.log"
        process = _launch("serve", env, log_path)
        launched.append(
            OwnDeployment(
                f"http://127.0.0.1:{port}",
                prepared.token,
                prepared.database_url,
                process,
                log_path,
                anchor,
            )
        )
    deadline = time.monotonic() + timeout
    try:
        for own in launched:
            _wait_until_up(own, deadline)
    except BaseException:
        for own in launched:
            own.stop()
        raise
    return launched


def _clocked(
    prepared: Prepared, clock_start: str, speed: float, anchor: float, mail_by_scheduler: bool
) -> dict:
    env = dict(prepared.env)
    env.update(
        {"CLOCK_START": clock_start, "CLOCK_SPEED": str(speed), "CLOCK_ANCHOR": f"{anchor:.6f}"}
    )
    if mail_by_scheduler:
        env["MAIL_SENT_BY"] = "scheduler"
    return env


@dataclass
class SchedulerProcess:
    """``queue-service scheduler`` beside the servers, as the scaled profile runs it: the jobs,
    and the mail the servers only wrote into the outbox (MAIL_SENT_BY=scheduler)."""

    process: subprocess.Popen
    database_url: str

    def drain_and_stop(self, timeout: float = 60) -> int:
        """Waits until every mail is out (at most ``timeout`` s), stops; the mails left."""
        deadline = time.monotonic() + timeout
        while (left := mail_pending(self.database_url)) and time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        return left

    def stop(self) -> None:
        _terminate(self.process)


def mail_pending(database_url: str) -> int:
    """Mails in the own deployment's outbox not yet sent (nor given up)."""
    import sqlite3

    path = database_url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        (pending,) = conn.execute(
            "SELECT count(*) FROM outbox_mails WHERE status = 'pending'"
        ).fetchone()
    return pending


def start_scheduler(
    prepared: Prepared, server: OwnDeployment, clock_start: str, speed: float
) -> SchedulerProcess:
    """The scheduler process for servers started with ``mail_by_scheduler`` (same clock)."""
    env = _clocked(prepared, clock_start, speed, server.anchor, True)
    process = _launch("scheduler", env, prepared.workdir / "scheduler.log")
    return SchedulerProcess(process, prepared.database_url)


def _launch(command: str, env: dict, log_path: Path) -> subprocess.Popen:
    """``queue-service <command>`` in a process of its own, its output in ``log_path``."""
    with log_path.open("w") as log:
        return subprocess.Popen(  # noqa: S603  (our own command, not input)
            [sys.executable, "-m", "queue_service", command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_until_up(own: OwnDeployment, deadline: float) -> None:
    while time.monotonic() < deadline:
        if own.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{own.log_path.read_text()}")
        try:
            with urllib.request.urlopen(own.url + "/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not come up on {own.url}:\n{own.log_path.read_text()}")


def _server_time(url: str, office: str, verify_tls: bool) -> tuple[datetime, str, float]:
    context = None
    if url.startswith("https") and not verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    before = time.time()
    with urllib.request.urlopen(  # noqa: S310  (the deployment's http(s) base URL)
        f"{url}/api/v1/offices/{office}/display-state", timeout=10, context=context
    ) as response:
        state = json.load(response)
    after = time.time()
    return (
        datetime.fromisoformat(state["server_time"]),
        state["business_date"],
        (before + after) / 2,
    )


def read_server_clock(
    url: str, office: str, verify_tls: bool = True
) -> tuple[datetime, float, float, str]:
    """(server moment, the real time it was read at, the clock's speed, business date), from
    two readings of ``display-state`` a second apart."""
    first, _, real_first = _server_time(url, office, verify_tls)
    time.sleep(1.0)
    second, day, real_second = _server_time(url, office, verify_tls)
    speed = (second - first).total_seconds() / max(real_second - real_first, 1e-3)
    if speed > 10:
        speed = round(speed)
    return second.astimezone(UTC), real_second, max(speed, 1.0), day


def local_minute(moment: datetime) -> float:
    local = app_clock.to_local(moment)
    return local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
