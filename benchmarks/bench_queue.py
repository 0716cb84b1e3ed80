"""Benchmark of the live queue through HTTP: issuing tickets and call-next.

A real server process (``queue-service serve``, as in tests/support/servers.py) on SQLite and on
PostgreSQL; 8 concurrent client processes; in the same run the floor, a bare Flask JSON endpoint
served the same way (benchmarks/floor_app.py, floors.md §4). Prints a table and writes
benchmarks/results/queue.json. Figures only, never pass/fail.

    .venv/bin/python benchmarks/bench_queue.py            # full run (quiet machine please)
    .venv/bin/python benchmarks/bench_queue.py --quick    # a short run that proves it works

Phases per database: kiosks of 8 offices issue walk-in tickets (Idempotency-Key per request);
then clerks at 8 counters (2 per office in 4 offices) call-next / start / finish until nobody
waits. Targets from issue 3: issue and call-next p95 <= 25 ms, >= 300 tickets/s per process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    connections_opened,
    cpu_seconds,
    machine,
    pg_database,
    prepare_database,
    start_server,
    summary,
)
from tests.support.servers import free_port  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "queue.json"
METRICS_TOKEN = secrets.token_hex(16)
# a Thursday morning: every office but Schützenplatz takes walk-ins
CLOCK_START = "2026-11-26T08:30"
OFFICES = [
    "aegi",
    "bemerode",
    "doehren",
    "herrenhausen",
    "linden",
    "podbi",
    "ricklingen",
    "sahlkamp",
]
SERVICES = ["PA", "RP", "KID", "VD", "AB", "VL", "EID", "AN", "ABM", "MB", "FZ", "BG", "FS", "IFS"]
TARGETS = {"issue_p95_ms": 25, "call_next_p95_ms": 25, "tickets_per_s": 300}


# ---------------------------------------------------------------- client processes


def _issue_worker(args) -> tuple[list[float], int, list[float]]:
    """(latencies of issued tickets, errors, latencies of honest refusals): a kiosk's walk-in
    the counters cannot serve before closing is refused with 409 ``served_out`` (issue 15),
    which 250 tickets per office in one morning reach; those are counted apart."""
    base, devices, count, index = args
    session = requests.Session()
    latencies, errors, refused = [], 0, []
    for i in range(count):
        office = OFFICES[(index + i) % len(OFFICES)]
        service = SERVICES[(index * 7 + i) % len(SERVICES)]
        headers = {"X-Device-Token": devices[office], "Idempotency-Key": secrets.token_hex(8)}
        start = time.perf_counter()
        response = session.post(
            f"{base}/api/v1/offices/{office}/tickets",
            json={"service": service},
            headers=headers,
            timeout=30,
        )
        took = time.perf_counter() - start
        if response.status_code == 201:
            latencies.append(took)
        elif response.status_code == 409 and response.json().get("reason") == "served_out":
            refused.append(took)
        else:
            latencies.append(took)
            errors += 1
    return latencies, errors, refused


def _clerk_worker(args) -> tuple[dict[str, list[float]], int]:
    base, token, office, counter, limit = args
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    timings: dict[str, list[float]] = {"call_next": [], "start": [], "finish": []}
    errors = 0
    for _ in range(limit):
        start = time.perf_counter()
        response = session.post(
            f"{base}/api/v1/offices/{office}/counters/{counter}/call-next", timeout=30
        )
        timings["call_next"].append(time.perf_counter() - start)
        if response.status_code == 204:
            break
        if response.status_code != 200:
            errors += 1
            continue
        ticket = response.json()["token"]
        for action in ("start", "finish"):
            start = time.perf_counter()
            done = session.post(f"{base}/api/v1/tickets/{ticket}/{action}", timeout=30)
            timings[action].append(time.perf_counter() - start)
            errors += done.status_code != 200
    return timings, errors


def _floor_worker(args) -> tuple[list[float], int]:
    base, count = args
    session = requests.Session()
    latencies, errors = [], 0
    for _ in range(count):
        start = time.perf_counter()
        response = session.get(f"{base}/api/ping", timeout=30)
        latencies.append(time.perf_counter() - start)
        errors += response.status_code != 200
    return latencies, errors


def _run(pool, worker, jobs) -> tuple[list, float]:
    start = time.perf_counter()
    results = pool.map(worker, jobs)
    return results, time.perf_counter() - start


# ---------------------------------------------------------------- set-up


def _prepare(workdir: Path, database_url: str) -> tuple[dict, str, dict]:
    token, devices = prepare_database(workdir, database_url, OFFICES)
    server_env = {
        "CLOCK_START": CLOCK_START,
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        # /metrics, read after each phase for the connections the server's pool opened
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    return devices, token, server_env


def bench_database(
    kind: str, pool, clients: int, per_client: int, db_pool: dict | None = None
) -> dict:
    drop = None
    with tempfile.TemporaryDirectory(prefix=f"qs-bench-{kind}-") as tmp:
        workdir = Path(tmp)
        if kind == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            url, drop = pg_database()
        try:
            devices, token, env = _prepare(workdir, url)
            env |= db_pool or {}
            server = start_server(workdir, database_url=url, env=env, load_demo=False, timeout=120)
            try:
                return _measure(
                    server.base_url,
                    devices,
                    token,
                    pool,
                    clients,
                    per_client,
                    lambda: cpu_seconds(server.process.pid),
                    lambda: connections_opened(server.base_url, METRICS_TOKEN),
                )
            finally:
                server.stop()
        finally:
            if drop:
                drop()


def _cpu_ms(cpu: Callable[[], float] | None, before: float, requests_done: int) -> float | None:
    """The server's CPU milliseconds per request of a phase (None without a reading)."""
    if cpu is None or not requests_done:
        return None
    return round(1000 * (cpu() - before) / requests_done, 2)


def _difference(before: float | None, after: float | None) -> int | None:
    return None if before is None or after is None else int(after - before)


def _measure(
    base: str,
    devices: dict,
    token: str,
    pool,
    clients: int,
    per_client: int,
    cpu: Callable[[], float] | None = None,
    connections: Callable[[], float | None] | None = None,
) -> dict:
    """Both phases; with ``cpu`` (the server's CPU seconds so far) also the server's CPU time
    per request of each phase, which a busy shared machine distorts far less than latency; with
    ``connections`` (the database connections the server opened so far) those each phase
    opened (a pool that fits the concurrency opens none once warm)."""
    auth = {"Authorization": f"Bearer {token}"}
    # warm-up (imports, caches, connections), then open the counters the clerks will use
    _run(pool, _issue_worker, [(base, devices, 3, i) for i in range(clients)])
    clerk_jobs = []
    for i in range(clients):
        office, counter = OFFICES[i % 4], 1 + i // 4
        requests.post(
            f"{base}/api/v1/offices/{office}/counters/{counter}/open", headers=auth, timeout=30
        )
        clerk_jobs.append((base, token, office, counter, 10**6))

    opened = [connections() if connections else None]
    before = cpu() if cpu else 0.0
    results, seconds = _run(
        pool, _issue_worker, [(base, devices, per_client, i) for i in range(clients)]
    )
    issue = [v for latencies, _, _ in results for v in latencies]
    issue_errors = sum(e for _, e, _ in results)
    refused = [v for _, _, latencies in results for v in latencies]
    issue_cpu = _cpu_ms(cpu, before, len(issue) + len(refused))
    opened.append(connections() if connections else None)

    before = cpu() if cpu else 0.0
    results, call_seconds = _run(pool, _clerk_worker, clerk_jobs)
    timings = {
        name: [v for t, _ in results for v in t[name]] for name in ("call_next", "start", "finish")
    }
    call_errors = sum(e for _, e in results)
    cycle_cpu = _cpu_ms(cpu, before, len(timings["call_next"]))
    opened.append(connections() if connections else None)
    return {
        # database connections the server opened during each phase
        "connections_opened": {
            "issue": _difference(opened[0], opened[1]),
            "call_cycle": _difference(opened[1], opened[2]),
        },
        # server CPU per issue request (admitted or refused) and per call-next/start/finish cycle
        "server_cpu_ms": {"issue": issue_cpu, "call_cycle": cycle_cpu},
        "issue": summary(issue, seconds) | {"errors": issue_errors},
        "tickets_per_s": round((len(issue) - issue_errors) / seconds, 1),
        # every answered issue request, admitted or honestly refused (409 served_out): a refusal
        # does the same admission work, rolls back and adds the next free appointment
        "issue_requests_per_s": round((len(issue) + len(refused) - issue_errors) / seconds, 1),
        "refused_served_out": summary(refused, seconds),
        "call_next": summary(timings["call_next"], call_seconds) | {"errors": call_errors},
        "start": summary(timings["start"], call_seconds),
        "finish": summary(timings["finish"], call_seconds),
    }


def bench_floor(pool, clients: int, per_client: int) -> dict:
    """The floor: a bare Flask JSON GET (floor_app.py)."""
    return _floor(
        pool, "floor_app.py", [], _floor_worker, lambda base, n: [(base, n)] * clients, per_client
    )


def bench_write_floor(kind: str, pool, clients: int, per_client: int) -> dict:
    """The write floor of ``kind``: the kiosks' requests of ``_issue_worker`` against
    floor_write_app.py, which writes the ticket with the driver alone (a fresh database, dropped
    afterwards; it takes any device token)."""
    devices = dict.fromkeys(OFFICES, "floor")
    drop = None
    with tempfile.TemporaryDirectory(prefix=f"qs-floor-{kind}-") as tmp:
        if kind == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'floor.sqlite3'}"
        else:
            url, drop = pg_database()
        try:
            return _floor(
                pool,
                "floor_write_app.py",
                [url],
                _issue_worker,
                lambda base, n: [(base, devices, n, i) for i in range(clients)],
                per_client,
            )
        finally:
            if drop:
                drop()


def _floor(pool, script: str, args: list[str], worker, jobs_for, per_client: int) -> dict:
    """Serve the floor ``script`` (``script PORT *args``), warm it up with 20 requests per
    client, then run ``jobs_for(base URL, requests per client)`` with ``worker`` (whose results
    start with the latencies and the errors) and summarise, with the floor's CPU per request."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / script), str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        _run(pool, worker, jobs_for(base, 20))
        before = cpu_seconds(process.pid)
        results, seconds = _run(pool, worker, jobs_for(base, per_client))
        latencies = [v for result in results for v in result[0]]
        return summary(latencies, seconds) | {
            "errors": sum(result[1] for result in results),
            "server_cpu_ms": _cpu_ms(lambda: cpu_seconds(process.pid), before, len(latencies)),
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def _ratio(value: float, floor: float) -> float | None:
    return round(value / floor, 1) if floor else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short run (proves the script works)"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--db-pool",
        metavar="SIZE,OVERFLOW",
        help="the server's DATABASE_POOL_SIZE and DATABASE_MAX_OVERFLOW (default: the deployed "
        "10,20; the tests' servers use 3,7)",
    )
    options = parser.parse_args()
    db_pool = None
    if options.db_pool:
        size, overflow = options.db_pool.split(",")
        db_pool = {"DATABASE_POOL_SIZE": size, "DATABASE_MAX_OVERFLOW": overflow}
    per_client = 25 if options.quick else 250
    floor_per_client = 100 if options.quick else 1000

    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": options.quick,
        "clients": options.clients,
        "tickets_per_client": per_client,
        "machine": machine(),
        "targets": TARGETS,
        "db_pool": options.db_pool or "deployed (config.py)",
    }
    with multiprocessing.get_context("fork").Pool(options.clients) as pool:
        report["floor"] = bench_floor(pool, options.clients, floor_per_client)
        for kind in options.databases.split(","):
            try:
                report[kind] = bench_database(kind, pool, options.clients, per_client, db_pool)
                report[kind]["write_floor"] = bench_write_floor(
                    kind, pool, options.clients, per_client
                )
            except Exception as exc:  # a missing PostgreSQL is reported, not fatal
                report[kind] = {"error": f"{exc.__class__.__name__}: {exc}"}
    floor_p50, floor_rps = report["floor"]["p50_ms"], report["floor"]["per_s"]
    for kind in options.databases.split(","):
        result = report[kind]
        if "error" in result:
            continue
        result["ratio_to_floor"] = {
            "issue_p50": _ratio(result["issue"]["p50_ms"], floor_p50),
            "call_next_p50": _ratio(result["call_next"]["p50_ms"], floor_p50),
            "floor_rps_per_ticket_per_s": _ratio(floor_rps, result["tickets_per_s"]),
            # the write floor: the same POST, the ticket written with the driver alone
            "write_floor_p50": _ratio(result["write_floor"]["p50_ms"], floor_p50),
            "issue_p50_to_write_floor_p50": _ratio(
                result["issue"]["p50_ms"], result["write_floor"]["p50_ms"]
            ),
        }
    report["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    _print(report, options.databases.split(","))


def _print(report: dict, kinds: list[str]) -> None:
    floor = report["floor"]
    print(
        f"\nLive queue through HTTP, {report['clients']} concurrent clients"
        f"{' (quick)' if report['quick'] else ''}; targets: p95 <= 25 ms, >= 300 tickets/s\n"
    )
    print(
        f"{'database':<11} {'operation':<10} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'per s':>8} {'x floor p50':>12}"
    )
    print(
        f"{'-':<11} {'floor GET':<10} {floor['requests']:>6} {floor['p50_ms']:>8} {floor['p95_ms']:>8} "
        f"{floor['p99_ms']:>8} {floor['per_s']:>8} {'1.0':>12}"
    )
    for kind in kinds:
        result = report[kind]
        if "error" in result:
            print(f"{kind:<11} skipped: {result['error']}")
            continue
        for op in ("write_floor", "issue", "refused_served_out", "call_next", "start", "finish"):
            row = result.get(op, {"requests": 0})
            if not row.get("requests"):
                continue
            ratio = _ratio(row["p50_ms"], floor["p50_ms"])
            print(
                f"{kind:<11} {op[:10]:<10} {row['requests']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} "
                f"{row['p99_ms']:>8} {row['per_s']:>8} {ratio:>12}"
            )
        cpu = result.get("server_cpu_ms") or {}
        print(
            f"{kind:<11} server CPU per request: issue {cpu.get('issue')} ms, "
            f"call-next/start/finish cycle {cpu.get('call_cycle')} ms; the write floor "
            f"{result['write_floor'].get('server_cpu_ms')} ms, the floor GET "
            f"{floor.get('server_cpu_ms')} ms"
        )
        print(
            f"{kind:<11} tickets issued per second by one server process: {result['tickets_per_s']}"
            f" (errors: issue {result['issue']['errors']}, call {result['call_next']['errors']});"
            f" issue requests answered per second, tickets and refusals: "
            f"{result.get('issue_requests_per_s')}"
        )
        opened = result.get("connections_opened") or {}
        print(
            f"{kind:<11} database connections the server opened: issue phase "
            f"{opened.get('issue')}, call phase {opened.get('call_cycle')}"
        )
    print(
        f"\nload average at start {report['machine']['load_average_at_start']}, at end "
        f"{report['load_average_at_end']}; written to {RESULTS.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
