"""Statements and Python function calls per request of the live queue, counted in-process.

The kiosk API issues walk-ins into bench_queue.py's eight offices, then the bearer API runs
call-next/start/finish cycles at two counters of four of them; the displays' queue read is
delivered inline after each change (``REALTIME_EMIT_IN_BACKGROUND`` off), so it is counted with
the change that caused it. Statements (SQLAlchemy's ``before_cursor_execute``), transactions
(its ``begin``: on PostgreSQL each costs two round trips more, BEGIN and COMMIT or ROLLBACK, that
are not counted as statements; SQLite's BEGIN is one of its statements) and Python function calls
(cProfile's count) do not depend on the machine's load, unlike CPU time, which is printed too.
Run it on two checkouts to compare them (``--stats DIR`` keeps the two profiles):

    .venv/bin/python benchmarks/count_queue.py sqlite --issues 120 --cycles 40
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_queue import CLOCK_START, OFFICES, SERVICES  # noqa: E402
from benchmarks.common import prepare_database, scratch_database  # noqa: E402


class _Counted:
    """Statements sent, transactions begun and Python calls made since the last ``take``."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.statements = self.transactions = 0
        self.profile = cProfile.Profile()
        event.listen(engine, "before_cursor_execute", self._seen)
        event.listen(engine, "begin", self._begun)

    def _seen(self, *args) -> None:
        self.statements += 1

    def _begun(self, *args) -> None:
        self.transactions += 1

    def start(self) -> None:
        self.statements = self.transactions = 0
        self.profile = cProfile.Profile()
        self.cpu = time.process_time()
        self.profile.enable()

    def take(self, dump: Path | None = None) -> tuple[int, int, int, float]:
        self.profile.disable()
        if dump is not None:
            dump.parent.mkdir(parents=True, exist_ok=True)
            self.profile.dump_stats(dump)
        cpu = time.process_time() - self.cpu
        calls = pstats.Stats(self.profile).total_calls  # type: ignore[attr-defined]
        return self.statements, self.transactions, calls, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", choices=["sqlite", "postgresql"])
    parser.add_argument("--issues", type=int, default=120)
    parser.add_argument("--cycles", type=int, default=40)
    parser.add_argument(
        "--stats",
        type=Path,
        help="directory for the two cProfile dumps (issue.pstats, cycle.pstats)",
    )
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="qs-count-") as tmp,
        scratch_database(options.database, Path(tmp)) as url,
    ):
        token, devices = prepare_database(Path(tmp), url, OFFICES)
        os.environ["DATABASE_URL"] = url
        _count(url, token, devices, options.issues, options.cycles, options.database, options.stats)


def _count(
    url: str, token: str, devices: dict, issues: int, cycles: int, kind: str, stats: Path | None
) -> None:
    from queue_service import create_app
    from queue_service.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "CLOCK_START": CLOCK_START,
            "RATELIMIT_ENABLED": False,
            "REALTIME_EMIT_IN_BACKGROUND": False,
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "count",
        }
    )
    client = app.test_client()
    with app.app_context():
        counted = _Counted(db.engine)
    auth = {"Authorization": f"Bearer {token}"}

    def issue(office: str, service: str) -> int:
        headers = {"X-Device-Token": devices[office], "Idempotency-Key": secrets.token_hex(8)}
        response = client.post(
            f"/api/v1/offices/{office}/tickets", json={"service": service}, headers=headers
        )
        return response.status_code

    # warm-up (imports, caches, each kiosk's first "last seen"), then the clerks' counters
    for office in OFFICES:
        issue(office, "PA")
    for i in range(8):
        client.post(f"/api/v1/offices/{OFFICES[i % 4]}/counters/{1 + i // 4}/open", headers=auth)

    counted.start()
    refused = 0
    for i in range(issues):
        refused += issue(OFFICES[i % 8], SERVICES[(i * 7) % len(SERVICES)]) != 201
    per_issue = counted.take(stats / "issue.pstats" if stats else None)

    counted.start()
    done = 0
    for i in range(cycles):
        office, counter = OFFICES[i % 4], 1 + (i // 4) % 2
        called = client.post(f"/api/v1/offices/{office}/counters/{counter}/call-next", headers=auth)
        if called.status_code != 200:
            continue
        ticket = called.get_json()["token"]
        for action in ("start", "finish"):
            client.post(f"/api/v1/tickets/{ticket}/{action}", headers=auth)
        done += 1
    per_cycle = counted.take(stats / "cycle.pstats" if stats else None)

    for name, (statements, transactions, calls, cpu), count in (
        ("issue", per_issue, issues),
        ("call-next/start/finish cycle", per_cycle, max(done, 1)),
    ):
        print(
            f"{kind}, per {name}: {statements / count:.1f} statements, "
            f"{transactions / count:.1f} transactions, {calls / count:,.0f} Python calls, "
            f"{1000 * cpu / count:.1f} ms CPU (with cProfile on)"
        )
    if refused or done < cycles:
        print(f"  ({refused} issues not 201, {cycles - done} cycles without a ticket)")


if __name__ == "__main__":
    main()
