"""What bench_booking.py's contended phase does and where its time goes.

Runs that phase as the benchmark does (two ``queue-service serve`` processes and the scheduler's
mail sender on PostgreSQL with 50,000 appointments, 16 client threads booking the earliest times
at Aegi through the bearer API) and meanwhile:

- counts the clients' requests by route and status (bookings, 409s, the slot lists they reload);
- reads the CPU time of each party from /proc: the two servers, the scheduler, the client
  process itself (its 16 threads share one GIL), the PostgreSQL backends of the database, and
  the whole machine's idle time;
- samples ``pg_stat_activity`` of the database every 10 ms (from its own process): state, wait
  event, and for a connection idle in a transaction the statement it last ran (what its server
  process was doing between two statements);
- samples server A with py-spy and prints our frames by inclusive share of its busy samples.

    .venv/bin/python benchmarks/profile_booking.py --seconds 10 --raw /tmp/booking-spy.txt
    .venv/bin/python benchmarks/profile_booking.py --template qs_booking_tmpl   # keep the data

``--template NAME`` keeps the prepared 50,000 appointments in a database of that name and copies
it for each run (preparing takes about a minute). Timings depend on the machine's load; the
shares and the per-request counts are what to compare.
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

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_booking  # noqa: E402
from benchmarks.common import PG_URL, cpu_seconds  # noqa: E402
from benchmarks.profile_queue import top_frames  # noqa: E402


def _database(template: str | None) -> tuple[str, str, object]:
    """A prepared database for one run: its URL, the bench token and the function dropping it."""
    admin = make_url(PG_URL)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"qs_profile_booking_{os.getpid()}"
    token_file = Path(tempfile.gettempdir()) / f"{template}.token" if template else None
    with engine.connect() as conn:
        exists = (
            template
            and conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template}
            ).scalar()
        )
        if template and exists and token_file and token_file.exists():
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            token = token_file.read_text().strip()
        else:
            target = template or name
            if template:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
            conn.execute(text(f'CREATE DATABASE "{target}"'))
            print("preparing 50,000 appointments ...", flush=True)
            token = bench_booking.prepare(
                admin.set(database=target).render_as_string(hide_password=False), seed=7
            )["token"]
            if template and token_file:
                token_file.write_text(token)
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), token, drop


def _statement_kind(query: str) -> str:
    """A short name for the statement a connection last ran."""
    q = " ".join(query.split())
    for pattern, name in (
        (r"^BEGIN", "BEGIN"),
        (r"^SELECT 'auth'", "revision read"),
        (
            r"^SELECT slot_seats\.unit_start, slot_seats\.seat_no, \(SELECT count",
            "(lock+) seats+count read",
        ),
        (r"pg_advisory_xact_lock", "advisory lock"),
        (r"^INSERT INTO appointments", "appointment insert"),
        (r"^INSERT INTO outbox_mails", "outbox insert"),
        (r"^WITH .*INSERT INTO appointments", "appointment+outbox+seats insert"),
        (r"^INSERT INTO slot_seats", "seat claim"),
        (r"^COMMIT", "COMMIT"),
        (r"^ROLLBACK", "ROLLBACK"),
        (r"^UPDATE outbox_mails", "outbox claim/record"),
        (r"FROM slot_seats", "seat count (search)"),
        (r"^SELECT api_tokens|FROM api_tokens", "token"),
    ):
        if re.search(pattern, q):
            return name
    return q[:60]


def _sample_activity(url: str, database: str, stop, out) -> None:
    """pg_stat_activity of ``database`` every 10 ms until ``stop`` is set (its own process)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    seen: collections.Counter = collections.Counter()
    samples = 0
    with engine.connect() as conn:
        me = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        while not stop.is_set():
            rows = conn.execute(
                text(
                    "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity "
                    "WHERE datname = :d AND backend_type = 'client backend' AND pid <> :me"
                ),
                {"d": database, "me": me},
            ).all()
            samples += 1
            for _pid, state, wtype, wevent, query in rows:
                if state == "idle":
                    key = "idle (between requests)"
                elif state == "active" and wtype:
                    key = f"active, waiting {wtype}/{wevent} in {_statement_kind(query or '')}"
                elif state == "active":
                    key = f"active (running) {_statement_kind(query or '')}"
                else:
                    key = f"{state} after {_statement_kind(query or '')}"
                seen[key] += 1
            time.sleep(0.01)
    engine.dispose()
    out.put((samples, dict(seen)))


def _backend_cpu(database_url: str, database: str) -> dict[int, float]:
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database}
        ).scalars()
        found = {}
        for pid in pids:
            try:
                found[pid] = cpu_seconds(pid)
            except OSError:
                pass
    engine.dispose()
    return found


def _machine_idle() -> float:
    """Idle + iowait seconds of all CPUs so far (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


class _CountingSession(requests.Session):
    counts: collections.Counter = collections.Counter()

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        route = "search" if "/slots" in url else "booking" if "/appointments" in url else url
        _CountingSession.counts[f"{method} {route} {response.status_code}"] += 1
        return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw samples here")
    parser.add_argument("--template", help="keep the prepared data in this database")
    parser.add_argument("--no-spy", action="store_true", help="no py-spy (its cost off server A)")
    options = parser.parse_args()
    spy_binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
        "py-spy"
    )
    url, token, drop = _database(options.template)
    database = make_url(url).database
    try:
        with tempfile.TemporaryDirectory(prefix="qs-profile-booking-") as tmp:
            workdir = Path(tmp)
            scaled = {"MAIL_SENT_BY": "scheduler"}
            parties = {}
            try:
                for name in ("load-a", "load-b"):
                    parties[name] = bench_booking.serve(url, workdir, name, **scaled)
                parties["scheduler"] = bench_booking.Scheduler(url, workdir, **scaled)
                _run(options, spy_binary, url, database, token, parties, workdir)
            finally:
                for party in parties.values():
                    party.stop()
            print(f"\nthe guarantee: {bench_booking.double_bookings(url)}")
    finally:
        drop()


def _run(options, spy_binary, url, database, token, parties, workdir: Path) -> None:
    raw = options.raw or workdir / "samples.txt"
    requests.Session = _CountingSession  # type: ignore[misc]  # the benchmark's clients, counted
    bench_booking.requests.Session = _CountingSession  # type: ignore[attr-defined]
    pids = {name: party.process.pid for name, party in parties.items()}
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    sampler = context.Process(target=_sample_activity, args=(url, database, stop, out))
    sampler.start()
    spy = None
    if not options.no_spy and spy_binary:
        spy = subprocess.Popen(
            [spy_binary, "record", "-p", str(pids["load-a"]), "-o", str(raw)]
            + ["-f", "raw", "-r", "200", "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    time.sleep(1.0)
    load = os.getloadavg()
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    backends0 = _backend_cpu(url, database)
    own0, idle0, t0 = os.times(), _machine_idle(), time.monotonic()
    result = bench_booking.throughput(
        [parties["load-a"].base, parties["load-b"].base], token, options.seconds, options.clients
    )
    wall = time.monotonic() - t0
    own1, idle1 = os.times(), _machine_idle()
    cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
    backends1 = _backend_cpu(url, database)
    stop.set()
    samples, activity = out.get(timeout=30)
    sampler.join(timeout=30)
    if spy:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    pg_cpu = sum(v - backends0.get(pid, 0.0) for pid, v in backends1.items())
    client_cpu = (own1.user - own0.user) + (own1.system - own0.system)
    attempts = sum(result["statuses"].values())
    print(f"load average at the start {[round(v, 2) for v in load]}; {wall:.1f} s of load")
    print(
        f"bookings/s {result['bookings_per_s']}, attempts/s {result['attempts_per_s']}, "
        f"statuses {result['statuses']}"
    )
    print("client requests by route and status:")
    for key, n in sorted(_CountingSession.counts.items()):
        print(f"  {key:<32} {n:6d}  ({n / wall:6.1f}/s)")
    print(f"CPU seconds over the load ({wall:.1f} s wall, 2 cores = {2 * wall:.1f} s):")
    rows = {
        "server A (py-spy attached)" if spy else "server A": cpu["load-a"],
        "server B": cpu["load-b"],
        "scheduler (mail)": cpu["scheduler"],
        "PostgreSQL backends of the db": pg_cpu,
        "clients (one process, 16 threads)": client_cpu,
        "machine idle": idle1 - idle0,
    }
    for name, seconds in rows.items():
        print(
            f"  {name:<36} {seconds:6.2f} s  {100 * seconds / wall:5.1f} % of a core  "
            f"{1000 * seconds / max(attempts, 1):6.2f} ms per attempt"
        )
    print(f"\npg_stat_activity, {samples} samples: mean connections per state")
    for key, n in sorted(activity.items(), key=lambda kv: -kv[1]):
        print(f"  {n / samples:6.2f}  {key}")
    if spy and raw.exists():
        total, frames = top_frames(raw, options.top)
        print(f"\nserver A: {total} busy samples; inclusive share:")
        for share, frame in frames:
            print(f"{share:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
