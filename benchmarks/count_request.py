"""The fixed cost of a request outside its view: Python calls, statements, transactions and
round trips of the request machinery, counted in-process against the floor's bare GET.

Each request is handed to the WSGI application as a server hands it (``app(environ,
start_response)``, Flask-SocketIO's middleware included, the body read and closed), without the
test client's own work and without gevent's handler. Every view function is wrapped so that
what it does (the route's own work: the service call, its statements, its JSON) is counted
apart; the **machinery** is the rest: routing, the request and app contexts, the
``before_request`` hooks (size limit, locale, token checks, staff login, CSRF, the API's
contract check, metrics), Flask-Login, the limiter, the after-request hooks, the session cookie,
the teardown. The floor is ``benchmarks/floor_app.py``'s app (a bare Flask JSON GET with
Flask-SocketIO), built here in threading mode.

Round trips (PostgreSQL) are statements plus each transaction's BEGIN and its COMMIT or
ROLLBACK; SQLite's BEGIN is one of its statements and its end costs no round trip.

    .venv/bin/python benchmarks/count_request.py sqlite --requests 60
    .venv/bin/python benchmarks/count_request.py postgresql --limits memory://
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_queue import CLOCK_START, OFFICES  # noqa: E402
from benchmarks.common import prepare_database, scratch_database  # noqa: E402


@dataclass
class Tally:
    """What a kind of request cost in total and inside its view."""

    requests: int = 0
    calls: int = 0
    statements: int = 0
    transactions: int = 0
    ends: int = 0
    cpu: float = 0.0
    view_calls: int = 0
    view_statements: int = 0
    view_transactions: int = 0
    view_ends: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def per(self, value: float) -> float:
        return value / max(self.requests, 1)


class Meter:
    """Counts one request at a time: its Python calls (cProfile), the statements, the
    transactions begun and ended on ``engine``; a view wrapped by ``wrap`` is counted apart."""

    def __init__(self, engine=None) -> None:
        self.statements = self.transactions = self.ends = 0
        self.view = [0, 0, 0, 0]  # calls, statements, transactions, ends
        self.profile: cProfile.Profile | None = None
        if engine is not None:
            from sqlalchemy import event

            event.listen(engine, "before_cursor_execute", self._statement)
            event.listen(engine, "begin", self._begun)
            event.listen(engine, "commit", self._ended)
            event.listen(engine, "rollback", self._ended)

    def _statement(self, *args) -> None:
        self.statements += 1

    def _begun(self, *args) -> None:
        self.transactions += 1

    def _ended(self, *args) -> None:
        self.ends += 1

    def wrap(self, view: Callable) -> Callable:
        def counted(*args, **kwargs):
            outer = self.profile
            if outer is None:
                return view(*args, **kwargs)
            outer.disable()
            before = (self.statements, self.transactions, self.ends)
            inner = cProfile.Profile()
            inner.enable()
            try:
                return view(*args, **kwargs)
            finally:
                inner.disable()
                self.view[0] += pstats.Stats(inner).total_calls  # type: ignore[attr-defined]
                self.view[1] += self.statements - before[0]
                self.view[2] += self.transactions - before[1]
                self.view[3] += self.ends - before[2]
                outer.enable()

        counted.__dict__.update(getattr(view, "__dict__", {}))  # the views' marks
        return counted

    def wrap_views(self, app) -> None:
        """Count each route's own function apart; its decorators (staff_required, the
        limiter's wrapper) stay machinery: the innermost function is replaced in the closure
        of the wrapper that calls it."""
        for endpoint, view in list(app.view_functions.items()):
            outer, inner = None, view
            while getattr(inner, "__wrapped__", None) is not None:
                outer, inner = inner, inner.__wrapped__
            cells = [
                c for c in (getattr(outer, "__closure__", None) or ()) if c.cell_contents is inner
            ]
            if outer is None or not cells:
                app.view_functions[endpoint] = self.wrap(view)
                continue
            for cell in cells:
                cell.cell_contents = self.wrap(inner)

    def call(self, app, environ: dict, tally: Tally, kept: list | None = None) -> tuple[int, bytes]:
        """Hand ``environ`` to ``app`` as a WSGI server does; add what it cost to ``tally``."""
        status: list[str] = []
        chunks: list[bytes] = []

        def start_response(line, headers, exc_info=None):
            status.append(line)
            return chunks.append

        self.statements = self.transactions = self.ends = 0
        self.view = [0, 0, 0, 0]
        profile = self.profile = cProfile.Profile()
        cpu = time.process_time()
        profile.enable()
        try:
            body = app(environ, start_response)
            try:
                for chunk in body:
                    chunks.append(chunk)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            profile.disable()
            self.profile = None
        tally.cpu += time.process_time() - cpu
        tally.requests += 1
        tally.calls += pstats.Stats(profile).total_calls + self.view[0]  # type: ignore[attr-defined]
        tally.statements += self.statements
        tally.transactions += self.transactions
        tally.ends += self.ends
        tally.view_calls += self.view[0]
        tally.view_statements += self.view[1]
        tally.view_transactions += self.view[2]
        tally.view_ends += self.view[3]
        code = int(status[0].split()[0])
        tally.statuses[code] = tally.statuses.get(code, 0) + 1
        if kept is not None:
            kept.append(profile)  # the machinery's profile (the view's calls are not in it)
        return code, b"".join(chunks)


def environ_for(method: str, path: str, headers: dict | None = None, json=None) -> dict:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        path=path,
        method=method,
        headers=headers or {},
        json=json,
        environ_base={"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000"},
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def floor_app():
    """benchmarks/floor_app.py's app (threading mode: nothing here is served)."""
    from flask import Flask, jsonify
    from flask_socketio import SocketIO

    app = Flask("floor")
    SocketIO(app, async_mode="threading", logger=False, engineio_logger=False)

    @app.get("/api/ping")
    def ping():
        return jsonify(ok=True, ts=time.time(), queue="A", waiting=12)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", choices=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=60, help="of each kind")
    parser.add_argument(
        "--limits",
        metavar="STORAGE",
        help="rate limits on, as deployed, with this storage (memory:// or a redis:// URL); "
        "off by default, as in bench_queue",
    )
    parser.add_argument(
        "--stats", type=Path, help="directory for the machinery's cProfile dumps, one per kind"
    )
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="qs-count-request-") as tmp,
        scratch_database(options.database, Path(tmp)) as url,
    ):
        token, devices = prepare_database(Path(tmp), url, OFFICES)
        os.environ["DATABASE_URL"] = url
        _count(url, token, devices, options)


def _count(url: str, token: str, devices: dict, options: argparse.Namespace) -> None:
    from queue_service import create_app
    from queue_service.extensions import db

    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "CLOCK_START": CLOCK_START,
        "RATELIMIT_ENABLED": bool(options.limits),
        "REALTIME_EMIT_IN_BACKGROUND": False,  # the displays' read inline: in the view, not the machinery
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "count",
        "MAIL_BACKEND": "memory",
        "MAIL_ASYNC": False,
    }
    if options.limits:
        # the deployed limits' work, with budgets the counted requests do not exhaust
        config["RATELIMIT_STORAGE_URI"] = options.limits
        config["KIOSK_RATELIMIT_TICKETS"] = "100000 per minute"
        config["KIOSK_RATELIMIT_TICKETS_HOURLY"] = "1000000 per hour"
    app = create_app(config)
    with app.app_context():
        meter = Meter(db.engine)
    meter.wrap_views(app)
    floor = floor_app()
    floor_meter = Meter()
    floor_meter.wrap_views(floor)

    bearer = {"Authorization": f"Bearer {token}"}
    kiosk = OFFICES[0]
    device = {"X-Device-Token": devices[kiosk]}

    def issue() -> dict:
        headers = {**device, "Idempotency-Key": secrets.token_hex(8)}
        return environ_for("POST", f"/api/v1/offices/{kiosk}/tickets", headers, {"service": "PA"})

    kinds: list[tuple[str, Callable[[], dict], object]] = [
        ("floor GET /api/ping", lambda: environ_for("GET", "/api/ping"), floor),
        ("bearer GET /api/v1/me", lambda: environ_for("GET", "/api/v1/me", bearer), app),
        (
            "device GET /api/v1/offices/<slug>",
            lambda: environ_for("GET", f"/api/v1/offices/{kiosk}", device),
            app,
        ),
        (
            "anonymous GET /api/v1/offices/<slug>",
            lambda: environ_for("GET", f"/api/v1/offices/{kiosk}"),
            app,
        ),
        ("kiosk issue POST (device token)", issue, app),
        (
            "call-next POST (bearer)",
            lambda: environ_for("POST", f"/api/v1/offices/{kiosk}/counters/1/call-next", bearer),
            app,
        ),
        (
            "finish POST (bearer)",
            lambda: environ_for("POST", f"/api/v1/tickets/{at_counter.pop()}/finish", bearer),
            app,
        ),
    ]
    # warm-up: imports, caches, the kiosk's first sighting, the token's first use; a counter open
    meter.call(
        app, environ_for("POST", f"/api/v1/offices/{kiosk}/counters/1/open", bearer), Tally()
    )
    for _name, make, target in kinds[:5]:
        for _ in range(3):
            (floor_meter if target is floor else meter).call(target, make(), Tally())

    tallies: dict[str, Tally] = {}
    at_counter: list[str] = []  # the ticket the counter has called (finish it before the next)

    def call_next(tally: Tally, kept: list | None = None) -> None:
        meter.call(app, issue(), Tally())  # a ticket to call (not counted)
        if at_counter:  # serve the one called before
            token = at_counter.pop()
            for action in ("start", "finish"):
                meter.call(
                    app, environ_for("POST", f"/api/v1/tickets/{token}/{action}", bearer), Tally()
                )
        code, body = meter.call(app, call_next_environ(), tally, kept)
        if code == 200:
            at_counter.append(json.loads(body)["token"])

    def call_next_environ() -> dict:
        return environ_for("POST", f"/api/v1/offices/{kiosk}/counters/1/call-next", bearer)

    for number, (name, make, target) in enumerate(kinds):
        tally = tallies[name] = Tally()
        m = floor_meter if target is floor else meter
        kept: list = []
        for _ in range(options.requests):
            if name.startswith("call-next"):
                call_next(tally, kept)
                continue
            if name.startswith("finish"):
                call_next(Tally())  # call and start one (not counted), then finish it
                start = f"/api/v1/tickets/{at_counter[-1]}/start"
                meter.call(app, environ_for("POST", start, bearer), Tally())
            m.call(target, make(), tally, kept)
        if options.stats:
            options.stats.mkdir(parents=True, exist_ok=True)
            short = "-".join(name.split()[:2]).replace("/", "")
            pstats.Stats(*kept).dump_stats(options.stats / f"{number}-{short}.pstats")

    floor_tally = tallies[kinds[0][0]]
    floor_machinery = floor_tally.per(floor_tally.calls - floor_tally.view_calls)
    pg = options.database == "postgresql"
    limits = f"limits on ({options.limits})" if options.limits else "limits off"
    print(f"{options.database}, {limits}, {options.requests} requests of each kind")
    for name, tally in tallies.items():
        machinery = tally.per(tally.calls - tally.view_calls)
        statements = tally.per(tally.statements - tally.view_statements)
        transactions = tally.per(tally.transactions - tally.view_transactions)
        trips = statements + (
            tally.per(tally.transactions + tally.ends - tally.view_transactions - tally.view_ends)
            if pg
            else 0
        )
        print(
            f"  {name}: machinery {machinery:,.0f} Python calls "
            f"({machinery / floor_machinery:.1f}x the floor's), {statements:.1f} statements, "
            f"{transactions:.1f} transactions"
            + (f", {trips:.1f} round trips" if pg else "")
            + f"; view {tally.per(tally.view_calls):,.0f} calls, "
            f"{tally.per(tally.view_statements):.1f} statements; "
            f"{1000 * tally.per(tally.cpu):.2f} ms CPU with cProfile; statuses {tally.statuses}"
        )


if __name__ == "__main__":
    main()
