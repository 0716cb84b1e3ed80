"""What the benchmark scripts share: percentiles, throw-away PostgreSQL databases, a prepared
server database (catalogue without daily caps, an admin token, kiosk devices) and readings of a
server process (RSS, CPU time) from /proc."""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port, run_cli  # noqa: E402
from tests.support.servers import start_server as _start_test_server  # noqa: E402

__all__ = [
    "ROOT",
    "free_port",
    "run_cli",
    "start_server",
    "connections_opened",
    "percentile",
    "summary",
    "machine",
    "pg_database",
    "scratch_database",
    "catalogue_file",
    "prepare_database",
    "rss_kb",
    "cpu_seconds",
    "wait_http",
    "PG_URL",
    "CLOCK_START",
]

DEMO = ROOT / "queue_service" / "offices" / "data" / "hannover.yaml"
PG_URL = os.environ.get("QS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# a Thursday morning: every office but Schützenplatz takes walk-ins
CLOCK_START = "2026-11-26T08:30"


# The tests' servers hold their pool to 3 connections (plus 7 made and closed on demand) so that
# three pytest workers' servers stay under PostgreSQL's max_connections. A benchmark measures the
# deployed process: config.py's pool (DATABASE_POOL_SIZE 10, DATABASE_MAX_OVERFLOW 20). With the
# tests' pool, eight clients kept making and closing connections (a backend start each, its
# statements prepared again), which bench_queue and profile_queue measured until session 11.
DEPLOYED_POOL: dict[str, str | None] = {"DATABASE_POOL_SIZE": None, "DATABASE_MAX_OVERFLOW": None}


def start_server(workdir: Path, database_url: str | None = None, env: dict | None = None, **kwargs):
    """``tests.support.servers.start_server`` with the deployed connection pool (unless ``env``
    sets one)."""
    return _start_test_server(workdir, database_url, {**DEPLOYED_POOL, **(env or {})}, **kwargs)


def connections_opened(base_url: str, metrics_token: str) -> float | None:
    """The server's ``qs_db_connections_opened_total`` (its /metrics, served with
    ``METRICS_TOKEN``); None if it cannot be read."""
    try:
        response = requests.get(
            base_url + "/metrics", headers={"Authorization": f"Bearer {metrics_token}"}, timeout=30
        )
    except requests.RequestException:
        return None
    if not response.ok:
        return None
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "qs_db_connections_opened_total":
                return sample.value
    return None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(seconds_list: list[float], wall_seconds: float | None = None) -> dict:
    """Count, p50/p95/p99/max/mean in milliseconds, and the rate when the wall time is given."""
    ms = [v * 1000 for v in seconds_list]
    return {
        "requests": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "per_s": round(len(ms) / wall_seconds, 1) if wall_seconds else None,
    }


def machine() -> dict:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(v, 2) for v in load],
    }


def pg_database() -> tuple[str, Callable[[], None]]:
    """A new, empty PostgreSQL database (its URL) and the function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(PG_URL)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"qs_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


@contextmanager
def scratch_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind`` ("sqlite": a file in ``folder``; "postgresql":
    a new database, dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'scratch.sqlite3'}"
        return
    url, drop = pg_database()
    try:
        yield url
    finally:
        drop()


def catalogue_file(workdir: Path) -> Path:
    """The demo catalogue without daily caps (benchmarks issue more than a real day)."""
    data = yaml.safe_load(DEMO.read_text())
    data["region"].pop("walkin_daily_cap", None)
    path = workdir / "bench-catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def prepare_database(
    workdir: Path, database_url: str, offices: list[str]
) -> tuple[str, dict[str, str]]:
    """Migrate, load the catalogue without daily caps, create an admin; return the admin's API
    token and a kiosk device token per office."""
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="bench", LOG_LEVEL="WARNING")
    catalogue = catalogue_file(workdir)
    for args in (
        ["db", "upgrade"],
        ["load-catalogue", str(catalogue)],
        ["create-user", "bench-admin", "--role", "admin"],
    ):
        result = run_cli(args, env)
        if result.returncode != 0:
            raise RuntimeError(f"{args}: {result.stderr}")
    token = run_cli(["create-token", "bench-admin"], env).stdout.strip()
    devices = {
        office: run_cli(["create-device", office, "--kind", "kiosk"], env).stdout.strip()
        for office in offices
    }
    return token, devices


def _proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB."""
    return _proc_status(pid, "VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")
