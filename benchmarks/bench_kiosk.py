"""Benchmark of the kiosk: a tap (ticket issue) and the ticket PDF download through HTTP, and the
ticket PDF + QR generation in-process, each next to its floor measured in the same run.

    .venv/bin/python benchmarks/bench_kiosk.py            # full run (quiet machine please)
    .venv/bin/python benchmarks/bench_kiosk.py --quick    # a short run that proves it works

Through HTTP: a real server process (``queue-service serve``, tests/support/servers.py) on SQLite
and on PostgreSQL. A kiosk does per visitor what the kiosk page does: POST
/api/v1/offices/{slug}/tickets (device token, a fresh Idempotency-Key) and then GET the ticket's
/pdf (80 mm, German). Phase 1: one kiosk alone (the latency a visitor sees); phase 2: ``--clients``
kiosks (default 4, each of another office) tapping without pause at once (contention far beyond
a real office, where a tap comes every few seconds). The per-device rate limit is off
(RATELIMIT_ENABLED=false): the benchmark taps far faster than 30 visitors a minute. Floor: the bare
Flask JSON endpoint served the same way (benchmarks/floor_app.py, floors.md §4), with one client and
with as many clients as kiosks; each phase is compared with its own floor.

In-process: ``render_ticket_pdf`` of a walk-in ticket with a real status URL, next to floors.md §2
variant (a) (qrcode PNG drawn into a plain canvas; benchmarks/bench_pdf.py) in the same run.

Targets (issue 5): issue p95 <= 30 ms, PDF download p95 <= 30 ms, PDF + QR in-process p95 <= 10 ms.
Figures only, never pass/fail; written to benchmarks/results/kiosk.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pdf import floor_a  # noqa: E402
from bench_queue import bench_floor  # noqa: E402
from common import catalogue_file, pg_database, start_server, summary  # noqa: E402

from queue_service.printing import TicketPrint, render_ticket_pdf  # noqa: E402
from tests.support.servers import run_cli  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "kiosk.json"
CLOCK_START = "2026-11-26T08:30"  # a Thursday morning: walk-ins everywhere but Schützenplatz
OFFICES = [
    "aegi",
    "linden",
    "podbi",
    "doehren",
    "ricklingen",
    "sahlkamp",
    "bemerode",
    "herrenhausen",
]
SERVICES = ["PA", "RP", "AB", "EID", "AN", "MB", "FZ", "BG"]
TARGETS = {"issue_p95_ms": 30, "pdf_p95_ms": 30, "pdf_inprocess_p95_ms": 10}


# ---------------------------------------------------------------- kiosk processes


def _kiosk_worker(args) -> tuple[list[float], list[float], int]:
    """One kiosk: per visitor a tap (issue) and the PDF its print frame loads."""
    base, slug, device, visitors, index = args
    session = requests.Session()
    session.headers["X-Device-Token"] = device
    issue_times, pdf_times, errors = [], [], 0
    for i in range(visitors):
        service = SERVICES[(index + i) % len(SERVICES)]
        start = time.perf_counter()
        response = session.post(
            f"{base}/api/v1/offices/{slug}/tickets",
            json={"service": service},
            headers={"Idempotency-Key": secrets.token_hex(8)},
            timeout=30,
        )
        issue_times.append(time.perf_counter() - start)
        if response.status_code != 201:
            errors += 1
            continue
        path = "/api/v1/tickets/" + response.json()["token"] + "/pdf"
        start = time.perf_counter()
        pdf = session.get(f"{base}{path}?paper=80mm&lang=de", timeout=30)
        pdf_times.append(time.perf_counter() - start)
        if pdf.status_code != 200 or not pdf.content.startswith(b"%PDF"):
            errors += 1
    return issue_times, pdf_times, errors


def _prepare(workdir: Path, database_url: str, clients: int) -> tuple[dict, dict]:
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="bench", LOG_LEVEL="WARNING")
    for args in (["db", "upgrade"], ["load-catalogue", str(catalogue_file(workdir))]):
        result = run_cli(args, env)
        if result.returncode != 0:
            raise RuntimeError(f"{args}: {result.stderr}")
    devices = {
        slug: run_cli(["create-device", slug, "--kind", "kiosk"], env).stdout.strip()
        for slug in OFFICES[:clients]
    }
    server_env = {
        "CLOCK_START": CLOCK_START,
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "SCHEDULER_ENABLED": "0",
    }
    return devices, server_env


def _phase(pool, jobs) -> dict:
    start = time.perf_counter()
    results = pool.map(_kiosk_worker, jobs)
    seconds = time.perf_counter() - start
    issue = [v for times, _, _ in results for v in times]
    pdf = [v for _, times, _ in results for v in times]
    return {
        "issue": summary(issue, seconds),
        "pdf": summary(pdf, seconds),
        "errors": sum(e for _, _, e in results),
        "visitors_per_s": round(len(issue) / seconds, 1),
    }


def bench_database(kind: str, pool, clients: int, visitors: int) -> dict:
    """Two phases: one kiosk alone (the latency a visitor sees at office load), then every kiosk
    tapping without pause at once (far beyond a real office: contention)."""
    drop = None
    with tempfile.TemporaryDirectory(prefix=f"qs-bench-kiosk-{kind}-") as tmp:
        workdir = Path(tmp)
        if kind == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            url, drop = pg_database()
        try:
            devices, env = _prepare(workdir, url, clients)
            server = start_server(workdir, database_url=url, env=env, load_demo=False)
            try:
                kiosks = list(devices.items())
                pool.map(
                    _kiosk_worker,
                    [
                        (server.base_url, slug, token, 5, i)
                        for i, (slug, token) in enumerate(kiosks)
                    ],
                )  # warm-up
                slug, token = kiosks[0]
                one = _phase(pool, [(server.base_url, slug, token, visitors, 0)])
                together = _phase(
                    pool,
                    [
                        (server.base_url, slug, token, visitors, i)
                        for i, (slug, token) in enumerate(kiosks)
                    ],
                )
            finally:
                server.stop()
        finally:
            if drop:
                drop()
    return {"one_kiosk": one, "kiosks_at_once": together}


# ---------------------------------------------------------------- in-process


def _ticket() -> TicketPrint:
    return TicketPrint(
        number="P042",
        service_name="Personalausweis beantragen",
        office_name="Bürgeramt Aegi",
        office_address="Aegidientorplatz 1, 30159 Hannover",
        issued_at=datetime(2026, 11, 26, 9, 7, tzinfo=UTC),
        people_ahead=4,
        estimated_wait_minutes=25,
        status_url="https://termine.hannover.de/t/" + "Ab3dEf6hIj9kLmN0pQr5tUv8wXyZ12_-",
    )


def _measure(work, renders: int, warmup: int = 20) -> dict:
    for _ in range(warmup):
        work()
    samples = []
    for _ in range(renders):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50": samples[len(samples) // 2],
        "p95": samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))],
    }


def bench_inprocess(renders: int, repeats: int) -> dict:
    ticket = _ticket()
    variants = {"ticket_pdf_80mm": lambda: render_ticket_pdf(ticket, "80mm"), "floor_a": floor_a}
    results = {}
    for name, work in variants.items():
        runs = [_measure(work, renders) for _ in range(repeats)]
        results[name] = {
            "p50_ms": round(statistics.median(r["p50"] for r in runs), 3),
            "p95_ms": round(statistics.median(r["p95"] for r in runs), 3),
        }
    ours, floor = results["ticket_pdf_80mm"], results["floor_a"]
    ours["ratio_p50_to_floor"] = round(ours["p50_ms"] / floor["p50_ms"], 2)
    ours["ratio_p95_to_floor"] = round(ours["p95_ms"] / floor["p95_ms"], 2)
    return results


# ---------------------------------------------------------------- report


def _ratio(value: float, floor: float) -> float | None:
    return round(value / floor, 1) if floor else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short run (proves the script works)"
    )
    parser.add_argument("--clients", type=int, default=4, help="kiosks (processes), one per office")
    parser.add_argument("--databases", default="sqlite,postgresql")
    options = parser.parse_args()
    clients = max(1, min(options.clients, len(OFFICES)))
    visitors = 20 if options.quick else 200
    renders, repeats = (100, 1) if options.quick else (500, 3)

    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": options.quick,
        "kiosks": clients,
        "visitors_per_kiosk": visitors,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": os.getloadavg(),
        },
        "targets": TARGETS,
        "in_process": bench_inprocess(renders, repeats),
    }
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        floor_requests = 100 if options.quick else 1000
        report["http_floor"] = {
            "one_kiosk": bench_floor(pool, 1, floor_requests),
            "kiosks_at_once": bench_floor(pool, clients, floor_requests),
        }
        for kind in options.databases.split(","):
            try:
                report[kind] = bench_database(kind, pool, clients, visitors)
            except Exception as exc:  # a missing PostgreSQL is reported, not fatal
                report[kind] = {"error": f"{exc.__class__.__name__}: {exc}"}
    floor = report["http_floor"]
    for kind in options.databases.split(","):
        result = report[kind]
        if "error" in result:
            continue
        for name, phase in result.items():
            phase["ratio_to_floor_p50"] = {
                op: _ratio(phase[op]["p50_ms"], floor[name]["p50_ms"]) for op in ("issue", "pdf")
            }
            phase["meets_targets"] = {
                "issue_p95": phase["issue"]["p95_ms"] <= TARGETS["issue_p95_ms"],
                "pdf_p95": phase["pdf"]["p95_ms"] <= TARGETS["pdf_p95_ms"],
            }
    report["machine"]["load_average_after"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _print(report, options.databases.split(","))


def _print(report: dict, kinds: list[str]) -> None:
    inproc = report["in_process"]
    ours, floor_pdf = inproc["ticket_pdf_80mm"], inproc["floor_a"]
    print(
        f"\nKiosk{' (quick)' if report['quick'] else ''}: {report['kiosks']} kiosks x "
        f"{report['visitors_per_kiosk']} visitors; targets: issue and PDF p95 <= 30 ms, "
        "PDF + QR in-process p95 <= 10 ms\n"
    )
    print(
        f"in-process  ticket PDF + QR   p50 {ours['p50_ms']:.2f} ms  p95 {ours['p95_ms']:.2f} ms  "
        f"(floor p50 {floor_pdf['p50_ms']:.2f} / p95 {floor_pdf['p95_ms']:.2f} ms; "
        f"x{ours['ratio_p50_to_floor']} / x{ours['ratio_p95_to_floor']})"
    )
    floor = report["http_floor"]
    print(
        f"\n{'database':<11} {'kiosks':<11} {'request':<12} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'x floor p50':>12}"
    )
    for phase, title in (
        ("one_kiosk", "1 client"),
        ("kiosks_at_once", f"{report['kiosks']} at once"),
    ):
        row = floor[phase]
        print(
            f"{'floor':<11} {title:<11} {'GET ping':<12} {row['requests']:>5} {row['p50_ms']:>8} "
            f"{row['p95_ms']:>8} {row['p99_ms']:>8} {'1.0':>12}"
        )
    for kind in kinds:
        result = report[kind]
        if "error" in result:
            print(f"{kind:<11} skipped: {result['error']}")
            continue
        for phase, title in (
            ("one_kiosk", "1 kiosk"),
            ("kiosks_at_once", f"{report['kiosks']} at once"),
        ):
            for op, label in (("issue", "issue (tap)"), ("pdf", "PDF 80 mm")):
                row = result[phase][op]
                ratio = _ratio(row["p50_ms"], floor[phase]["p50_ms"])
                print(
                    f"{kind:<11} {title:<11} {label:<12} {row['requests']:>5} {row['p50_ms']:>8} "
                    f"{row['p95_ms']:>8} {row['p99_ms']:>8} {ratio:>12}"
                )
            print(
                f"{kind:<11} {title:<11} errors: {result[phase]['errors']}, visitors per second: "
                f"{result[phase]['visitors_per_s']}"
            )
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
