"""Benchmark of the live displays: from the clerk's call-next request to the ``ticket_called``
event at every connected display, next to a bare Flask-SocketIO broadcast (the floor) measured
in the same run, the same async mode and the same way.

    .venv/bin/python benchmarks/bench_realtime.py                    # full run (quiet machine please)
    .venv/bin/python benchmarks/bench_realtime.py --quick            # a short run that proves it works
    .venv/bin/python benchmarks/bench_realtime.py --modes gevent --scenarios thousand

Scenarios (issue 4):
  office    150 displays on one server process (embedded profile: SQLite)
  thousand  1,000 displays on one server process (SQLite)
  redis     150 displays spread over two server processes sharing PostgreSQL and Redis (the
            message queue); the clerk calls through the first, half the displays hang on the second,
            and a kiosk issues a ticket through the second after every call
  soak      the same as redis with a call every second for ten minutes (--calls to shorten it):
            resyncs per display and hour without any fault

Each display follows the seq rules of docs/realtime-protocol.md §5 as display.js does: it counts
the events that arrive out of seq order and the resyncs it had to make (a seq still missing after
the 2 s reorder window), and re-joins its office for each resync as the page would.

Each display is a ``socketio.AsyncClient`` (websocket transport) that joins its office on
``/display`` the way the display page does; the clients run in ``--procs`` processes of their
own (the thread-per-message sync client would itself be the bottleneck). The coordinator opens a
counter, issues the tickets, then calls them one by one through ``POST .../call-next`` (API token),
``--spacing`` seconds apart, and finishes each ticket between calls (unmeasured, but its
``queue_updated`` reaches every display too). Latency per (display, call) = receipt time at the
display - the moment just before the clerk's request; "last display" is the slowest display of
each call. The floor (benchmarks/floor_realtime.py) does the same with a POST that emits from
the request. Memory per client = (server RSS with every display joined - RSS before) / displays.
Server CPU per call is taken from /proc over the calling phase.

Targets: office p99 <= 40 ms; 1,000 displays p95 <= 150 ms with the clerk's call-next p95 < 50 ms;
through Redis p95 <= 60 ms; at most 2x the floor at p95; at most 120 KB of server memory per
client. Figures only, never pass/fail; written to benchmarks/results/realtime.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import (  # benchmarks/ is the script's own directory
    CLOCK_START,
    ROOT,
    cpu_seconds,
    free_port,
    machine,
    pg_database,
    prepare_database,
    rss_kb,
    start_server,
    summary,
    wait_http,
)

RESULTS = ROOT / "benchmarks" / "results" / "realtime.json"
OFFICE = "aegi"
SERVICE = "PA"
REDIS_URL = "redis://127.0.0.1:6379/0"
SCENARIOS = {
    "office": {"clients": 150, "servers": 1, "database": "sqlite", "calls": 60, "spacing": 0.5},
    "thousand": {"clients": 1000, "servers": 1, "database": "sqlite", "calls": 40, "spacing": 1.0},
    "redis": {"clients": 150, "servers": 2, "database": "postgresql", "calls": 60, "spacing": 0.5},
    "soak": {
        "clients": 150,
        "servers": 2,
        "database": "postgresql",
        "calls": 600,
        "spacing": 1.0,
        "floor": False,  # about resyncs, not latency: the redis scenario has the floor
    },
}
REORDER_SECONDS = 2.0  # display.js REORDER_MS
TARGETS = {
    "office_p99_ms": 40,
    "thousand_p95_ms": 150,
    "thousand_call_next_p95_ms": 50,
    "redis_p95_ms": 60,
    "ratio_to_floor_p95": 2.0,
    "memory_per_client_kb": 120,
}
WARMUP_CALLS = 3
QUEUE_DEPTH = 20  # tickets waiting at the start when every call is followed by a new ticket
MAX_NUMBERS = 999  # numbers of one prefix a day (tickets.numbering.MAX_SEQ)


# ---------------------------------------------------------------- the displays (client processes)


class SeqTracker:
    """The display's seq rules (display.js): seqs in hand up to ``seq``, early ones in ``ahead``."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self.ahead: dict[int, float] = {}
        self.out_of_order = 0  # events that would have been a gap without the reorder window
        self.resyncs = 0
        self.resyncing = False

    def snapshot(self, seq: int) -> None:
        self.seq, self.resyncing = seq, False
        stale = time.monotonic() - REORDER_SECONDS
        self.ahead = {s: at for s, at in self.ahead.items() if s > seq and at >= stale}
        self._advance()

    def event(self, data: dict) -> None:
        if self.seq is None or self.resyncing or not isinstance(data.get("seq"), int):
            return
        new = [s for s in data.get("seqs", [data["seq"]]) if s > self.seq and s not in self.ahead]
        if new and min(new) > self.seq + 1:
            self.out_of_order += 1
        now = time.monotonic()
        for s in new:
            self.ahead[s] = now
        self._advance()

    def _advance(self) -> None:
        while self.seq is not None and self.seq + 1 in self.ahead:
            del self.ahead[self.seq + 1]
            self.seq += 1

    def lost(self) -> bool:
        """A seq has been missing for the reorder window: the display resyncs."""
        if self.resyncing or not self.ahead:
            return False
        return time.monotonic() - min(self.ahead.values()) > REORDER_SECONDS


async def _displays(urls: list[str], first: int, count: int, ready, stop) -> tuple[list, dict]:
    import socketio

    received: list[tuple[str, float]] = []
    clients = []
    trackers: list[tuple[socketio.AsyncClient, SeqTracker]] = []
    gate = asyncio.Semaphore(20)

    async def one(index: int) -> None:
        client = socketio.AsyncClient(reconnection=False)
        tracker = SeqTracker()
        trackers.append((client, tracker))

        @client.on("ticket_called", namespace="/display")
        async def called(data):
            received.append((data["number"], time.time()))
            tracker.event(data)

        @client.on("queue_updated", namespace="/display")
        async def updated(data):
            tracker.event(data)

        @client.on("office_message", namespace="/display")
        async def message(data):
            tracker.event(data)

        @client.on("display_state", namespace="/display")
        async def state(data):
            tracker.snapshot(data["seq"])

        async with gate:
            await client.connect(
                urls[index % len(urls)],
                namespaces=["/display"],
                transports=["websocket"],
                wait_timeout=60,
            )
            ack = await client.call(
                "join_office", {"office": OFFICE}, namespace="/display", timeout=120
            )
            if not ack or not ack.get("ok"):
                raise RuntimeError(f"join refused: {ack}")
        clients.append(client)

    await asyncio.gather(*(one(first + i) for i in range(count)))
    ready.put(count)
    stats = {"resyncs": 0, "out_of_order": 0}

    async def resync(client, tracker: SeqTracker) -> None:
        tracker.resyncing = True
        tracker.resyncs += 1
        try:
            await client.emit("join_office", {"office": OFFICE}, namespace="/display")
        except Exception:  # counted already; the next check tries again
            tracker.resyncing = False

    while not stop.is_set():
        await asyncio.sleep(0.1)
        for client, tracker in trackers:
            if tracker.lost():
                await resync(client, tracker)
    stats["resyncs"] = sum(t.resyncs for _, t in trackers)
    stats["out_of_order"] = sum(t.out_of_order for _, t in trackers)
    await asyncio.sleep(0.5)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True), 20
        )
    except TimeoutError:
        pass
    return received, stats


def display_process(urls, first, count, ready, stop, results) -> None:
    try:
        results.put(asyncio.run(_displays(urls, first, count, ready, stop)))
    except BaseException as exc:  # reported to the coordinator
        ready.put(f"{exc.__class__.__name__}: {exc}")
        results.put(([], {"resyncs": 0, "out_of_order": 0}))


class Displays:
    """``clients`` displays in ``procs`` processes, spread over ``urls``."""

    def __init__(self, urls: list[str], clients: int, procs: int):
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.stop_event, self.results = ctx.Queue(), ctx.Event(), ctx.Queue()
        self.processes = []
        share, first = (
            [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)],
            0,
        )
        for count in share:
            process = ctx.Process(
                target=display_process,
                daemon=True,
                args=(urls, first, count, self.ready, self.stop_event, self.results),
            )
            process.start()
            self.processes.append(process)
            first += count
        self.clients = clients

    def wait_joined(self, timeout: float = 300) -> None:
        joined, deadline = 0, time.monotonic() + timeout
        for _ in self.processes:
            message = self.ready.get(timeout=max(1, deadline - time.monotonic()))
            if isinstance(message, str):
                raise RuntimeError(f"a display process failed: {message}")
            joined += message
        if joined != self.clients:
            raise RuntimeError(f"{joined} of {self.clients} displays joined")

    def collect(self) -> tuple[list[tuple[str, float]], dict]:
        self.stop_event.set()
        received, stats = [], {"resyncs": 0, "out_of_order": 0}
        for _ in self.processes:
            got, counted = self.results.get(timeout=60)
            received += got
            for key in stats:
                stats[key] += counted[key]
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        return received, stats


# ---------------------------------------------------------------- servers under test


class App:
    """``queue-service serve`` processes on one prepared database."""

    def __init__(self, workdir: Path, mode: str, servers: int, database: str):
        self.drop = None
        if database == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            url, self.drop = pg_database()
        self.token, devices = prepare_database(workdir, url, [OFFICE])
        self.device = devices[OFFICE]
        env = {
            "SOCKETIO_ASYNC_MODE": mode,
            "CLOCK_START": CLOCK_START,
            "RATELIMIT_ENABLED": "false",
            "SCHEDULER_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
        }
        if servers > 1:
            env |= {"REDIS_URL": REDIS_URL, "SOCKETIO_CHANNEL": f"qs-bench-{secrets.token_hex(4)}"}
        self.servers = [
            start_server(workdir, database_url=url, env=env, load_demo=False, timeout=120)
            for _ in range(servers)
        ]
        self.urls = [server.base_url for server in self.servers]
        self.pids = [server.process.pid for server in self.servers]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.counter_url = f"{self.urls[0]}/api/v1/offices/{OFFICE}/counters/1"

    def prepare(self, calls: int) -> None:
        self.http.post(f"{self.counter_url}/open", timeout=30).raise_for_status()
        # more tickets than one counter serves in a day: the walk-in forecast would refuse them
        # at a kiosk (409 served_out), so reception issues them past the forecast (staff
        # ``force``); this benchmark is about the displays. A day has the numbers P001-P999
        # (409 numbers_exhausted after them, which force does not pass): with two servers every
        # call is followed by a ticket through the second one, so a standing queue of
        # QUEUE_DEPTH is enough and the soak's 600 calls take 620 numbers, not 1,200
        refilled = len(self.urls) > 1
        upfront = min(calls, QUEUE_DEPTH) if refilled else calls
        needed = upfront + (calls if refilled else 0)
        if needed > MAX_NUMBERS:
            raise SystemExit(f"{calls} calls need {needed} numbers of {SERVICE}; a day has 999")
        for _ in range(upfront):
            self._issue(self.urls[0])
        for url in self.urls:  # warm each process (imports, templates, connections)
            requests.get(
                f"{url}/api/v1/offices/{OFFICE}/display-state", timeout=30
            ).raise_for_status()

    def call(self) -> tuple[str, float, float]:
        sent = time.time()
        began = time.perf_counter()
        response = self.http.post(f"{self.counter_url}/call-next", timeout=30)
        rtt = time.perf_counter() - began
        response.raise_for_status()
        body = response.json()
        self._last = body["token"]
        return body["number"], sent, rtt

    def after_call(self) -> None:
        for action in ("start", "finish"):
            self.http.post(
                f"{self.urls[0]}/api/v1/tickets/{self._last}/{action}", timeout=30
            ).raise_for_status()
        if len(self.urls) > 1:  # a ticket through the other process: its changes cross the clerk's
            self._issue(self.urls[-1])

    def _issue(self, base: str) -> None:
        self.http.post(
            f"{base}/api/v1/offices/{OFFICE}/tickets",
            json={"service": SERVICE, "force": True},
            headers={"Idempotency-Key": secrets.token_hex(8)},
            timeout=30,
        ).raise_for_status()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        if self.drop:
            self.drop()


class Floor:
    """benchmarks/floor_realtime.py processes (with two: through the same Redis)."""

    def __init__(self, workdir: Path, mode: str, servers: int, database: str):
        channel = f"qs-floor-{secrets.token_hex(4)}"
        self.processes, self.urls = [], []
        for _ in range(servers):
            port = free_port()
            args = [sys.executable, str(ROOT / "benchmarks" / "floor_realtime.py"), str(port), mode]
            if servers > 1:
                args += [REDIS_URL, channel]
            self.processes.append(
                subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            self.urls.append(f"http://127.0.0.1:{port}")
        for url in self.urls:
            wait_http(url + "/healthz")
        self.pids = [p.pid for p in self.processes]
        self.http = requests.Session()
        self.n = 0

    def prepare(self, calls: int) -> None:
        pass

    def call(self) -> tuple[str, float, float]:
        self.n += 1
        number = f"F{self.n:03d}"
        sent = time.time()
        began = time.perf_counter()
        response = self.http.post(
            f"{self.urls[0]}/emit", json={"number": number, "office": OFFICE}, timeout=30
        )
        rtt = time.perf_counter() - began
        response.raise_for_status()
        return number, sent, rtt

    def after_call(self) -> None:
        pass

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


# ---------------------------------------------------------------- one measurement


def measure(kind: type, mode: str, scenario: dict, procs: int) -> dict:
    calls, spacing, clients = scenario["calls"], scenario["spacing"], scenario["clients"]
    with tempfile.TemporaryDirectory(prefix="qs-bench-rt-") as tmp:
        target = kind(Path(tmp), mode, scenario["servers"], scenario["database"])
        displays = None
        try:
            target.prepare(calls + WARMUP_CALLS)
            time.sleep(1)
            rss_before = [rss_kb(pid) for pid in target.pids]
            joined_at = time.perf_counter()
            displays = Displays(target.urls, clients, procs)
            displays.wait_joined()
            join_seconds = time.perf_counter() - joined_at
            time.sleep(2)
            rss_after = [rss_kb(pid) for pid in target.pids]

            sent_at: dict[str, float] = {}
            rtts: list[float] = []
            cpu_before = measured_calls = None
            for index in range(calls + WARMUP_CALLS):
                if index == WARMUP_CALLS:
                    cpu_before = sum(cpu_seconds(pid) for pid in target.pids)
                    phase_began = time.perf_counter()
                number, sent, rtt = target.call()
                if index >= WARMUP_CALLS:
                    sent_at[number] = sent
                    rtts.append(rtt)
                time.sleep(spacing / 2)
                target.after_call()
                time.sleep(spacing / 2)
            measured_calls = calls
            time.sleep(1)
            cpu = sum(cpu_seconds(pid) for pid in target.pids) - cpu_before
            phase = time.perf_counter() - phase_began
            received, seq_stats = displays.collect()
            displays = None
        finally:
            if displays is not None:
                displays.collect()
            target.stop()

    latencies = [t - sent_at[number] for number, t in received if number in sent_at]
    per_call: dict[str, float] = {}
    for number, t in received:
        if number in sent_at:
            per_call[number] = max(per_call.get(number, 0.0), t - sent_at[number])
    return {
        "clients": clients,
        "server_processes": scenario["servers"],
        "database": scenario["database"] if kind is App else None,
        "calls": measured_calls,
        "expected_receipts": clients * measured_calls,
        "received": len(latencies),
        "e2e": summary(latencies),
        "last_display": summary(list(per_call.values())),
        "call_request": summary(rtts),
        "join_seconds": round(join_seconds, 1),
        "memory_per_client_kb": round((sum(rss_after) - sum(rss_before)) / clients, 1),
        "server_cpu_ms_per_call": round(cpu / measured_calls * 1000, 1),
        "phase_seconds": round(phase, 1),
        "out_of_order_events": seq_stats["out_of_order"],
        "resyncs": seq_stats["resyncs"],
        "resyncs_per_display_hour": round(seq_stats["resyncs"] / clients / (phase / 3600), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer calls (proves the script works)"
    )
    parser.add_argument("--modes", default="threading,gevent")
    parser.add_argument(
        "--scenarios", default="office,thousand,redis", help=f"of {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--procs", type=int, default=4, help="display client processes")
    parser.add_argument("--calls", type=int, default=None, help="calls per scenario (overrides)")
    options = parser.parse_args()

    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": options.quick,
        "machine": machine(),
        "targets": TARGETS,
        "runs": [],
    }
    if RESULTS.exists():  # keep the figures of scenarios this run does not repeat
        previous = json.loads(RESULTS.read_text())
        report["previous_runs"] = [
            r
            for r in previous.get("runs", [])
            if (r["mode"], r["scenario"])
            not in {(m, s) for m in options.modes.split(",") for s in options.scenarios.split(",")}
        ]
    for mode in options.modes.split(","):
        for name in options.scenarios.split(","):
            scenario = dict(SCENARIOS[name])
            if options.quick:
                scenario["calls"] = 10
            if options.calls:
                scenario["calls"] = options.calls
            procs = options.procs if scenario["clients"] > 200 else max(2, options.procs // 2)
            run = {"mode": mode, "scenario": name}
            kinds = (("floor", Floor), ("ours", App))
            if not scenario.get("floor", True):
                kinds = kinds[1:]
                run["floor"] = {"error": "not measured in this scenario"}
            for label, kind in kinds:
                print(
                    f"-- {mode} {name} {label}: {scenario['clients']} displays, {scenario['calls']} calls",
                    flush=True,
                )
                try:
                    run[label] = measure(kind, mode, scenario, procs)
                except Exception as exc:  # reported, the other runs go on
                    run[label] = {"error": f"{exc.__class__.__name__}: {exc}"}
            if "error" not in run["floor"] and "error" not in run["ours"]:
                floor_p95 = run["floor"]["e2e"]["p95_ms"]
                run["ratio_to_floor_p95"] = (
                    round(run["ours"]["e2e"]["p95_ms"] / floor_p95, 2) if floor_p95 else None
                )
            report["runs"].append(run)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    _print(report)


def _print(report: dict) -> None:
    print(
        f"\nCall-to-display latency{' (quick)' if report['quick'] else ''}; targets: office p99 <= 40 ms, "
        "1,000 p95 <= 150 ms with call-next p95 < 50 ms, Redis p95 <= 60 ms, <= 2x floor p95, "
        "<= 120 KB/client\n"
    )
    head = (
        f"{'mode':<10} {'scenario':<9} {'what':<6} {'recv/exp':>13} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'last p95':>9} {'req p95':>8} {'KB/cl':>6} {'cpu/call':>8} {'x floor':>8} "
        f"{'unordered':>9} {'resyncs':>7} {'/disp/h':>7}"
    )
    print(head)
    print("-" * len(head))
    for run in report["runs"]:
        for label in ("floor", "ours"):
            row = run[label]
            if "error" in row:
                print(f"{run['mode']:<10} {run['scenario']:<9} {label:<6} error: {row['error']}")
                continue
            ratio = run.get("ratio_to_floor_p95") if label == "ours" else 1.0
            print(
                f"{run['mode']:<10} {run['scenario']:<9} {label:<6} "
                f"{row['received']:>6}/{row['expected_receipts']:<6} {row['e2e']['p50_ms']:>7} "
                f"{row['e2e']['p95_ms']:>7} {row['e2e']['p99_ms']:>7} {row['last_display']['p95_ms']:>9} "
                f"{row['call_request']['p95_ms']:>8} {row['memory_per_client_kb']:>6} "
                f"{row['server_cpu_ms_per_call']:>8} {ratio!s:>8} "
                f"{row.get('out_of_order_events', '-')!s:>9} {row.get('resyncs', '-')!s:>7} "
                f"{row.get('resyncs_per_display_hour', '-')!s:>7}"
            )
    load = report["machine"].get("load_average_at_start")
    print(f"\nms throughout; load average at start {load}; written to {RESULTS.relative_to(ROOT)}")
    print(
        "unordered: events that arrived before a lower seq (a gap without the reorder window); "
        "resyncs: seqs still missing after it"
    )


if __name__ == "__main__":
    main()
