"""Private Redis and PostgreSQL servers on free ports, for fault tests that stop and restart them
(never the shared ones other tests use). Each is stopped by its own pid afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from .servers import free_port

PG_BIN = Path(os.environ.get("QS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _unavailable(what: str) -> None:
    from ..conftest import unavailable

    unavailable(what)


class PrivateRedis:
    def __init__(self, workdir):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _unavailable("redis-server")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


class PrivatePostgres:
    """initdb in a temporary directory, run as the postgres user on a free port (trust auth)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
            _unavailable(f"PostgreSQL binaries in {PG_BIN} and runuser")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="qs-private-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            timeout=120,
        )

    def _as_postgres(self, args: list[str], timeout: float = 60) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def _pg_ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options]
            + list(args),
            timeout=60,
        )

    def start(self) -> None:
        self._pg_ctl("-w", "-t", "50", "start")

    def stop(self) -> None:
        self._pg_ctl("-w", "-t", "50", "-m", "fast", "stop")

    def pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return None
        return int(pidfile.read_text().split("\n", 1)[0])

    def destroy(self) -> None:
        """Stop the server (by its pid, if pg_ctl cannot) and remove its directory."""
        pid = self.pid()
        if pid is not None:
            try:
                self.stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
