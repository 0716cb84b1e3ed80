"""Prometheus metrics (prometheus_client) at ``GET /metrics``, readable only with
``Authorization: Bearer <METRICS_TOKEN>`` (unset: the endpoint does not exist); nginx closes it
to the outside and Prometheus scrapes the internal server ports.

- Counted where it happens, in the process where it happens: request latency per route,
  scheduler job runs, mail deliveries, connected displays. With several processes (gunicorn
  servers, the scheduler) set ``PROMETHEUS_MULTIPROC_DIR`` to one folder on the host, emptied
  before they start: every process writes its figures there and any server's ``/metrics``
  answers for all of them (prometheus_client's multi-process mode).
- Read from the database at scrape time, so they are the same whichever process answers: the
  queue per office and service (waiting, oldest wait), today's tickets issued, called and ended
  per office; and what the packages that count through this module register as their figures
  (``register_database_figures``): the mail outbox (notify/outbox.py), the last successful run
  of each job (scheduler/runner.py). Monitoring imports none of those packages.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import case, event, func, select
from sqlalchemy.engine import Engine

from .. import clock
from ..extensions import db, socketio
from ..offices.models import Office, Service
from ..realtime.publish import DISPLAY_NS
from ..tickets.models import TERMINAL, Ticket, TicketStatus

bp = Blueprint("monitoring", __name__)

REQUEST_SECONDS = Histogram(
    "qs_http_request_duration_seconds",
    "Time to answer an HTTP request, per route (the URL rule, never the path with its tokens)",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS = Counter(
    "qs_http_requests_total",
    "HTTP requests answered, per route and status",
    ["method", "route", "status"],
)
DISPLAYS = Gauge(
    "qs_displays_connected",
    "Display sockets joined to an office, summed over the live server processes",
    ["office"],
    multiprocess_mode="livesum",
)
JOB_RUNS = Counter(
    "qs_scheduler_job_runs_total",
    "Scheduled job occurrences run, per job and outcome",
    ["job", "status"],
)
MAIL_DELIVERIES = Counter(
    "qs_mail_deliveries_total",
    "Attempts to deliver an outbox mail: sent, failed (retried later) or rejected (for good)",
    ["kind", "outcome"],
)

DB_CONNECTIONS_OPENED = Counter(
    "qs_db_connections_opened_total",
    "Database connections this process opened: a pool of the right size opens its connections "
    "once; a steady rise under load means a pool too small for the concurrency "
    "(DATABASE_POOL_SIZE), its overflow opened and closed again and again",
)


@event.listens_for(Engine, "connect")
def _count_connection(dbapi_connection, connection_record) -> None:
    DB_CONNECTIONS_OPENED.inc()


def count_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route).observe(seconds)
    REQUESTS.labels(method, route, str(status)).inc()


def count_job_run(job: str, status: str) -> None:
    JOB_RUNS.labels(job, status).inc()


def count_mail(kind: str, outcome: str) -> None:
    MAIL_DELIVERIES.labels(kind, outcome).inc()


# ---------------------------------------------------------------- read at scrape time


DatabaseFigures = Callable[[], Iterable[Metric]]
# name -> reader; registered at import by the package that owns the figures
_database_figures: dict[str, DatabaseFigures] = {}


def register_database_figures(name: str, read: DatabaseFigures) -> None:
    """Add the metric families ``read`` returns to every scrape (read inside the scrape's
    database transaction; registering a name again replaces its reader)."""
    _database_figures[name] = read


class DatabaseCollector:
    """Figures the database knows, identical whichever process is scraped."""

    def collect(self) -> Iterator[Metric]:
        now, today = clock.now(), clock.today()
        yield from _queue_figures(now, today)
        yield from _ticket_figures(today)
        for read in list(_database_figures.values()):
            yield from read()
        db.session.rollback()  # end the read transaction


def _queue_figures(now: datetime, today: date) -> Iterator[Metric]:
    """Tickets waiting now and the longest wait, per office and service."""
    waiting = GaugeMetricFamily(
        "qs_queue_waiting",
        "Tickets waiting now, per office and service",
        labels=["office", "service"],
    )
    oldest = GaugeMetricFamily(
        "qs_queue_oldest_wait_seconds",
        "How long the longest-waiting ticket has waited, per office and service",
        labels=["office", "service"],
    )
    rows = db.session.execute(
        select(Office.slug, Service.code, func.count(), func.min(Ticket.queued_at))
        .join(Office, Office.id == Ticket.office_id)
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.business_date == today, Ticket.status == TicketStatus.WAITING)
        .group_by(Office.slug, Service.code)
    ).all()
    for slug, code, count, first in rows:
        waiting.add_metric([slug, code], count)
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=UTC)
        oldest.add_metric([slug, code], max(0.0, (now - first).total_seconds()) if first else 0)
    yield waiting
    yield oldest


def _ticket_figures(today: date) -> Iterator[Metric]:
    """Today's tickets issued, called and ended, per office."""
    issued = CounterMetricFamily(
        "qs_tickets_issued",
        "Tickets issued today, per office (resets each day)",
        labels=["office"],
    )
    called = CounterMetricFamily(
        "qs_tickets_called",
        "Tickets of today called to a counter, per office",
        labels=["office"],
    )
    ended = CounterMetricFamily(
        "qs_tickets_ended",
        "Tickets of today that ended (done, no-show, cancelled, not served)",
        labels=["office"],
    )
    rows = db.session.execute(
        select(
            Office.slug,
            func.count(),
            func.count(Ticket.called_at),
            func.sum(case((Ticket.status.in_(TERMINAL), 1), else_=0)),
        )
        .join(Office, Office.id == Ticket.office_id)
        .where(Ticket.business_date == today)
        .group_by(Office.slug)
    ).all()
    for slug, total, were_called, finished in rows:
        issued.add_metric([slug], total)
        called.add_metric([slug], were_called)
        ended.add_metric([slug], finished or 0)
    yield issued
    yield called
    yield ended


# ---------------------------------------------------------------- connected displays


_sampled_offices: set[str] = set()  # offices this process has set a display count for


def sample_displays() -> None:
    """Set this process's display count per office from the Socket.IO rooms it holds."""
    server = getattr(socketio, "server", None)
    if server is None:
        return
    rooms = server.manager.rooms.get(DISPLAY_NS, {})
    counts: dict[str, int] = {}
    for room, members in list(rooms.items()):
        if isinstance(room, str) and room.startswith("office:"):
            counts[room[len("office:") :]] = len(members)
    seen = set(_sampled_offices)
    for office in seen - counts.keys():
        DISPLAYS.labels(office).set(0)
    for office, count in counts.items():
        DISPLAYS.labels(office).set(count)
    _sampled_offices.update(counts)


_LIVE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def _forget_dead_processes(path: str) -> None:
    """Live gauges of processes that died (killed, restarted) no longer count."""
    for name in os.listdir(path):
        match = _LIVE_FILE.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, path)
        except PermissionError:
            pass


def exposition() -> bytes:
    """The metrics in Prometheus' text format."""
    sample_displays()
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        _forget_dead_processes(path)
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted, path=path)
    else:
        counted = REGISTRY
    from_database = CollectorRegistry(auto_describe=False)
    from_database.register(DatabaseCollector())
    return generate_latest(counted) + generate_latest(from_database)


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "metrics need Authorization: Bearer <METRICS_TOKEN>\n",
            401,
            {"WWW-Authenticate": "Bearer"},
        )
    return Response(
        exposition(), 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


def _sample_displays_forever(interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            sample_displays()
        except Exception:  # a metric must never take the server down
            logging.getLogger(__name__).exception("sampling the connected displays failed")


_sampler_started = False


def _start_display_sampler() -> None:
    """Several processes: each keeps its own display count fresh for whichever is scraped."""
    global _sampler_started
    if _sampler_started:
        return
    _sampler_started = True
    threading.Thread(
        target=_sample_displays_forever, args=(5.0,), name="metrics-displays", daemon=True
    ).start()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and not app.testing:
        _start_display_sampler()

    @app.before_request
    def _start_timer():
        g.qs_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("qs_started", None)
        if started is not None:
            count_request(
                request.method,
                route_of_request(),
                response.status_code,
                time.perf_counter() - started,
            )
        return response


def route_of_request() -> str:
    """The URL rule (``/t/<token>``), never the path: no tokens or codes in labels and logs."""
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"
