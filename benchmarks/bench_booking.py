"""Online booking: slot search latency through HTTP and booking throughput under contention,
with 50,000 existing appointments, next to the bare-Flask floor of shared/reference/floors.md §4.

    .venv/bin/python benchmarks/bench_booking.py            # full run (the lead, on a quiet machine)
    .venv/bin/python benchmarks/bench_booking.py --quick    # fewer requests (proves it runs)

What it does, all in one run on this machine:
  1. creates a throw-away PostgreSQL database (QS_BENCH_POSTGRES_URL, default the test server) and
     a SQLite file, migrates both, loads the demo catalogue and writes 50,000 appointments with
     their seat rows directly (about half in the past eight weeks, half in the six bookable weeks;
     the nearest days fuller than the far ones, as when slots are scarce)
  2. serves each database with the real `queue-service serve` (gevent, as deployed) and measures,
     one request at a time: free slots of one office over the whole six-week horizon
     (GET /api/v1/offices/aegi/slots, services rotating PA / PA,MB / AN x2 persons) and the earliest
     slot in every Bürgeramt (GET /api/v1/slots/earliest, rotating PA / RP / AN)
  3. floor: a bare Flask app returning a small JSON on the same server type, measured the same way
  4. booking throughput on PostgreSQL with two server processes and the scheduler process that
     sends their mail (the scaled profile, MAIL_SENT_BY=scheduler): CLIENTS
     threads book the earliest free times of one office as fast as they can (bearer token, so no
     CSRF round trip), most attempts collide; afterwards a query over the appointments proves that
     no 5-minute unit holds more appointments than its capacity
Prints a table and writes benchmarks/results/booking.json. Never pass/fail: targets are reported.
Targets (issue 6): search p95 <= 20 ms (one office, 6 weeks), earliest p95 <= 50 ms (nine
offices), >= 100 bookings/s with zero double bookings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import cpu_seconds  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

CLOCK_START = "2026-11-23T09:00"  # a Monday; the horizon runs to Monday 4 January 2027
APPOINTMENTS = 50_000
TARGETS = {"office_slots_p95_ms": 20.0, "earliest_p95_ms": 50.0, "bookings_per_s": 100.0}
PG_ADMIN = os.environ.get(
    "QS_BENCH_POSTGRES_URL",
    os.environ.get("QS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
SERVICES_BY_UNITS = {
    1: ["MB", "AB", "EID", "BG"],
    2: ["FZ", "VD", "AN"],
    3: ["PA", "RP", "FS"],
    4: ["KID"],
}

FLOOR_APP = """
import sys, time
from flask import Flask, jsonify
app = Flask("floor")
@app.get("/api/ping")
def ping():
    return jsonify(ok=True, ts=time.time(), queue="A", waiting=12)
app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
"""


# ---------------------------------------------------------------- data


def _make_app(url: str):
    from queue_service import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"}
    )


def prepare(url: str, seed: int) -> dict:
    """Migrate, load the catalogue and write APPOINTMENTS appointments with their seats."""
    from flask_migrate import upgrade

    from queue_service import clock
    from queue_service.booking import availability, slots
    from queue_service.booking.models import Appointment, SlotSeat
    from queue_service.extensions import db
    from queue_service.offices.catalogue import DEMO_FILE, load_catalogue_file
    from queue_service.offices.services import get_service, list_offices

    rng = random.Random(seed)
    app = _make_app(url)
    with app.app_context():
        upgrade()
        load_catalogue_file(DEMO_FILE)
        clock.freeze(clock.parse_moment(CLOCK_START))
        now = clock.now()
        today = clock.today()
        horizon = slots.horizon(now)
        offices = list_offices()
        windows = availability.appointment_windows(
            offices, today - timedelta(days=56), horizon.last_day
        )
        able = availability.able_counters([o.id for o in offices], [get_service("PA").id])
        unit = timedelta(minutes=5)
        candidates = []  # (office_id, start, units, past)
        future_units = 0
        for office in offices:
            for w in windows[office.id]:
                capacity = (
                    able[office.id] if w.capacity is None else min(w.capacity, able[office.id])
                )
                days_ahead = (w.day - today).days
                past = w.end <= now
                fill = 0.45 if past else max(0.25, 0.95 - 0.017 * days_ahead)
                length = int((w.end - w.start) / unit)
                if not past:
                    future_units += capacity * length
                for lane in range(capacity):
                    pos = 0
                    while pos < length:
                        if rng.random() < fill:
                            units = rng.choice([1, 2, 3, 3, 3, 4])
                            if pos + units > length:
                                break
                            candidates.append((office.id, w.start + unit * pos, units, past, lane))
                            pos += units
                        else:
                            pos += 1
        if len(candidates) < APPOINTMENTS:
            raise SystemExit(f"only {len(candidates)} appointments fit; raise the fill")
        chosen = rng.sample(candidates, APPOINTMENTS)
        appointments, seats = [], []
        booked_future_units = 0
        for i, (office_id, start, units, past, lane) in enumerate(chosen, start=1):
            roll = rng.random()
            if past:
                status = "no_show" if roll < 0.12 else "cancelled" if roll < 0.2 else "checked_in"
            else:
                status = "cancelled" if roll < 0.05 else "confirmed"
            appointments.append(
                {
                    "id": i,
                    "public_id": f"{i:032x}",
                    "office_id": office_id,
                    "status": status,
                    "start": start,
                    "end": start + unit * units,
                    "persons": 1,
                    "service_codes": [rng.choice(SERVICES_BY_UNITS[units])],
                    "lang": "de",
                    "name": f"Bench Person {i}",
                    "email": f"bench{i}@example.org",
                    "phone": None,
                    "code": f"B{i:07d}",
                    "token_salt": f"{i:032x}",
                    "token_hash": f"{i:064x}",
                    "revision": 0,
                    "created_at": now - timedelta(days=60),
                    "booked_at": now - timedelta(days=60),
                }
            )
            released = now - timedelta(days=1) if status == "cancelled" else None
            if not past and status == "confirmed":
                booked_future_units += units
            for k in range(units):
                seats.append(
                    {
                        "office_id": office_id,
                        "unit_start": start + unit * k,
                        "seat_no": lane,
                        "appointment_id": i,
                        "occupied_until": released,
                    }
                )
        for table, rows in ((Appointment.__table__, appointments), (SlotSeat.__table__, seats)):
            for batch in range(0, len(rows), 5000):
                db.session.execute(insert(table), rows[batch : batch + 5000])
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('appointments', 'id'), (SELECT max(id) FROM appointments))"
                )
            )
        db.session.commit()
        # the steady state of a live database: statistics and visibility map up to date
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
            )
        from queue_service.auth.services import create_api_token, create_user

        create_user("bench", "admin")
        token = create_api_token("bench", "benchmark")
        db.session.remove()
        db.engine.dispose()
    return {
        "appointments": len(appointments),
        "seat_rows": len(seats),
        "future_seat_units_booked_share": round(booked_future_units / future_units, 3),
        "token": token,
    }


# ---------------------------------------------------------------- servers and clients


class Server:
    def __init__(self, args: list[str], env: dict, workdir: Path, name: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / f"{name}.log").open("w")
        full_env = dict(os.environ) | {"PORT": str(self.port), "HOST": "127.0.0.1"} | env
        self.process = subprocess.Popen(
            [sys.executable, *args] + ([str(self.port)] if "-c" in args else []),
            cwd=ROOT,
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(
                    self.base + ("/healthz" if "-c" not in args else "/api/ping"), timeout=1
                )
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _env(url: str, workdir: Path) -> dict:
    return {
        "DATABASE_URL": url,
        "CLOCK_START": CLOCK_START,
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "MAIL_BACKEND": "folder",
        "MAIL_FOLDER": str(workdir / "mail"),
        "INSTANCE_PATH": str(workdir / "instance"),
    }


def serve(url: str, workdir: Path, name: str, **env: str) -> Server:
    return Server(["-m", "queue_service", "serve"], _env(url, workdir) | env, workdir, name)


class Scheduler:
    """``queue-service scheduler`` as the scaled profile runs it (here: its mail sender)."""

    def __init__(self, url: str, workdir: Path, **env: str):
        self.log = (workdir / "scheduler.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "queue_service", "scheduler"],
            cwd=ROOT,
            env=dict(os.environ) | _env(url, workdir) | env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        started = workdir / "scheduler.log"
        deadline = time.monotonic() + 30
        while "Scheduler process started" not in started.read_text():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the scheduler did not start")
            time.sleep(0.1)

    stop = Server.stop


def mail_drained(url: str, ended: float, timeout: float = 120.0) -> dict:
    """Waits until the outbox has no pending mail; the mails sent and how long after ``ended``
    (the end of the load) the last one went out."""
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                pending, sent = conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE status = 'pending'), "
                        "count(*) FILTER (WHERE status = 'sent') FROM outbox_mails"
                    )
                ).one()
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    return {
        "sent": sent,
        "pending": pending,
        "drained_seconds_after_load": round(time.monotonic() - ended, 1),
    }


def latency(base: str, paths: list[str], count: int, warmup: int = 10) -> dict:
    with requests.Session() as session:
        for i in range(warmup):
            session.get(base + paths[i % len(paths)], timeout=30).raise_for_status()
        samples = []
        for i in range(count):
            t0 = time.perf_counter()
            response = session.get(base + paths[i % len(paths)], timeout=30)
            samples.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
    samples.sort()
    return {
        "n": count,
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (count - 1))], 2),
        "max_ms": round(samples[-1], 2),
    }


def throughput(bases: list[str], token: str, seconds: float, clients: int) -> dict:
    """Threads book the earliest free times at Aegi until time is up; returns counts per status."""
    for base in bases[1:]:  # warm every server, not only the first (first search imports holidays)
        requests.get(base + "/api/v1/offices/aegi/slots?services=PA", timeout=60)
    slots_json = requests.get(
        bases[0] + "/api/v1/offices/aegi/slots?services=PA",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["slots"]
    popular = [s["start"] for s in slots_json[:40]]  # everyone wants the nearest times
    counts: dict = defaultdict(int)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    serial = iter(range(10**9))
    run = secrets.token_hex(3)  # addresses unique per run (the per-address limit is 3)

    def client(index: int) -> None:
        rng = random.Random(index)
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            base = bases[index % len(bases)]
            while time.monotonic() < stop_at:
                with lock:
                    n = next(serial)
                body = {
                    "office": "aegi",
                    "services": ["PA"],
                    "persons": 1,
                    "start": rng.choice(popular),
                    "name": f"Load Person {n}",
                    "email": f"load-{run}-{n}@example.org",
                }
                status = session.post(
                    base + "/api/v1/appointments", json=body, timeout=60
                ).status_code
                with lock:
                    counts[status] += 1
                if status == 409 and rng.random() < 0.3:  # refresh the list now and then
                    fresh = session.get(base + "/api/v1/offices/aegi/slots?services=PA", timeout=60)
                    if fresh.ok and fresh.json()["slots"]:
                        popular[:] = [s["start"] for s in fresh.json()["slots"][:40]]

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "seconds": round(elapsed, 2),
        "clients": clients,
        "servers": len(bases),
        "statuses": dict(counts),
        "bookings_per_s": round(counts[201] / elapsed, 1),
        "attempts_per_s": round(sum(counts.values()) / elapsed, 1),
    }


def double_bookings(url: str) -> dict:
    """Units whose confirmed appointments outnumber the capacity (from the appointments table)."""
    from queue_service import clock
    from queue_service.booking import availability
    from queue_service.offices.services import get_office, get_service

    app = _make_app(url)
    with app.app_context():
        clock.freeze(clock.parse_moment(CLOCK_START))
        aegi = get_office("aegi")
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT start, \"end\" FROM appointments WHERE office_id = :o AND status = 'confirmed'"
                ),
                {"o": aegi.id},
            ).all()
        engine.dispose()
        per_unit: dict = defaultdict(int)
        for start, end in rows:
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
            end = end if end.tzinfo else end.replace(tzinfo=UTC)
            t = start
            while t < end:
                per_unit[t] += 1
                t += timedelta(minutes=5)
        able = availability.able_counters([aegi.id], [get_service("PA").id])[aegi.id]
        days = sorted({u.astimezone(clock.LOCAL_TZ).date() for u in per_unit})
        windows = (
            availability.appointment_windows([aegi], days[0], days[-1])[aegi.id] if days else []
        )
        over = 0
        for unit, n in per_unit.items():
            window = next((w for w in windows if w.start <= unit < w.end), None)
            capacity = (
                able if window is None or window.capacity is None else min(window.capacity, able)
            )
            over += n > capacity
        from queue_service.extensions import db

        db.engine.dispose()
    return {"units_checked": len(per_unit), "units_over_capacity": over}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter load phase")
    args = parser.parse_args()
    n = 60 if args.quick else 500
    load_seconds = 5.0 if args.quick else 20.0
    clients = 16
    workdir = Path(tempfile.mkdtemp(prefix="bench-booking-"))
    admin = make_url(PG_ADMIN)
    pg_name = f"qs_bench_{secrets.token_hex(4)}"
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
    pg_url = admin.set(database=pg_name).render_as_string(hide_password=False)
    sqlite_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    results: dict = {
        "benchmark": "booking",
        "quick": args.quick,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "targets": TARGETS,
        "clock": CLOCK_START,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    servers: list[Server | Scheduler] = []
    try:
        print("preparing PostgreSQL and SQLite with", APPOINTMENTS, "appointments ...", flush=True)
        t0 = time.perf_counter()
        pg_data = prepare(pg_url, seed=7)
        sqlite_data = prepare(sqlite_url, seed=7)
        token = pg_data.pop("token")
        sqlite_data.pop("token")
        results["dataset"] = pg_data | {"prepare_seconds": round(time.perf_counter() - t0, 1)}

        office_paths = [
            "/api/v1/offices/aegi/slots?services=PA",
            "/api/v1/offices/aegi/slots?services=PA,MB",
            "/api/v1/offices/aegi/slots?services=AN&persons=2",
        ]
        earliest_paths = [
            "/api/v1/slots/earliest?services=PA",
            "/api/v1/slots/earliest?services=RP",
            "/api/v1/slots/earliest?services=AN",
        ]
        floor = Server(["-c", FLOOR_APP], {}, workdir, "floor")
        servers.append(floor)
        results["floor_bare_flask"] = latency(floor.base, ["/api/ping"], n)
        floor.stop()
        servers.remove(floor)
        results["search"] = {}
        for name, url in (("postgresql", pg_url), ("sqlite", sqlite_url)):
            server = serve(url, workdir, f"serve-{name}")
            servers.append(server)
            one = requests.get(server.base + office_paths[0], timeout=30).json()
            results["search"][name] = {
                "office_slots_6_weeks": latency(server.base, office_paths, n)
                | {"slots_returned": len(one["slots"])},
                "earliest_nine_offices": latency(server.base, earliest_paths, n),
            }
            server.stop()
            servers.remove(server)

        print("booking under contention on PostgreSQL, two server processes ...", flush=True)
        # as deployed (deploy/queue-service.env): the scheduler process composes and sends mail
        scaled = {"MAIL_SENT_BY": "scheduler"}
        pair = [serve(pg_url, workdir, n, **scaled) for n in ("load-a", "load-b")]
        servers.extend(pair)
        scheduler = Scheduler(pg_url, workdir, **scaled)
        servers.append(scheduler)
        cpu_before = [cpu_seconds(s.process.pid) for s in [*pair, scheduler]]
        contended = throughput([s.base for s in pair], token, load_seconds, clients)
        servers_cpu = sum(cpu_seconds(s.process.pid) for s in pair) - sum(cpu_before[:2])
        contended["mail"] = mail_drained(pg_url, time.monotonic())
        scheduler_cpu = cpu_seconds(scheduler.process.pid) - cpu_before[2]
        attempts = sum(contended["statuses"].values())
        contended["server_cpu_ms_per_attempt"] = round(1000 * servers_cpu / max(attempts, 1), 1)
        contended["scheduler_cpu_ms_per_mail"] = round(
            1000 * scheduler_cpu / max(contended["mail"]["sent"], 1), 1
        )
        for s in [*pair, scheduler]:
            s.stop()
            servers.remove(s)
        contended["check"] = double_bookings(pg_url)
        results["booking_throughput_postgresql"] = contended

        floor_p95 = results["floor_bare_flask"]["p95_ms"]
        results["ratios_to_floor_p95"] = {
            f"{db}_{what}": round(results["search"][db][what]["p95_ms"] / floor_p95, 1)
            for db in results["search"]
            for what in ("office_slots_6_weeks", "earliest_nine_offices")
        }
    finally:
        for server in servers:
            server.stop()
        with admin_engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                    "AND pid <> pg_backend_pid()"
                ),
                {"n": pg_name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}"'))
        admin_engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)

    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    _print(results)
    out = ROOT / "benchmarks" / "results" / "booking.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


def _print(r: dict) -> None:
    print(f"\n{'':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   target")
    f = r["floor_bare_flask"]
    print(f"{'floor: bare Flask JSON':34} {f['p50_ms']:8.2f} {f['p95_ms']:8.2f} {f['max_ms']:8.2f}")
    for db, block in r["search"].items():
        for what, target in (
            ("office_slots_6_weeks", TARGETS["office_slots_p95_ms"]),
            ("earliest_nine_offices", TARGETS["earliest_p95_ms"]),
        ):
            m = block[what]
            print(
                f"{db + ': ' + what:34} {m['p50_ms']:8.2f} {m['p95_ms']:8.2f} {m['max_ms']:8.2f}   p95 <= {target:g}"
            )
    t = r["booking_throughput_postgresql"]
    print(
        f"\nbookings under contention (PostgreSQL, {t['servers']} servers, {t['clients']} clients, "
        f"{t['seconds']} s): {t['bookings_per_s']} bookings/s, {t['attempts_per_s']} attempts/s, "
        f"statuses {t['statuses']}; units over capacity: {t['check']['units_over_capacity']} "
        f"of {t['check']['units_checked']} (target >= {TARGETS['bookings_per_s']:g}/s, 0 over)"
    )
    print(
        f"their mail, sent by the scheduler process: {t['mail']['sent']} sent, "
        f"{t['mail']['pending']} pending, the last {t['mail']['drained_seconds_after_load']} s "
        f"after the load ended; CPU: servers {t['server_cpu_ms_per_attempt']} ms per attempt, "
        f"scheduler {t['scheduler_cpu_ms_per_mail']} ms per mail"
    )
    print(f"dataset: {r['dataset']}")
    print(
        f"load average before/after: {r['load_average_before']} / {r['load_average_after']} "
        f"({r['machine']['cpus']} CPUs; other work on the machine inflates every figure, the floor too)"
    )


if __name__ == "__main__":
    main()
