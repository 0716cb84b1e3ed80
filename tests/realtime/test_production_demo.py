"""``make production-demo`` (tools/production_demo.py) starts the production shape from the files
docs/deployment.md tells the city to install, and stops it cleanly: pages over HTTPS through
nginx, a WebSocket upgrade through nginx, the sticky routing of polling clients (spread over the
processes by a routing cookie, each session on one), a killed server
process restarted while nginx routes around it, and no process left after the stop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from ..support.servers import ROOT, free_port
from .clients import SocketWatcher, _on_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SCRIPT = ROOT / "tools" / "production_demo.py"


def _admin_url() -> str:
    url = os.environ.get(
        "QS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def demo():
    """A production demo on free ports and a database of its own; stopped and dropped after."""
    run_dir = Path(tempfile.mkdtemp(prefix="qs-production-demo-"))
    database = f"qs_demo_{uuid.uuid4().hex[:8]}"
    database_url = _admin_url().rsplit("/", 1)[0] + f"/{database}"
    ports = [free_port(), free_port(), free_port()]
    env = dict(
        os.environ,
        CLOCK_START="2026-11-26T10:00",
        LOG_LEVEL="INFO",
        SCHEDULER_JOB_INTERVALS="send_mail_outbox=1",
    )
    started = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "start",
            "--detach",
            "--run-dir",
            str(run_dir),
            "--https-port",
            str(ports[0]),
            "--app-ports",
            str(ports[1]),
            str(ports[2]),
            "--database-url",
            database_url,
            "--redis-url",
            os.environ.get("QS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    state = json.loads((run_dir / "state.json").read_text())
    state["printed"] = started.stdout
    state["run_dir"] = run_dir
    try:
        yield state
    finally:
        subprocess.run(
            [sys.executable, str(SCRIPT), "stop", "--run-dir", str(run_dir)],
            capture_output=True,
            timeout=60,
            check=False,
        )
        import psycopg

        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)


def _processes(state: dict) -> list[psutil.Process]:
    """Every process the demo started: the supervisor, each child and the children's children."""
    found = []
    for pid in [state["supervisor_pid"], *state["pids"].values()]:
        try:
            process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue
        found += [process, *process.children(recursive=True)]
    return found


def _token(state: dict, username: str) -> str:
    from queue_service.auth.services import create_api_token

    url = state["database_url"].replace("postgresql://", "postgresql+psycopg://")
    return _on_database(url, lambda: create_api_token(username))


def _wait_for_metrics(app_url: str, token: str, check, timeout: float = 15) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(
            f"{app_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }
        if check(samples):
            return
        time.sleep(0.5)
    raise AssertionError(
        f"{app_url}/metrics: {sorted(k for k in samples if k[0].startswith('qs_'))}"
    )


def test_production_demo_serves_https_websockets_sticky_restarts_and_stops_clean(demo):
    base, cert = demo["url"], demo["certificate"]
    logs = Path(demo["logs"])
    assert base in demo["printed"] and "sachbearbeitung-aegi" in demo["printed"]
    # the processes are the documented ones: gunicorn per port, the scheduler, nginx
    commands = {name: " ".join(psutil.Process(pid).cmdline()) for name, pid in demo["pids"].items()}
    for port in demo["app_ports"]:
        assert "GeventWebSocketWorker" in commands[f"app-{port}"]
        assert f"127.0.0.1:{port}" in commands[f"app-{port}"]
    assert "queue-service scheduler" in commands["scheduler"]
    assert "nginx" in commands["nginx"]

    # pages over HTTPS, the certificate checked against the generated one
    for path in ("/", "/termin/", "/display/aegi", "/admin/login", "/api/v1/status", "/readyz"):
        response = requests.get(base + path, verify=cert, timeout=15)
        assert response.status_code == 200, (path, response.status_code)
    assert requests.get(base + "/metrics", verify=cert, timeout=5).status_code == 404
    # HSTS once per answer, from the application (it knows the request came over TLS from the
    # trusted proxy's X-Forwarded-Proto); the nginx site adds none, so it is never doubled
    for path in ("/", "/admin/login", "/api/v1/status"):
        hsts = requests.get(base + path, verify=cert, timeout=15).raw.headers
        assert hsts.getlist("Strict-Transport-Security") == ["max-age=31536000"], path

    # nginx keeps its connections to the processes open: 30 requests, and no process closed a
    # connection (each close leaves a TIME_WAIT socket on the process's port for a minute)
    def closed_by_processes() -> int:
        return sum(
            1
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_TIME_WAIT and c.laddr and c.laddr.port in demo["app_ports"]
        )

    before = closed_by_processes()
    for _ in range(30):
        assert requests.get(base + "/api/v1/status", verify=cert, timeout=15).status_code == 200
    assert closed_by_processes() - before <= 2

    # a WebSocket through nginx: a display receives the call a clerk makes through nginx
    headers = {"Authorization": f"Bearer {_token(demo, 'sachbearbeitung-aegi')}"}
    display = SocketWatcher(base, cafile=cert).connect()
    try:
        assert display.client.transport() == "websocket"
        assert display.call("join_office", {"office": "aegi"})["ok"]
        display.wait_for("display_state")
        issued = requests.post(
            f"{base}/api/v1/offices/aegi/tickets",
            json={"service": "PA"},
            headers=headers,
            verify=cert,
            timeout=10,
        )
        assert issued.status_code == 201, issued.text
        called = requests.post(
            f"{base}/api/v1/offices/aegi/counters/1/call-next",
            headers=headers,
            verify=cert,
            timeout=10,
        )
        assert called.status_code == 200, called.text
        assert display.wait_for("ticket_called")["number"] == issued.json()["number"]
        # any server's /metrics answers for every process (multi-process mode): the display on
        # one of them, the tickets in the database, the job runs of the scheduler process
        for app_url in demo["app_urls"]:
            _wait_for_metrics(
                app_url,
                demo["metrics"]["token"],
                lambda samples: (
                    samples.get(("qs_displays_connected", (("office", "aegi"),))) == 1
                    and samples.get(("qs_tickets_issued_total", (("office", "aegi"),))) == 1
                    and samples.get(
                        (
                            "qs_scheduler_job_runs_total",
                            (("job", "send_mail_outbox"), ("status", "succeeded")),
                        ),
                        0,
                    )
                    >= 1
                ),
            )
    finally:
        display.close()
    # nginx writes a WebSocket's access line when the connection ends, a moment after close()
    upgraded = r'"GET /socket\.io/\?[^"]*transport=websocket[^"]*" 101 '
    deadline = time.monotonic() + 15
    access = (logs / "nginx-access.log").read_text()
    while not re.search(upgraded, access) and time.monotonic() < deadline:
        time.sleep(0.2)
        access = (logs / "nginx-access.log").read_text()
    assert re.search(upgraded, access), access

    # sticky without ip_hash: every client gets a routing cookie of its own, so clients from one
    # address spread over both processes, while all requests of one polling session (and of one
    # cookie) reach one process; long-polling works only so
    def routes() -> tuple[dict[str, set], dict[str, set]]:
        access = (logs / "nginx-access.log").read_text()
        per_sid: dict[str, set] = {}
        per_cookie: dict[str, set] = {}
        for line in access.splitlines():
            found = re.search(r"sid=([\w-]+).*upstream=([\d.:]+).*route=([0-9a-f]{32})", line)
            if found and "/socket.io/" in line:
                sid, upstream, cookie = found.groups()
                per_sid.setdefault(sid, set()).add(upstream)
                per_cookie.setdefault(cookie, set()).add(upstream)
        return per_sid, per_cookie

    # each client lands on a process at random: 24 clients all on one would happen once in 8
    # million runs
    for attempt in range(24):
        client = SocketWatcher(base, cafile=cert).connect(transports=("polling",))
        try:
            assert client.client.transport() == "polling"
            for _ in range(3):
                assert client.call("join_office", {"office": "aegi"})["ok"]
        finally:
            client.close()
        per_sid, per_cookie = routes()
        if attempt >= 5 and len(set().union(*per_sid.values())) == 2:
            break
    assert len(per_sid) >= 6 and len(per_cookie) == len(per_sid)
    assert all(len(upstreams) == 1 for upstreams in per_sid.values())
    assert all(len(upstreams) == 1 for upstreams in per_cookie.values())
    assert set().union(*per_sid.values()) == {f"127.0.0.1:{port}" for port in demo["app_ports"]}
    access = (logs / "nginx-access.log").read_text()

    # a server process killed: nginx routes around it and the supervisor restarts it
    served_by = re.findall(r"upstream=127\.0\.0\.1:(\d+)", access)[-1]
    victim = psutil.Process(demo["pids"][f"app-{served_by}"])
    for process in [*victim.children(recursive=True), victim]:
        process.kill()
    for _ in range(5):
        assert requests.get(base + "/api/v1/offices", verify=cert, timeout=15).status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = json.loads((demo["run_dir"] / "state.json").read_text())
        if state["restarts"][f"app-{served_by}"] == 1:
            break
        time.sleep(0.3)
    assert state["restarts"][f"app-{served_by}"] == 1
    restarted = state["pids"][f"app-{served_by}"]
    assert restarted != victim.pid
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{served_by}/healthz", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.3)
    assert requests.get(f"http://127.0.0.1:{served_by}/healthz", timeout=5).ok

    # a clean stop: nothing it started is left, and its ports are free again
    everything = _processes(state)
    assert len(everything) >= 8  # supervisor, 2 gunicorn masters + workers, scheduler, nginx x2
    stopped = subprocess.run(
        [sys.executable, str(SCRIPT), "stop", "--run-dir", str(demo["run_dir"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert stopped.returncode == 0, stopped.stderr
    time.sleep(0.5)
    left = [p for p in everything if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []
    assert json.loads((demo["run_dir"] / "state.json").read_text())["status"] == "stopped"
    for port in [demo["https_port"], *demo["app_ports"]]:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    for name in ("app", "scheduler"):
        for log_file in logs.glob(f"{name}*.log"):
            assert "Traceback" not in log_file.read_text(), log_file
