"""Statements, Python calls and CPU per slot search and per booking, counted in-process on
bench_booking.py's 50,000 appointments.

The three one-office searches of bench_booking.py (Aegi over six weeks), then successful bookings
of free times through the bearer API; mail is sent inline (``MAIL_ASYNC`` off) to a folder, so a
booking's count includes whatever its request does for the mail, and the outbox sender's work
(``outbox.deliver_due``, what the scheduler runs) is counted apart: with ``--mail-sent-by
scheduler`` that is where the mail is composed. Statements (SQLAlchemy's
``before_cursor_execute``), transactions begun and Python calls (cProfile's count) do not
depend on the machine's load; CPU time does and is printed too. Compare two checkouts with it:

    .venv/bin/python benchmarks/count_booking.py postgresql --searches 60 --bookings 60
    .venv/bin/python benchmarks/count_booking.py sqlite --profile /tmp/booking.pstats
"""

from __future__ import annotations

import argparse
import os
import pstats
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_booking import CLOCK_START, prepare  # noqa: E402
from benchmarks.common import scratch_database  # noqa: E402
from benchmarks.count_queue import _Counted  # noqa: E402

SEARCHES = [
    "/api/v1/offices/aegi/slots?services=PA",
    "/api/v1/offices/aegi/slots?services=PA,MB",
    "/api/v1/offices/aegi/slots?services=AN&persons=2",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", choices=["sqlite", "postgresql"])
    parser.add_argument("--searches", type=int, default=60)
    parser.add_argument("--bookings", type=int, default=60)
    parser.add_argument(
        "--refusals",
        type=int,
        default=30,
        help="attempts on a time already full (409), counted apart (most of a contended run)",
    )
    parser.add_argument(
        "--mail-sent-by",
        choices=["committer", "scheduler"],
        default="committer",
        help="MAIL_SENT_BY: the booking's process mails after the commit, or the scheduler does",
    )
    parser.add_argument(
        "--show-statements", action="store_true", help="print one more booking's statements"
    )
    parser.add_argument(
        "--profile",
        help="write the bookings' cProfile statistics here, the sender's and the searches' to "
        "this name + .sender and + .search",
    )
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="qs-count-booking-") as tmp,
        scratch_database(options.database, Path(tmp)) as url,
    ):
        token = prepare(url, seed=7)["token"]
        os.environ["DATABASE_URL"] = url
        _count(url, token, Path(tmp), options)


def _count(url: str, token: str, tmp: Path, options: argparse.Namespace) -> None:
    from queue_service import create_app
    from queue_service.extensions import db
    from queue_service.notify import outbox

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "CLOCK_START": CLOCK_START,
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "count",
            "MAIL_BACKEND": "folder",
            "MAIL_FOLDER": str(tmp / "mail"),
            "MAIL_ASYNC": False,
            "MAIL_SENT_BY": options.mail_sent_by,
        }
    )
    client = app.test_client()
    with app.app_context():
        counted = _Counted(db.engine)
    auth = {"Authorization": f"Bearer {token}"}
    kind = f"{options.database}, mail sent by {options.mail_sent_by}"

    def search(path: str) -> None:
        response = client.get(path)  # anonymous, as bench_booking.py searches
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)}")

    for path in SEARCHES:  # warm-up: imports, holidays, the catalogue kept per process
        search(path)
    counted.start()
    for i in range(options.searches):
        search(SEARCHES[i % len(SEARCHES)])
    _report(kind, "one-office search (six weeks)", counted.take(), options.searches)
    search_profile = counted.profile

    starts: list[str] = []  # free times far enough apart that every booking succeeds
    for slot in client.get(SEARCHES[0]).get_json()["slots"]:
        if len(starts) > options.bookings:
            break
        if not starts or slot["start"][:13] != starts[-1][:13]:  # one per hour
            starts.append(slot["start"])
    run = secrets.token_hex(3)

    def book(n: int, start: str | None = None) -> int:
        body = {
            "office": "aegi",
            "services": ["PA"],
            "persons": 1,
            "start": start or starts[n],
            "name": f"Count Person {n}",
            "email": f"count-{run}-{n}@example.org",
        }
        return client.post("/api/v1/appointments", json=body, headers=auth).status_code

    book(0)  # warm-up: the first mail imports templates, QR and calendar code
    with app.app_context():
        outbox.deliver_due()
    counted.start()
    statuses = [book(n) for n in range(1, len(starts) - 1)]
    per_booking = counted.take()
    booked = statuses.count(201)
    _report(kind, "booking request", per_booking, max(booked, 1))
    booking_profile = counted.profile
    counted.start()
    with app.app_context():
        sent = outbox.deliver_due()
    per_mail = counted.take()
    _report(kind, "outbox sender (per booking)", per_mail, max(booked, 1))
    print(
        f"  {booked} bookings (statuses {sorted(set(statuses))}); the sender's run: {sent}; "
        f"{len(list((tmp / 'mail').glob('*')))} mails in the folder"
    )
    if options.refusals:
        full = starts[1]
        n = 10**6
        while book(n, full) == 201:  # fill the time (uncounted)
            n += 1
        counted.start()
        refused = [book(n + 1 + i, full) for i in range(options.refusals)]
        _report(kind, "refused attempt (409, full time)", counted.take(), options.refusals)
        print(f"  statuses {sorted(set(refused))}")
    if options.show_statements:  # one more booking, outside the counts
        from sqlalchemy import event

        shown: list[str] = []

        def seen(conn, cursor, statement, *args) -> None:
            shown.append(" ".join(statement.split())[:150])

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", seen)
        status = book(len(starts) - 1)
        event.remove(engine, "before_cursor_execute", seen)
        print(f"  the statements of one more booking request ({status}):")
        for n, statement in enumerate(shown, 1):
            print(f"  {n:3d}. {statement}")
    if options.profile:
        pstats.Stats(booking_profile).dump_stats(options.profile)
        pstats.Stats(counted.profile).dump_stats(options.profile + ".sender")
        pstats.Stats(search_profile).dump_stats(options.profile + ".search")
        print(
            f"  profiles of the bookings, the sender and the searches: {options.profile}(.sender, .search)"
        )


def _report(kind: str, what: str, taken: tuple[int, int, int, float], count: int) -> None:
    statements, transactions, calls, cpu = taken
    print(
        f"{kind}, per {what}: {statements / count:.1f} statements, "
        f"{transactions / count:.1f} transactions, {calls / count:,.0f} "
        f"Python calls, {1000 * cpu / count:.1f} ms CPU (with cProfile on)"
    )


if __name__ == "__main__":
    main()
