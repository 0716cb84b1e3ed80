"""Statements and Python function calls per request of the live queue, counted in-process.

The kiosk API issues walk-ins into bench_queue.py's eight offices, checks in appointments booked
ahead for the same morning (``--checkins``; the queue then holds the walk-ins), then the bearer
API runs call-next/start/finish cycles at two counters of four of them; the displays' queue read is
delivered inline after each change (``REALTIME_EMIT_IN_BACKGROUND`` off), so it is counted with
the change that caused it, and also apart (a server does it in its dispatcher thread, after the
request; the cProfile dumps leave it out). Statements (SQLAlchemy's ``before_cursor_execute``), transactions
(its ``begin``: on PostgreSQL each costs two round trips more, BEGIN and COMMIT or ROLLBACK, that
are not counted as statements; SQLite's BEGIN is one of its statements) and Python function calls
(cProfile's count) do not depend on the machine's load, unlike CPU time, which is printed too.
Run it on two checkouts to compare them (``--stats DIR`` keeps the two profiles):

    .venv/bin/python benchmarks/count_queue.py sqlite --issues 120 --checkins 40 --cycles 40
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
from datetime import timedelta
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
        self.aside = (0, 0)
        self.on = False
        self.profile = cProfile.Profile()
        event.listen(engine, "before_cursor_execute", self._seen)
        event.listen(engine, "begin", self._begun)

    def _seen(self, *args) -> None:
        self.statements += 1

    def _begun(self, *args) -> None:
        self.transactions += 1

    def apart(self, function):
        """``function`` counted as before and also on its own (``aside``: statements, Python
        calls), outside ``profile``: the displays' queue read, which a server does in its
        dispatcher thread after the request, not in it."""

        def counted(*args, **kwargs):
            if not self.on:
                return function(*args, **kwargs)
            self.profile.disable()
            statements = self.statements
            inner = cProfile.Profile()
            inner.enable()
            try:
                return function(*args, **kwargs)
            finally:
                inner.disable()
                calls = pstats.Stats(inner).total_calls  # type: ignore[attr-defined]
                self.aside = (self.aside[0] + self.statements - statements, self.aside[1] + calls)
                self.profile.enable()

        return counted

    def start(self) -> None:
        self.statements = self.transactions = 0
        self.aside = (0, 0)
        self.profile = cProfile.Profile()
        self.cpu = time.process_time()
        self.on = True
        self.profile.enable()

    def take(self, dump: Path | None = None) -> tuple[int, int, int, float]:
        self.profile.disable()
        self.on = False
        if dump is not None:
            dump.parent.mkdir(parents=True, exist_ok=True)
            self.profile.dump_stats(dump)
        cpu = time.process_time() - self.cpu
        calls = pstats.Stats(self.profile).total_calls  # type: ignore[attr-defined]
        return self.statements, self.transactions, calls + self.aside[1], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", choices=["sqlite", "postgresql"])
    parser.add_argument("--issues", type=int, default=120)
    parser.add_argument("--checkins", type=int, default=40)
    parser.add_argument("--cycles", type=int, default=40)
    parser.add_argument(
        "--stats",
        type=Path,
        help="directory for the cProfile dumps (issue, checkin, cycle .pstats)",
    )
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="qs-count-") as tmp,
        scratch_database(options.database, Path(tmp)) as url,
    ):
        token, devices = prepare_database(Path(tmp), url, OFFICES)
        os.environ["DATABASE_URL"] = url
        _count(url, token, devices, options)


def _book_ahead(count: int) -> list[tuple[str, str]]:
    """(office, booking code) of ``count`` appointments of the measured morning, booked on the
    Monday before, round the offices; each starts within the check-in window of the clock's
    first half hour."""
    from queue_service import clock
    from queue_service.booking import slots
    from queue_service.booking.services import book_appointment
    from queue_service.errors import SlotTaken
    from queue_service.offices.services import cached_office

    start = clock.parse_moment(CLOCK_START)
    day = start.astimezone(clock.LOCAL_TZ).date()
    clock.freeze(start - timedelta(days=3))
    free = {}
    for slug in OFFICES:
        office = cached_office(slug)
        request = slots.resolve_request("PA", 1, office)
        found = slots.free_slots(office, request, day, day)
        free[slug] = [s.start for s in found if abs(s.start - start) <= timedelta(minutes=10)]
    booked: list[tuple[str, str]] = []
    while len(booked) < count and any(free.values()):
        for slug in OFFICES:
            while free[slug] and len(booked) < count:
                try:
                    view = book_appointment(
                        slug, "PA", 1, free[slug][0], "Count Queue", f"c{len(booked)}@example.org"
                    )
                except SlotTaken:
                    free[slug].pop(0)
                    continue
                booked.append((slug, view.code))
                break
    clock.start_at(start)
    return booked


def _count(url: str, token: str, devices: dict, options: argparse.Namespace) -> None:
    issues, checkins, cycles = options.issues, options.checkins, options.cycles
    kind, stats = options.database, options.stats
    from queue_service import create_app
    from queue_service.extensions import db
    from queue_service.realtime import publish

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "CLOCK_START": CLOCK_START,
            "RATELIMIT_ENABLED": False,
            "REALTIME_EMIT_IN_BACKGROUND": False,
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "count",
            "MAIL_BACKEND": "memory",
            "MAIL_ASYNC": False,
        }
    )
    client = app.test_client()
    with app.app_context():
        counted = _Counted(db.engine)
        # the displays' queue read after each change, counted apart as well
        publish.deliver_queue = counted.apart(publish.deliver_queue)
        appointments = _book_ahead(checkins)
        db.session.remove()
    auth = {"Authorization": f"Bearer {token}"}

    def issue(office: str, service: str) -> int:
        headers = {"X-Device-Token": devices[office], "Idempotency-Key": secrets.token_hex(8)}
        response = client.post(
            f"/api/v1/offices/{office}/tickets", json={"service": service}, headers=headers
        )
        if response.status_code == 201:
            tokens.append(response.get_json()["token"])
        return response.status_code

    tokens: list[str] = []
    # warm-up (imports, caches, each kiosk's first "last seen"), then the clerks' counters
    for office in OFFICES:
        issue(office, "PA")
    for i in range(8):
        client.post(f"/api/v1/offices/{OFFICES[i % 4]}/counters/{1 + i // 4}/open", headers=auth)

    counted.start()
    refused = 0
    for i in range(issues):
        refused += issue(OFFICES[i % 8], SERVICES[(i * 7) % len(SERVICES)]) != 201
    per_issue = counted.take(stats / "issue.pstats" if stats else None), counted.aside

    counted.start()
    checked_in = 0
    for office, code in appointments:
        response = client.post(
            f"/api/v1/offices/{office}/check-in",
            json={"code": code},
            headers={"X-Device-Token": devices[office]},
        )
        checked_in += response.status_code == 201
        if response.status_code == 201:
            tokens.append(response.get_json()["token"])
    per_checkin = counted.take(stats / "checkin.pstats" if stats else None), counted.aside

    # every ticket's status once (a phone joining; the socket's join_ticket reads the same),
    # the queue unchanged meanwhile: first each with a queue read of its own, then shared
    per_status = []
    for share, name in ((0, "status-own"), (None, "status")):
        saved = app.config["DISPLAY_SNAPSHOT_SHARE_SECONDS"]
        if share is not None:
            app.config["DISPLAY_SNAPSHOT_SHARE_SECONDS"] = share
        counted.start()
        for token in tokens:
            client.get(f"/api/v1/tickets/{token}")
        per_status.append(
            (counted.take(stats / f"{name}.pstats" if stats else None), counted.aside)
        )
        app.config["DISPLAY_SNAPSHOT_SHARE_SECONDS"] = saved

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
    per_cycle = counted.take(stats / "cycle.pstats" if stats else None), counted.aside

    for name, ((statements, transactions, calls, cpu), aside), count in (
        ("issue", per_issue, issues),
        ("check-in", per_checkin, max(checked_in, 1)),
        ("status, each with a queue read of its own", per_status[0], len(tokens)),
        ("status, the queue unchanged (shared read)", per_status[1], len(tokens)),
        ("call-next/start/finish cycle", per_cycle, max(done, 1)),
    ):
        print(
            f"{kind}, per {name}: {statements / count:.1f} statements, "
            f"{transactions / count:.1f} transactions, {calls / count:,.0f} Python calls, "
            f"{1000 * cpu / count:.1f} ms CPU (with cProfile on); of these the displays' "
            f"queue read {aside[0] / count:.1f} statements, {aside[1] / count:,.0f} calls"
        )
    if refused or done < cycles or checked_in < checkins:
        print(
            f"  ({refused} issues not 201, {checkins - checked_in} check-ins not 201, "
            f"{cycles - done} cycles without a ticket)"
        )


if __name__ == "__main__":
    main()
