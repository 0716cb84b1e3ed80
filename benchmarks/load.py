"""Load on the production demo: the booking surge when a new day is released at 08:00 and a busy
morning of calls, with Locust (headless, bounded in users and time, loopback only).

    python benchmarks/load.py [--users 80] [--seconds 60] [--quick]

Starts a private Redis and PostgreSQL and the production demo on them (benchmarks/production.py)
with the clock at 07:59:30 of a Thursday in real time and rate limits off (every user comes from
127.0.0.1), runs ``locust -f benchmarks/load_locust.py --headless``, then checks the database:
no 5-minute unit of any office holds more live appointments than its capacity, and no seat row
is shared. Writes ``benchmarks/results/load.json``: requests, failures, requests per second,
p50 / p95 / p99 per endpoint, the bookings made and the double bookings found (0).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine  # noqa: E402
from benchmarks.production import (  # noqa: E402
    RESULTS,
    Demo,
    PrivatePostgres,
    PrivateRedis,
    create_token,
    log,
)

LOCUST = str(Path(sys.executable).parent / "locust")


def next_thursday(today: date) -> date:
    return today + timedelta(days=(3 - today.weekday()) % 7 or 7)


def locust_stats(prefix: Path) -> dict:
    rows = list(csv.DictReader((prefix.parent / f"{prefix.name}_stats.csv").open()))
    out = {}
    for row in rows:
        name = row["Name"] if row["Type"] == "" or row["Name"] == "Aggregated" else row["Name"]
        out[name] = {
            "method": row["Type"],
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "per_s": round(float(row["Requests/s"]), 1),
            "p50_ms": _int(row["50%"]),
            "p95_ms": _int(row["95%"]),
            "p99_ms": _int(row["99%"]),
            "max_ms": round(float(row["Max Response Time"] or 0)),
        }
    return out


def _int(value: str) -> int | None:
    return int(float(value)) if value not in ("", "N/A") else None


def double_bookings(database_url: str, day: date) -> dict:
    """Live appointments per office and 5-minute unit against the catalogue's capacity, and
    seat rows shared by two appointments, read from the database."""
    import psycopg

    from queue_service import clock
    from queue_service.offices.catalogue import DEMO_FILE
    from queue_service.simulation.plan import read_offices

    offices = read_offices(Path(DEMO_FILE), day)
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=clock.LOCAL_TZ)
    live = ("pending", "confirmed", "checked_in", "no_show")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            'SELECT o.slug, a.start, a."end", a.email FROM appointments a '
            "JOIN offices o ON o.id = a.office_id WHERE a.status = ANY(%s) "
            "AND a.start >= %s AND a.start < %s",
            (list(live), midnight, midnight + timedelta(days=1)),
        ).fetchall()
        shared_seats = conn.execute(
            "SELECT count(*) FROM (SELECT office_id, unit_start, seat_no FROM slot_seats "
            "GROUP BY 1, 2, 3 HAVING count(*) > 1) s"
        ).fetchone()[0]
    load: dict = {}
    for slug, start, end, _email in rows:
        minute = (start - midnight).total_seconds() / 60
        stop = (end - midnight).total_seconds() / 60
        while minute < stop - 1e-6:
            key = (slug, int(minute // 5) * 5)
            load[key] = load.get(key, 0) + 1
            minute += 5
    over = [
        f"{slug} {m // 60:02d}:{m % 60:02d}: {n} > {offices[slug].capacity_at(m)}"
        for (slug, m), n in sorted(load.items())
        if n > offices[slug].capacity_at(m)
    ]
    emails = [r[3] for r in rows]
    return {
        "appointments": len(rows),
        "units_checked": len(load),
        "over_capacity": over,
        "shared_seat_rows": shared_seats,
        "emails_booked_twice": len(emails) - len(set(emails)),
        "double_bookings": len(over) + shared_seats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=80)
    parser.add_argument("--spawn-rate", type=float, default=40)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="30 users for 20 seconds")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.seconds = min(args.users, 30), min(args.seconds, 20)
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="qs-load-"))
    os.chmod(workdir, 0o755)
    redis, pg = PrivateRedis(workdir), PrivatePostgres(workdir / "pg")
    demo = None
    today = next_thursday(date.today())
    release_day = today + timedelta(days=42)  # BOOKING_WINDOW_DAYS: released at 08:00
    result: dict = {"machine": machine(), "args": vars(args)}
    try:
        redis.start()
        pg.init()
        demo = Demo(workdir, pg.url, redis.url)
        env = {"RATELIMIT_ENABLED": "false", "CLOCK_START": f"{today}T07:59:30"}
        # the clock reads 07:59:30 when locust starts (a generous allowance for the start-up)
        anchor = time.time() + 90
        env["CLOCK_ANCHOR"] = f"{anchor:.3f}"
        started = demo.start(env, keep=False)
        log(f"production demo up in {started:.1f} s: {demo.state['url']}")
        token = create_token(pg.url)
        time.sleep(max(0.0, anchor - time.time()))
        prefix = workdir / "locust"
        locust_env = {
            **os.environ,
            "QS_TOKEN": token,
            "QS_RELEASE_DAY": release_day.isoformat(),
        }
        log(f"locust: {args.users} users for {args.seconds} s; release day {release_day}")
        began = time.monotonic()
        out = subprocess.run(
            [
                LOCUST,
                "-f",
                str(ROOT / "benchmarks" / "load_locust.py"),
                "--headless",
                "--host",
                demo.state["url"],
                "-u",
                str(args.users),
                "-r",
                str(args.spawn_rate),
                "-t",
                f"{args.seconds}s",
                "--stop-timeout",
                "5",
                "--csv",
                str(prefix),
                "--only-summary",
            ],
            env=locust_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=args.seconds + 120,
        )
        wall = time.monotonic() - began
        print(out.stdout[-6000:], out.stderr[-3000:])
        stats = locust_stats(prefix)
        booked = double_bookings(pg.url, release_day)
        result.update(
            {
                "clock_start": f"{today}T07:59:30",
                "release_day": release_day.isoformat(),
                "seconds": round(wall, 1),
                "endpoints": stats,
                "bookings": booked,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "restarts": demo.state.get("restarts"),
            }
        )
    finally:
        if demo is not None:
            demo.stop()
        redis.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    path = RESULTS / "load.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    log(f"written {path}")
    for name, s in result.get("endpoints", {}).items():
        log(
            f"  {name:<22} n={s['requests']:<6} fail={s['failures']:<4} {s['per_s']}/s "
            f"p50={s['p50_ms']} p95={s['p95_ms']} p99={s['p99_ms']} ms"
        )
    log(f"bookings: {result.get('bookings')}")
    return 0 if result.get("bookings", {}).get("double_bookings") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
