"""The production demo on private services, for the benchmarks that need the production shape
(faults.py, load.py): a private redis-server and a private PostgreSQL cluster on free ports (the
shared ones on 6379 and 5432 are never stopped or used), ``tools/production_demo.py`` against
them, and an API token. Everything is started and stopped by pid, every wait is bounded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import free_port  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RESULTS = ROOT / "benchmarks" / "results"
CLI = str(Path(sys.executable).parent / "queue-service")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(check, timeout: float, step: float = 0.1) -> float | None:
    """Seconds until ``check()`` is true, or None after ``timeout``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if check():
                return time.monotonic() - began
        except Exception:
            pass
        time.sleep(step)
    return None


# ------------------------------------------------------------------ private Redis and PostgreSQL


class PrivateRedis:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
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
            stdout=(self.workdir / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        if wait_until(self.ping, 10) is None:
            raise RuntimeError("private redis-server did not start")

    def ping(self) -> bool:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, timeout=2
        )
        return out.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class PrivatePostgres:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.data = workdir / "pgdata"
        self.log = workdir / "postgres.log"
        self.data.mkdir(parents=True)
        shutil.chown(workdir, "postgres")
        shutil.chown(self.data, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/buergerservice_demo"

    def _pg(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def init(self) -> None:
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    def start(self) -> None:
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1",
            "start",
        )

    def restart(self) -> None:
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            "fast",
            "-w",
            "-t",
            "180",
            # a log file of its own: without one the new postmaster writes to our pipe and dies
            # when it is closed
            "-l",
            str(self.log),
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1",
            "restart",
            timeout=240,
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


# ------------------------------------------------------------------ the production demo


class Demo:
    def __init__(self, workdir: Path, database_url: str, redis_url: str):
        self.run_dir = workdir / "demo"
        self.database_url, self.redis_url = database_url, redis_url
        self.https_port = free_port()
        self.app_ports = [free_port(), free_port()]
        self.supervisor: subprocess.Popen | None = None

    def start(self, env: dict, keep: bool) -> float:
        began = time.monotonic()
        args = [
            sys.executable,
            str(ROOT / "tools" / "production_demo.py"),
            "start",
            "--detach",
            "--run-dir",
            str(self.run_dir),
            "--https-port",
            str(self.https_port),
            "--app-ports",
            *map(str, self.app_ports),
            "--database-url",
            self.database_url,
            "--redis-url",
            self.redis_url,
            "--timeout",
            "180",
        ]
        if keep:
            args.append("--keep-database")
        out = subprocess.run(
            args, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        if out.returncode != 0:
            raise RuntimeError(f"production demo did not start:\n{out.stdout}\n{out.stderr}")
        return time.monotonic() - began

    @property
    def state(self) -> dict:
        return json.loads((self.run_dir / "state.json").read_text())

    def stop(self) -> None:
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "production_demo.py"),
                "stop",
                "--run-dir",
                str(self.run_dir),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, path: str) -> bool:
        return requests.get(self.state["url"] + path, timeout=2, verify=False).status_code == 200


def create_token(database_url: str) -> str:
    out = subprocess.run(
        [CLI, "create-token", "admin", "--label", "simulation"],
        env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]
