"""The simulated city day against the production demo, with and without faults.

    python benchmarks/faults.py [--faults kill-app,redis,postgres,nginx] [--visits 2500]
                                [--offices a,b] [--until HH:MM] [--speed 240] [--quick]

It starts a PRIVATE Redis (redis-server on a free port) and a PRIVATE PostgreSQL cluster
(initdb in a temp folder, run as user postgres, on a free port): the shared ones on 6379 and
5432 are never touched. Against them it runs ``tools/production_demo.py`` (two gunicorn servers,
the scheduler, nginx with TLS):

1. the clock on the day before at noon, real time: ``queue-service simulate --book-only`` books
   the appointments of the simulated days ahead;
2. per day: the demo again (database kept) with the clock compressed (``CLOCK_SPEED``) from
   07:50 of that Thursday, ``queue-service simulate --url ... --bookings ...``; integrity is read
   back from the private database;
3. the fault day: while the simulation runs, one application process is killed (the demo's
   supervisor restarts it, as systemd would), Redis is stopped for 30 s and started again,
   PostgreSQL is restarted, nginx is stopped (and restarted by the supervisor). For each the
   time to recovery is measured from outside: until requests through nginx succeed again, until
   the killed process answers, until ``/readyz`` reports the part reachable.

Writes ``benchmarks/results/faults.json`` (and the simulation reports next to it). Every
process it starts is stopped by pid; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import requests
import urllib3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine  # noqa: E402
from benchmarks.production import (  # noqa: E402
    CLI,
    RESULTS,
    Demo,
    PrivatePostgres,
    PrivateRedis,
    create_token,
    log,
    wait_until,
)

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


# ------------------------------------------------------------------ faults


def readyz(demo: Demo) -> dict:
    return requests.get(demo.state["url"] + "/readyz", timeout=2, verify=False).json()


def busiest_upstream(demo: Demo) -> int:
    """The application port nginx sent most of the latest requests to (the routing cookie
    spreads clients over the processes: the busier one's loss matters more)."""
    log_path = Path(demo.state["logs"]) / "nginx-access.log"
    ports = re.findall(r"upstream=127\.0\.0\.1:(\d+)", log_path.read_text()[-20000:])
    return Counter(int(p) for p in ports).most_common(1)[0][0] if ports else demo.app_ports[0]


def fault_kill_app(demo: Demo, pg, redis) -> dict:
    port = busiest_upstream(demo)
    name = f"app-{port}"
    pid = demo.state["pids"][name]
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    through_nginx = wait_until(lambda: demo.ok("/api/v1/offices/aegi/display-state"), 60)
    back = wait_until(
        lambda: (
            demo.state["pids"][name] != pid
            and requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
        ),
        90,
    )
    return {
        "fault": "kill-app",
        "what": f"SIGKILL to {name} (pid {pid}); the demo's supervisor restarts it (Restart=always)",
        "through_nginx_ok_after_s": _r(through_nginx),
        # measured from the kill, after the wait above
        "killed_process_back_after_s": _r(None if back is None else back + (through_nginx or 0.0)),
        "at": killed,
    }


def fault_redis(demo: Demo, pg, redis, seconds: float = 30.0) -> dict:
    redis.stop()
    stopped = time.monotonic()
    during = wait_until(lambda: readyz(demo).get("redis") == "unreachable", 15)
    time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    redis.start()
    back = wait_until(lambda: readyz(demo).get("redis") == "reachable", 60)
    return {
        "fault": "redis",
        "what": f"private redis-server stopped for {seconds:.0f} s, then started again",
        "readyz_says_unreachable_after_s": _r(during),
        "redis_reachable_again_after_restart_s": _r(back),
        "at": stopped,
    }


def fault_postgres(demo: Demo, pg, redis) -> dict:
    began = time.monotonic()
    pg.restart()
    restarted = time.monotonic() - began
    back = wait_until(lambda: readyz(demo).get("database") == "reachable", 60)
    writes = wait_until(lambda: demo.ok("/api/v1/offices/aegi/status"), 60)
    return {
        "fault": "postgres",
        "what": "private PostgreSQL restarted (pg_ctl restart -m fast)",
        "pg_ctl_restart_s": _r(restarted),
        "readyz_database_reachable_after_s": _r(back + restarted if back is not None else None),
        "api_ok_after_s": _r(writes + restarted if writes is not None else None),
        "at": began,
    }


def fault_nginx(demo: Demo, pg, redis) -> dict:
    pid = demo.state["pids"]["nginx"]
    os.kill(pid, signal.SIGTERM)
    stopped = time.monotonic()
    back = wait_until(lambda: demo.state["pids"]["nginx"] != pid and demo.ok("/healthz"), 60)
    return {
        "fault": "nginx",
        "what": f"nginx (pid {pid}) stopped with SIGTERM; the supervisor starts it again",
        "https_ok_after_s": _r(back),
        "at": stopped,
    }


FAULTS = {
    "kill-app": fault_kill_app,
    "redis": fault_redis,
    "postgres": fault_postgres,
    "nginx": fault_nginx,
}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


# ------------------------------------------------------------------ a day


def simulate_day(
    demo, token, day, args, bookings: Path, report: Path, faults: list[str], pg, redis, clock
):
    """Run the day (subprocess) and inject ``faults`` spaced over it; return their timings."""
    cmd = [
        CLI,
        "simulate",
        "--url",
        demo.state["url"],
        "--insecure",
        "--token",
        token,
        "--visits",
        str(args.visits),
        "--seed",
        "1",
        "--bookings",
        str(bookings),
        "--report",
        str(report),
        "--database-url",
        demo.database_url,
        "--quiet",
        "--deadline",
        str(args.deadline),
        "--speed",
        str(args.speed),
        "--clock",
        clock,
    ]
    if args.offices:
        cmd += ["--offices", args.offices]
    if args.until:
        cmd += ["--until", args.until]
    began = time.monotonic()
    sim = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(sim.stdout), daemon=True)
    reader.start()
    timings = []
    # minutes of the day at which each fault starts: spaced so that one recovers before the next
    minute_of = {
        "kill-app": 9 * 60,
        "redis": 9 * 60 + 40,
        "postgres": 14 * 60 + 30,
        "nginx": 16 * 60,
    }
    for name in faults:
        due = (minute_of[name] - (7 * 60 + 50)) * 60 / args.speed - (time.monotonic() - began)
        if due > 0:
            time.sleep(due)
        if sim.poll() is not None:
            break
        log(f"fault: {name}")
        try:
            result = FAULTS[name](demo, pg, redis)
        except Exception as exc:  # recorded; the day goes on
            result = {"fault": name, "error": repr(exc)[:500], "at": time.monotonic()}
        result["at_real_s_into_day"] = round(result.pop("at") - began, 1)
        timings.append(result)
        log(f"  {result}")
    try:
        sim.wait(timeout=args.deadline + 300)
    except BaseException:
        sim.kill()  # never leave the simulation running
        raise
    reader.join(timeout=5)
    return timings, "".join(output), round(time.monotonic() - began, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faults", default="kill-app,redis,postgres,nginx")
    parser.add_argument("--no-plain", action="store_true", help="skip the day without faults")
    parser.add_argument("--visits", type=int, default=2500)
    parser.add_argument("--offices", default=None)
    parser.add_argument("--until", default=None)
    parser.add_argument("--speed", type=float, default=240.0)
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--quick", action="store_true", help="2 offices, 250 visits")
    args = parser.parse_args(argv)
    if args.quick:
        args.offices = args.offices or "aegi,linden"
        args.visits = min(args.visits, 250)
    faults = [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="qs-faults-"))
    os.chmod(workdir, 0o755)
    redis, pg = PrivateRedis(workdir), PrivatePostgres(workdir / "pg")
    demo = None
    result: dict = {"machine": machine(), "args": vars(args), "days": []}
    today = date.today()
    first = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
    days = ([] if args.no_plain else [("plain", first, [])]) + (
        [("faults", first + timedelta(days=7), faults)] if faults else []
    )
    try:
        redis.start()
        pg.init()
        demo = Demo(workdir, pg.url, redis.url)
        log(f"private Redis {redis.url}, PostgreSQL {pg.url}")
        # 1. book ahead: the clock on the day before the first day, real time
        started = demo.start({"CLOCK_START": f"{first - timedelta(days=1)}T12:00"}, keep=False)
        log(f"production demo up in {started:.1f} s: {demo.state['url']}")
        token = create_token(pg.url)
        for label, day, _ in days:
            path = workdir / f"bookings-{day}.json"
            out = subprocess.run(
                [
                    CLI,
                    "simulate",
                    "--url",
                    demo.state["url"],
                    "--insecure",
                    "--token",
                    token,
                    "--book-only",
                    "--day",
                    day.isoformat(),
                    "--bookings",
                    str(path),
                    "--visits",
                    str(args.visits),
                    "--seed",
                    "1",
                    *(["--offices", args.offices] if args.offices else []),
                    *(["--until", args.until] if args.until else []),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=900,
            )
            log(
                f"{label} {day}: {out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-500:]}"
            )
        demo.stop()
        # 2. the days, compressed
        for label, day, day_faults in days:
            allowance = max(30.0, 1.5 * started)
            anchor = time.time() + allowance
            env = {
                "CLOCK_START": f"{day}T07:50",
                "CLOCK_SPEED": str(args.speed),
                "CLOCK_ANCHOR": f"{anchor:.3f}",
                # jobs fire on the machine's time: as often as the compressed clock needs
                "SCHEDULER_JOB_INTERVALS": "mark_appointment_no_shows=2,expire_booking_holds=5",
            }
            demo.start(env, keep=True)
            time.sleep(max(0.0, anchor - time.time()))
            report_path = RESULTS / f"simulation-production-{label}.json"
            log(f"day {day} ({label}) at {args.speed:g}x, faults: {day_faults or 'none'}")
            timings, output, seconds = simulate_day(
                demo,
                token,
                day,
                args,
                workdir / f"bookings-{day}.json",
                report_path,
                day_faults,
                pg,
                redis,
                f"{env['CLOCK_START']}@{env['CLOCK_ANCHOR']}",
            )
            print(output[-4000:])
            report = json.loads(report_path.read_text()) if report_path.exists() else {}
            restarts = demo.state.get("restarts")
            demo.stop()
            result["days"].append(
                {
                    "label": label,
                    "day": day.isoformat(),
                    "seconds": seconds,
                    "faults": timings,
                    "restarts": restarts,
                    "report": str(report_path.relative_to(ROOT)),
                    "integrity_all_ok": report.get("integrity", {}).get("all_ok"),
                    "figures": {
                        k: report.get("figures", {}).get(k)
                        for k in (
                            "simulated",
                            "real_seconds",
                            "visits",
                            "throughput",
                            "call_to_display_ms",
                            "connections",
                            "error_count",
                        )
                    },
                    "integrity": report.get("integrity"),
                    "load_average": list(os.getloadavg()),
                }
            )
    finally:
        if demo is not None:
            demo.stop()
        redis.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    out = RESULTS / "faults.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"written {out}")
    return 0 if all(d["integrity_all_ok"] for d in result["days"]) else 1


if __name__ == "__main__":
    sys.exit(main())
