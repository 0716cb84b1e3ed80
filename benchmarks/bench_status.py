"""Benchmark of the public city status and the statistics page through HTTP.

A real server process (``queue-service serve`` on SQLite, scheduler off) with the demo catalogue,
in the same run as the floor, a bare Flask JSON endpoint served the same way
(benchmarks/floor_app.py, floors.md §4). Prints a table and writes
benchmarks/results/status.json. Figures only, never pass/fail.

    .venv/bin/python benchmarks/bench_status.py            # full run (quiet machine please)
    .venv/bin/python benchmarks/bench_status.py --quick    # a short run that proves it works

1. ``GET /api/v1/status`` with the eight walk-in offices busy (kiosks issue tickets, two counters
   open in each; Schützenplatz takes no walk-ins) and the mobile office: 8 client processes,
   once with the default in-process cache (STATUS_CACHE_SECONDS=5) and once uncached (0), so
   the cost of one full computation is visible. Target (issue 7): p95 <= 20 ms.
2. ``GET /admin/statistics`` for a month of one office (Aegi, ~250 tickets per working day,
   generated straight into the database, rolled up like the nightly job) as a logged-in
   manager, and the same month without the roll-up (computed live from the tickets).
   Target (issue 7): <= 500 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_queue import (  # noqa: E402
    OFFICES,
    _prepare,
    _run,
    bench_floor,
    summary,
)
from benchmarks.common import start_server  # noqa: E402
from tests.support.servers import run_cli  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "status.json"
TODAY = date(2026, 11, 26)  # CLOCK_START of bench_queue: Thursday 26 November 2026, 08:30
TARGETS = {"status_p95_ms": 20, "statistics_month_ms": 500}


def _status_worker(args) -> tuple[list[float], int]:
    base, count, etag_share = args
    session = requests.Session()
    latencies, errors, etag = [], 0, None
    for i in range(count):
        headers = {"If-None-Match": etag} if etag and i % 100 < etag_share else {}
        start = time.perf_counter()
        response = session.get(f"{base}/api/v1/status", headers=headers, timeout=30)
        latencies.append(time.perf_counter() - start)
        if response.status_code == 200:
            etag = response.headers.get("ETag")
        elif response.status_code != 304:
            errors += 1
    return latencies, errors


def _make_busy(base: str, devices: dict, token: str, per_office: int) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    for office in OFFICES:
        for counter in (1, 2):
            session.post(
                f"{base}/api/v1/offices/{office}/counters/{counter}/open", headers=auth, timeout=30
            )
        for i in range(per_office):
            session.post(
                f"{base}/api/v1/offices/{office}/tickets",
                json={"service": ["PA", "RP", "AN"][i % 3]},
                headers={
                    "X-Device-Token": devices[office],
                    "Idempotency-Key": secrets.token_hex(8),
                },
                timeout=30,
            )
        session.post(
            f"{base}/api/v1/offices/{office}/counters/1/call-next", headers=auth, timeout=30
        )


def _month_of_traffic(database_url: str, days: int, per_day: int) -> int:
    """Tickets and events of ``days`` working days before TODAY at Aegi, then the roll-up."""
    os.environ["DATABASE_URL"] = database_url
    from queue_service import clock, create_app
    from queue_service.extensions import db
    from queue_service.offices.models import Office, Service
    from queue_service.stats import compute
    from queue_service.tickets.models import Ticket, TicketEvent, TicketKind, TicketStatus

    app = create_app()
    rng = random.Random(11)
    total = 0
    with app.app_context():
        office = db.session.query(Office).filter_by(slug="aegi").one()
        services = (
            db.session.query(Service)
            .filter(Service.code.in_(["PA", "RP", "AN", "EID", "VL"]))
            .all()
        )
        day, made = TODAY, 0
        while made < days:
            day -= timedelta(days=1)
            if day.weekday() >= 5:
                continue
            made += 1
            seq: dict[str, int] = {}
            for _ in range(per_day):
                service = rng.choice(services)
                seq[service.prefix] = seq.get(service.prefix, 0) + 1
                issued = clock.local_to_utc(day, datetime.min.time()) + timedelta(
                    hours=8, minutes=rng.randint(0, 9 * 60)
                )
                called = issued + timedelta(seconds=rng.randint(60, 5400))
                roll = rng.random()
                status = (
                    TicketStatus.DONE
                    if roll < 0.86
                    else TicketStatus.NO_SHOW
                    if roll < 0.93
                    else TicketStatus.CANCELLED
                    if roll < 0.97
                    else TicketStatus.NOT_SERVED
                )
                serving = called + timedelta(seconds=rng.randint(20, 120))
                finished = serving + timedelta(seconds=rng.randint(180, 1500))
                appointment = rng.random() < 0.35
                ticket = Ticket(
                    office_id=office.id,
                    service_id=service.id,
                    business_date=day,
                    prefix=service.prefix,
                    seq=seq[service.prefix],
                    number=f"{service.prefix}{seq[service.prefix]:03d}",
                    token=secrets.token_urlsafe(16),
                    status=status,
                    kind=TicketKind.APPOINTMENT if appointment else TicketKind.WALKIN,
                    due_at=issued + timedelta(minutes=rng.randint(-10, 15))
                    if appointment
                    else None,
                    queued_at=issued,
                    issued_at=issued,
                    called_at=called
                    if status in (TicketStatus.DONE, TicketStatus.NO_SHOW)
                    else None,
                    serving_at=serving if status == TicketStatus.DONE else None,
                    finished_at=finished if status == TicketStatus.DONE else None,
                )
                db.session.add(ticket)
                db.session.flush()
                events = [("issue", None, TicketStatus.WAITING, issued)]
                if status in (TicketStatus.DONE, TicketStatus.NO_SHOW):
                    events.append(("call", TicketStatus.WAITING, TicketStatus.CALLED, called))
                if status == TicketStatus.DONE:
                    events += [
                        ("start", TicketStatus.CALLED, TicketStatus.SERVING, serving),
                        ("finish", TicketStatus.SERVING, TicketStatus.DONE, finished),
                    ]
                else:
                    events.append((status.value, events[-1][2], status, called))
                for action, before, after, at in events:
                    db.session.add(
                        TicketEvent(
                            ticket_id=ticket.id,
                            office_id=office.id,
                            at=at,
                            action=action,
                            from_status=before,
                            to_status=after,
                            details={},
                        )
                    )
                total += 1
            db.session.commit()
            compute.rollup_day(day)
        db.session.remove()
        db.engine.dispose()
    return total


def _manager_session(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/admin/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(
        f"{base}/admin/login",
        data={"username": username, "password": password, "csrf_token": token},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code}")
    return session


def _time_page(session: requests.Session, url: str, params: dict, count: int) -> dict:
    session.get(url, params=params, timeout=60)  # warm-up
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        response = session.get(url, params=params, timeout=60)
        latencies.append(time.perf_counter() - start)
        response.raise_for_status()
    return summary(latencies, sum(latencies))


def bench(pool, options) -> dict:
    quick = options.quick
    with tempfile.TemporaryDirectory(prefix="qs-bench-status-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        devices, token, env = _prepare(workdir, url)
        env["SCHEDULER_ENABLED"] = "0"
        created = run_cli(
            ["create-user", "bench-manager", "--role", "manager", "--office", "aegi"],
            dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", LOG_LEVEL="WARNING"),
        )
        password = created.stdout.strip().split()[-1]
        days, per_day = (5, 120) if quick else (22, 250)
        tickets = _month_of_traffic(url, days, per_day)
        result: dict = {"history": {"office": "aegi", "working_days": days, "tickets": tickets}}
        per_client = 50 if quick else 500
        for label, cache in (("cached", "5"), ("uncached", "0")):
            server = start_server(
                workdir,
                database_url=url,
                env={**env, "STATUS_CACHE_SECONDS": cache},
                load_demo=False,
            )
            try:
                base = server.base_url
                if label == "cached":
                    _make_busy(base, devices, token, 10 if quick else 40)
                body = requests.get(f"{base}/api/v1/status", timeout=30).json()
                result.setdefault(
                    "waiting_now",
                    {o["office"]["slug"]: o["waiting_total"] for o in body["offices"]},
                )
                _run(pool, _status_worker, [(base, 10, 0)] * options.clients)
                results, seconds = _run(
                    pool, _status_worker, [(base, per_client, 0)] * options.clients
                )
                result[f"status_{label}"] = summary([v for r, _ in results for v in r], seconds) | {
                    "errors": sum(e for _, e in results)
                }
                if label == "cached":
                    results, seconds = _run(
                        pool, _status_worker, [(base, per_client, 100)] * options.clients
                    )
                    result["status_304"] = summary([v for r, _ in results for v in r], seconds)
                    session = _manager_session(base, "bench-manager", password)
                    end = TODAY - timedelta(days=1)
                    params = {
                        "office": "aegi",
                        "from": (end - timedelta(days=30)).isoformat(),
                        "to": end.isoformat(),
                    }
                    count = 5 if quick else 30
                    result["statistics_month_rolled_up"] = _time_page(
                        session, f"{base}/admin/statistics", params, count
                    )
                    result["statistics_csv_day"] = _time_page(
                        session,
                        f"{base}/admin/statistics",
                        {**params, "format": "csv", "table": "day"},
                        count,
                    )
            finally:
                server.stop()
        # the same month computed live from the tickets (no roll-up rows)
        import sqlite3

        connection = sqlite3.connect(workdir / "bench.sqlite3")
        connection.execute("DELETE FROM stats_rollup")
        connection.commit()
        connection.close()
        server = start_server(workdir, database_url=url, env=env, load_demo=False)
        try:
            session = _manager_session(server.base_url, "bench-manager", password)
            end = TODAY - timedelta(days=1)
            params = {
                "office": "aegi",
                "from": (end - timedelta(days=30)).isoformat(),
                "to": end.isoformat(),
            }
            result["statistics_month_live"] = _time_page(
                session, f"{server.base_url}/admin/statistics", params, 5 if quick else 30
            )
        finally:
            server.stop()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short run (proves the script works)"
    )
    parser.add_argument("--clients", type=int, default=8)
    options = parser.parse_args()
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": options.quick,
        "clients": options.clients,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "targets": TARGETS,
    }
    with multiprocessing.get_context("fork").Pool(options.clients) as pool:
        report["floor"] = bench_floor(pool, options.clients, 100 if options.quick else 1000)
        report["sqlite"] = bench(pool, options)
    floor = report["floor"]
    for key in ("status_cached", "status_uncached", "status_304"):
        row = report["sqlite"][key]
        row["ratio_to_floor_p50"] = (
            round(row["p50_ms"] / floor["p50_ms"], 1) if floor["p50_ms"] else None
        )
        row["ratio_to_floor_p95"] = (
            round(row["p95_ms"] / floor["p95_ms"], 1) if floor["p95_ms"] else None
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    _print(report)


def _print(report: dict) -> None:
    floor, result = report["floor"], report["sqlite"]
    print(
        f"\nCity status and statistics through HTTP, SQLite, {report['clients']} concurrent clients"
        f"{' (quick)' if report['quick'] else ''}; targets: status p95 <= 20 ms, month page <= 500 ms\n"
    )
    print(
        f"{'what':<30} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'per s':>8} {'x floor p95':>12}"
    )
    rows = [("floor GET (bare Flask)", floor)] + [
        (name, result[key])
        for name, key in (
            ("status, cached 5 s", "status_cached"),
            ("status, uncached", "status_uncached"),
            ("status, If-None-Match -> 304", "status_304"),
            ("statistics month (rolled up)", "statistics_month_rolled_up"),
            ("statistics CSV per day", "statistics_csv_day"),
            ("statistics month (live)", "statistics_month_live"),
        )
    ]
    for name, row in rows:
        ratio = round(row["p95_ms"] / floor["p95_ms"], 1) if floor["p95_ms"] else "-"
        print(
            f"{name:<30} {row['requests']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8} "
            f"{row['per_s']:>8} {ratio:>12}"
        )
    print(f"\nhistory: {result['history']}; waiting now: {result['waiting_now']}")
    print(f"results: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
