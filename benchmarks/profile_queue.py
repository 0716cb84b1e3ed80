"""Where a served process spends its time under the live-queue load of bench_queue.py.

Starts ``queue-service serve`` (gevent, as deployed) on SQLite or PostgreSQL, runs the kiosk and
clerk phases of bench_queue.py with 8 clients and samples the server with py-spy meanwhile, then
prints the frames of our code (and of the libraries that matter) by share of the busy samples,
inclusive. Needs py-spy (``pip install -e '.[profile]'``) and the right to trace a child process.

    .venv/bin/python benchmarks/profile_queue.py sqlite
    .venv/bin/python benchmarks/profile_queue.py postgresql --tickets 60 --raw /tmp/pg.txt
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_queue  # noqa: E402
from benchmarks.common import cpu_seconds, pg_database, start_server  # noqa: E402

SHOWN = ("queue_service", "sqlalchemy/orm/session", "flask/app", "engineio", "flask_limiter")


def top_frames(raw: Path, count: int) -> tuple[int, list[tuple[float, str]]]:
    """(busy samples, [(share %, frame)]) of a py-spy raw (collapsed) file, inclusive."""
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().split("\n"):
        if not line.strip():
            continue
        stack, _, samples = line.rpartition(" ")
        total += int(samples)
        frames = {re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")}
        for frame in frames:
            inclusive[frame] += int(samples)
    shown = [
        (round(100 * n / total, 1), frame)
        for frame, n in inclusive.most_common()
        if any(part in frame for part in SHOWN)
    ]
    return total, shown[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", choices=["sqlite", "postgresql"])
    parser.add_argument("--tickets", type=int, default=40, help="tickets per client")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw samples here")
    options = parser.parse_args()
    spy_binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
        "py-spy"
    )
    if not spy_binary:
        sys.exit("py-spy is not installed: pip install -e '.[profile]'")
    drop = None
    with tempfile.TemporaryDirectory(prefix="qs-profile-") as tmp:
        workdir = Path(tmp)
        raw = options.raw or workdir / "samples.txt"
        if options.database == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            url, drop = pg_database()
        try:
            devices, token, env = bench_queue._prepare(workdir, url)
            server = start_server(workdir, database_url=url, env=env, load_demo=False, timeout=120)
            try:
                with multiprocessing.get_context("fork").Pool(8) as pool:
                    spy = subprocess.Popen(
                        [spy_binary, "record", "-p", str(server.process.pid), "-o", str(raw)]
                        + ["-f", "raw", "-r", "200", "--nonblocking"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    time.sleep(1)
                    load = os.getloadavg()
                    result = bench_queue._measure(
                        server.base_url,
                        devices,
                        token,
                        pool,
                        8,
                        options.tickets,
                        lambda: cpu_seconds(server.process.pid),
                    )
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=60)
            finally:
                server.stop()
            total, frames = top_frames(raw, options.top)
        finally:
            if drop:
                drop()
    print(f"{options.database}: load average {[round(v, 2) for v in load]}")
    for op in ("issue", "call_next", "start", "finish"):
        row = result[op]
        print(f"  {op:<10} n={row['requests']:<5} p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms")
    cpu = result["server_cpu_ms"]
    print(f"  server CPU per request: issue {cpu['issue']} ms, cycle {cpu['call_cycle']} ms")
    print(f"  tickets/s {result['tickets_per_s']}\n\n{total} busy samples; inclusive share:")
    for share, frame in frames:
        print(f"{share:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
