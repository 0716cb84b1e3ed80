"""Start the real server (``queue-service serve``) in a subprocess on a free port."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
DEMO_COMMANDS = (
    ["db", "upgrade"],
    ["load-catalogue", str(ROOT / "queue_service/offices/data/hannover.yaml")],
)
_demo_template: Path | None = None  # per test process (each xdist worker has its own)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    base_url: str
    process: subprocess.Popen
    env: dict
    log_path: Path
    port: int
    extra: dict = field(default_factory=dict)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def run_cli(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "queue_service", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_in_process(args: list[str], env: dict) -> subprocess.CompletedProcess:
    """A ``queue-service`` command run in this process, with ``env`` as its environment.

    For tests whose subject is not the command-line process itself (creating the user a browser
    test signs in with, tokens, listings): an interpreter start costs 2-25 s on a loaded 2-core
    machine. ``run_cli`` stays the way to test the real process (exit codes, gevent, ``-m``)."""
    from click.testing import CliRunner

    from queue_service.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, args, env=dict(env), catch_exceptions=False)
    code = result.exit_code if isinstance(result.exit_code, int) else 1
    return subprocess.CompletedProcess(args, code, result.stdout, result.stderr)


def demo_sqlite_in_process(env: dict, path: Path) -> str:
    """A migrated SQLite database with the demo catalogue at ``path``; its URL. Made by the demo's
    commands run in this process (``cli_in_process``, about 4 s): for tests about other commands,
    without the two interpreter starts of the servers' template (``make test-fast`` starts none)."""
    url = f"sqlite:///{path}"
    _prepare_by_cli({**env, "DATABASE_URL": url}, run=cli_in_process)
    return url


def copy_of_demo_sqlite(path: Path) -> str:
    """A copy of the servers' demo template at ``path`` (a test that restarts a server on its own
    file); its URL."""
    shutil.copyfile(_demo_sqlite(dict(os.environ)), path)
    return f"sqlite:///{path}"


def _prepare_by_cli(env: dict, run=run_cli) -> None:
    """Migrate and load the demo catalogue as ``make demo`` does: through the CLI."""
    for args in DEMO_COMMANDS:
        result = run(args, env)
        if result.returncode != 0:
            raise RuntimeError(f"{args} failed: {result.stderr}")


def _demo_sqlite(env: dict) -> Path:
    """A SQLite file prepared by the CLI once per test process; each server gets a copy.

    Migrating and loading the catalogue costs two interpreter starts (5-25 s on a loaded
    2-core machine) and gives the same file every time: neither depends on the clock or
    on the settings a test passes."""
    global _demo_template
    if _demo_template is None:
        folder = Path(tempfile.mkdtemp(prefix="qs-demo-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "demo.sqlite3"
        _prepare_by_cli({**env, "DATABASE_URL": f"sqlite:///{template}"})
        assert not Path(f"{template}-wal").exists(), "the CLI left a write-ahead log behind"
        _demo_template = template
    return _demo_template


def start_server(
    workdir: Path,
    database_url: str | None = None,
    env: dict | None = None,
    load_demo: bool = True,
    port: int | None = None,
    timeout: float = 60,  # an interpreter start takes 2-25 s on a loaded 2-core machine
    command: list[str] | None = None,
) -> ServerProcess:
    port = port or free_port()
    own_file = workdir / f"live-{port}.sqlite3"
    full_env = dict(os.environ)
    full_env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "SECRET_KEY": "live-test-secret",
            "LOG_LEVEL": "WARNING",
            # served as make demo and production serve (docs/deployment.md); a test may ask for threading
            "SOCKETIO_ASYNC_MODE": "gevent",
            "DATABASE_URL": database_url or f"sqlite:///{own_file}",
            # PostgreSQL: at most 10 connections per served process instead of 30, so that three
            # xdist workers' servers stay under the server's default max_connections of 100
            "DATABASE_POOL_SIZE": "3",
            "DATABASE_MAX_OVERFLOW": "7",
        }
    )
    full_env.update(env or {})
    for name in [name for name, value in full_env.items() if value is None]:
        del full_env[name]  # None: not set at all
    if load_demo and full_env["DATABASE_URL"] == f"sqlite:///{own_file}":
        shutil.copyfile(_demo_sqlite(full_env), own_file)
    elif load_demo:
        _prepare_by_cli(full_env)
    log_path = workdir / f"server-{port}.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [arg.format(port=port, python=sys.executable) for arg in command]
        if command
        else [sys.executable, "-m", "queue_service", "serve"],
        env=full_env,
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if requests.get(base_url + "/healthz", timeout=1).status_code == 200:
                return ServerProcess(base_url, process, full_env, log_path, port)
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not come up on {base_url}:\n{log_path.read_text()}")
