"""``queue-service simulate``: a city day in compressed time, with a report."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import clock as app_clock
from ..offices.catalogue import DEMO_FILE
from . import deployment
from . import plan as planning
from .plan import DayPlan

if TYPE_CHECKING:
    from tqdm import tqdm

    from .actors import Outcome, SimClock
    from .readback import Stored


# server processes the residents book ahead on (own deployment): two on one SQLite file were
# measured slower than one (60.5 s against 43.7 s, 25 % more CPU: their writes wait for each
# other), so one unless --booking-processes says otherwise
BOOKING_PROCESSES = 1
# the clock's speed when the own deployment's day is fitted into --budget: not slower than
# needed (the slower, the more real time the server has per simulated minute, the less its
# answers distort the waits), never faster than the documented 480x
SLOWEST_AUTO_SPEED = 240.0
FASTEST_AUTO_SPEED = 480.0
TAIL_MINUTES = 25  # after the last closing: the last visitors are served (18:21 on a quiet run)
MAIL_DRAIN_SECONDS = 15.0  # at most, for the booking's last confirmation mails
WIND_DOWN_SECONDS = 4.0  # the last events, the displays' final resync, the integrity read-back


def fitting_speed(simulated_minutes: float, real_seconds: float) -> float:
    """The slowest clock speed that plays ``simulated_minutes`` in ``real_seconds``, within
    SLOWEST_AUTO_SPEED and FASTEST_AUTO_SPEED (a budget already spent gets the fastest)."""
    if real_seconds <= 0:
        return FASTEST_AUTO_SPEED
    needed = simulated_minutes * 60.0 / real_seconds
    return float(min(FASTEST_AUTO_SPEED, max(SLOWEST_AUTO_SPEED, round(needed))))


def _run(coroutine):
    """asyncio.run, also from a thread that already runs an event loop (a test session with
    Playwright's sync API, a notebook): then the coroutine runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def next_thursday(today: date) -> date:
    """The next Thursday after ``today``: walk-ins everywhere but Schützenplatz."""
    return today + timedelta(days=(3 - today.weekday()) % 7 or 7)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=app_clock.LOCAL_TZ)


async def _book(
    plan: DayPlan, urls: list[str], token: str, outcome: Outcome, clock: SimClock
) -> None:
    """The residents book ahead, spread over the server processes at ``urls``."""
    from .actors import Api, Day

    async with contextlib.AsyncExitStack() as stack:
        apis = [await stack.enter_async_context(Api(url, token, outcome)) for url in urls]
        await Day(plan, apis[0], clock, urls[0]).book_all(apis=apis)


def book_ahead(
    url: str,
    token: str,
    day: date,
    *,
    visits: int,
    offices: list[str] | None,
    until: int | None,
    seed: int,
    catalogue: Path,
    path: Path,
    verify_tls: bool = True,
) -> int:
    """Book the planned appointments of ``day`` on a running deployment (its clock on an
    earlier day) and write them to ``path`` for the day's run (``--bookings``)."""
    from .actors import Api, Day, Outcome, SimClock  # need the simulate extra (aiohttp)

    day_plan = planning.make_plan(
        planning.read_offices(catalogue, day, offices, until), day, visits, seed
    )
    outcome = Outcome()
    clock = SimClock(_midnight(day), 0.0, time.time(), 1.0)

    async def book() -> None:
        async with Api(url, token, outcome, verify_tls) as api:
            await Day(day_plan, api, clock, url, verify_tls=verify_tls).book_all()

    _run(book())
    rows = [vars(b) for b in outcome.bookings.values()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"day": day.isoformat(), "bookings": rows}, indent=1) + "\n")
    return len(rows)


def load_bookings(path: Path) -> dict:
    from .actors import Booking

    data = json.loads(path.read_text())
    return {row["visit"]: Booking(**row) for row in data["bookings"]}


def _minute(value: str) -> int:
    hours, _, minutes = value.partition(":")
    return int(hours) * 60 + int(minutes or 0)


@click.command("simulate")
@click.option("--url", default=None, help="a running deployment; default: start one (SQLite)")
@click.option("--token", default=None, help="bearer token of an admin account (with --url)")
@click.option("--insecure", is_flag=True, help="accept a self-signed TLS certificate (--url)")
@click.option("--visits", default=2500, show_default=True, help="visits in the city")
@click.option("--offices", default=None, help="comma-separated office slugs (default: all)")
@click.option("--day", default=None, help="YYYY-MM-DD (own deployment; default: next Thursday)")
@click.option("--until", default=None, help="HH:MM: end the day early (a shortened day)")
@click.option(
    "--speed",
    default=None,
    type=float,
    help="clock speed: own deployment (default 480); with --url the server's CLOCK_SPEED "
    "(default: measured)",
)
@click.option(
    "--booking-processes",
    default=BOOKING_PROCESSES,
    show_default=True,
    help="own deployment: server processes the residents book ahead on (same SQLite file)",
)
@click.option(
    "--budget",
    default=120.0,
    show_default=True,
    help="own deployment without --speed: real seconds for the whole run; the day's clock is "
    f"as slow as fits in what the booking ahead left (between {SLOWEST_AUTO_SPEED:g}x and "
    f"{FASTEST_AUTO_SPEED:g}x)",
)
@click.option(
    "--clock",
    "clock_setting",
    default=None,
    help="with --url: the server's CLOCK_START@CLOCK_ANCHOR (e.g. 2026-12-10T07:50@1796000000), "
    "so that the simulation's clock is exactly the server's instead of measured",
)
@click.option("--seed", default=1, show_default=True)
@click.option("--displays", default=2, show_default=True, help="displays per office")
@click.option("--max-phones", default=150, show_default=True, help="phones connected at once")
@click.option("--deadline", default=600.0, show_default=True, help="real seconds at most")
@click.option("--catalogue", default=str(DEMO_FILE), show_default=False)
@click.option("--report", "report_path", default="simulation-report.json", show_default=True)
@click.option("--workdir", default=None, help="own deployment's folder (default: a temp dir)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.option(
    "--database-url",
    "readback_url",
    default=None,
    help="with --url: read the integrity back from this database instead of the API",
)
@click.option(
    "--book-only",
    is_flag=True,
    help="with --url: only book the day's appointments (the day before) and write --bookings",
)
@click.option(
    "--bookings",
    "bookings_path",
    default=None,
    help="with --url: file of bookings made ahead by --book-only (the day then books nothing)",
)
def simulate_command(
    url: str | None,
    token: str | None,
    insecure: bool,
    visits: int,
    offices: str | None,
    day: str | None,
    until: str | None,
    speed: float | None,
    budget: float,
    booking_processes: int,
    clock_setting: str | None,
    seed: int,
    displays: int,
    max_phones: int,
    deadline: float,
    catalogue: str,
    report_path: str,
    workdir: str | None,
    quiet: bool,
    book_only: bool,
    bookings_path: str | None,
    readback_url: str | None,
) -> None:
    """Run a city day through the HTTP API and Socket.IO and report waits, load and integrity."""
    _check_options(url, token, book_only, bookings_path, day)
    office_slugs = [s for s in (offices or "").split(",") if s] or None
    until_minute = _minute(until) if until else None
    if book_only:
        assert url and token and day and bookings_path  # checked above
        count = book_ahead(
            url,
            token,
            date.fromisoformat(day),
            visits=visits,
            offices=office_slugs,
            until=until_minute,
            seed=seed,
            catalogue=Path(catalogue),
            path=Path(bookings_path),
            verify_tls=not insecure,
        )
        click.echo(f"Booked {count} appointments; written to {bookings_path}")
        return
    report = run_simulation(
        url=url,
        token=token,
        verify_tls=not insecure,
        visits=visits,
        offices=office_slugs,
        day=date.fromisoformat(day) if day else None,
        until=until_minute,
        speed=speed,
        budget=budget,
        booking_processes=booking_processes,
        clock_setting=clock_setting,
        seed=seed,
        displays=displays,
        max_phones=max_phones,
        deadline=deadline,
        catalogue=Path(catalogue),
        workdir=Path(workdir) if workdir else None,
        progress=not quiet,
        bookings_path=Path(bookings_path) if bookings_path else None,
        readback_url=readback_url,
    )
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    from .report import as_text  # needs the simulate extra (aiohttp)

    click.echo(as_text(report))
    click.echo(f"Report: {report_path}")
    if not report["integrity"]["all_ok"]:
        sys.exit(1)


def _check_options(
    url: str | None,
    token: str | None,
    book_only: bool,
    bookings_path: str | None,
    day: str | None,
) -> None:
    """Usage errors of combinations the options do not allow."""
    if "gevent" in sys.modules and _gevent_patched():
        raise click.UsageError("Run simulate without SOCKETIO_ASYNC_MODE=gevent (it uses asyncio).")
    if url and not token:
        raise click.UsageError("--url needs --token (queue-service create-token NAME).")
    if (book_only or bookings_path) and not url:
        raise click.UsageError("--book-only and --bookings go with --url.")
    if book_only and (not bookings_path or not day):
        raise click.UsageError("--book-only needs --day and --bookings FILE.")


def _gevent_patched() -> bool:
    from gevent import monkey

    return monkey.is_module_patched("socket")


@dataclass
class _Stage:
    """Where the simulated day runs, what is planned for it and the clock it runs on."""

    url: str
    token: str
    day: date
    day_plan: DayPlan
    outcome: Outcome
    clock: SimClock
    own: deployment.OwnDeployment | None = None  # the deployment started for the run
    booking_seconds: float | None = None  # real seconds the residents took to book ahead


def run_simulation(
    *,
    url: str | None = None,
    token: str | None = None,
    verify_tls: bool = True,
    visits: int = 2500,
    offices: list[str] | None = None,
    day: date | None = None,
    until: int | None = None,
    speed: float | None = 480.0,
    budget: float = 120.0,
    booking_processes: int = BOOKING_PROCESSES,
    clock_setting: str | None = None,
    seed: int = 1,
    displays: int = 2,
    max_phones: int = 150,
    deadline: float = 600.0,
    catalogue: Path = Path(DEMO_FILE),
    workdir: Path | None = None,
    progress: bool = True,
    lead_minutes: float = 10.0,
    startup_allowance: float = 2.0,
    bookings_path: Path | None = None,
    readback_url: str | None = None,
    on_started: Callable[[str, str], object] | None = None,
) -> dict:
    """The simulation as a function (the command and the tests call it); returns the report.
    With its own deployment and ``speed`` None the clock's speed is chosen to fit ``budget``."""
    from . import readback, report  # need the simulate extra (aiohttp)
    from .actors import Api, Day

    began_run = time.monotonic()
    with contextlib.ExitStack() as cleanup:
        if url is None:
            stage = _stage_own(
                cleanup,
                day=day or next_thursday(app_clock.real_now().date()),
                catalogue=catalogue,
                offices=offices,
                until=until,
                visits=visits,
                seed=seed,
                workdir=workdir,
                speed=speed,
                budget_left=lambda: budget - (time.monotonic() - began_run),
                lead_minutes=lead_minutes,
                startup_allowance=startup_allowance,
                booking_processes=booking_processes,
            )
        else:
            if token is None:
                raise click.UsageError("--url needs --token (queue-service create-token NAME).")
            stage = _stage_remote(
                url,
                token,
                catalogue=catalogue,
                offices=offices,
                until=until,
                visits=visits,
                seed=seed,
                speed=speed,
                clock_setting=clock_setting,
                verify_tls=verify_tls,
                bookings_path=bookings_path,
            )
        if on_started is not None:
            on_started(stage.url, stage.token)
        bar = _progress_bar(stage) if progress else None
        own = stage.own

        async def play() -> Stored | None:
            async with Api(stage.url, stage.token, stage.outcome, verify_tls) as api:
                simulated = Day(
                    stage.day_plan,
                    api,
                    stage.clock,
                    stage.url,
                    displays_per_office=displays,
                    max_phones=max_phones,
                    verify_tls=verify_tls,
                    seed=seed,
                    progress=bar,
                )
                await simulated.run(deadline, book=own is None and bookings_path is None)
                if own is None and readback_url is None:
                    return await readback.from_api(api, stage.outcome)
                return None

        # the clock reaches the simulation's start at the anchor (own deployment: a few seconds
        # after the server came up)
        time.sleep(max(0.0, stage.clock.anchor - time.time()))
        began = time.monotonic()
        cpu_before = own.cpu_seconds() if own else None
        stored = _run(play())
        server_cpu = (
            round(own.cpu_seconds() - cpu_before, 1) if own and cpu_before is not None else None
        )
        if bar is not None:
            bar.close()
        if stored is None:
            database_url = readback_url or (own.database_url if own else None)
            assert database_url is not None  # an own deployment, or --database-url
            stored = readback.from_database(database_url, stage.day)
        return report.build(
            stage.day_plan,
            stage.outcome,
            stored,
            stage.clock,
            deployment="own (SQLite, one gevent process)" if own else stage.url,
            seed=seed,
            booking_ahead_seconds=stage.booking_seconds,
            # the server's CPU time for the day: on a quiet machine the day takes at least this
            # (one process), whatever else runs on the machine meanwhile
            server_cpu_seconds=server_cpu,
            wall_seconds=round(time.monotonic() - began, 1),
            load_average=[round(x, 2) for x in os.getloadavg()],
        )


def _stage_own(
    cleanup: contextlib.ExitStack,
    *,
    day: date,
    catalogue: Path,
    offices: list[str] | None,
    until: int | None,
    visits: int,
    seed: int,
    workdir: Path | None,
    speed: float | None,
    budget_left: Callable[[], float],
    lead_minutes: float,
    startup_allowance: float,
    booking_processes: int = BOOKING_PROCESSES,
) -> _Stage:
    """A deployment of our own (SQLite, in ``workdir`` or a temporary folder): the residents
    book the planned appointments the day before, then the day is served in compressed time.
    ``cleanup`` stops the servers and removes the temporary folder."""
    from .actors import Outcome, SimClock  # need the simulate extra (aiohttp)

    offices_plan = planning.read_offices(catalogue, day, offices, until)
    if not offices_plan:
        raise click.UsageError(f"No office of the selection is open on {day}.")
    day_plan = planning.make_plan(offices_plan, day, visits, seed)
    if workdir is None:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="qs-simulation-")))
    prepared = deployment.prepare_own(workdir, catalogue)
    outcome = Outcome()
    # residents book ahead: the day before at noon, in real time. It is setup, not the day.
    # The servers only write the confirmation mails into the outbox; a scheduler process
    # composes and sends them on the other core (MAIL_SENT_BY=scheduler, as the scaled
    # profile does): the mail was a quarter of the booking server's CPU
    up = time.monotonic()
    noon = f"{(day - timedelta(days=1)).isoformat()}T12:00"
    servers = deployment.serve_own_processes(
        prepared, noon, 1.0, 0.0, count=booking_processes, mail_by_scheduler=True
    )
    for server in servers:
        cleanup.callback(server.stop)
    scheduler = deployment.start_scheduler(prepared, servers[0], noon, 1.0)
    cleanup.callback(scheduler.stop)
    # the compressed clock should not start before the day's server is up: allow the time
    # these took to start and a second. Theirs was a cold start (the first imports); the day's
    # server starts warm, in about half of it (1.3 s against 2.9 s), and the allowance is
    # waited out whatever it takes. Twice theirs plus a second left 5 s of the budget idle;
    # a server a moment late costs only the first of the clock's lead minutes (1.25 s at 480x)
    startup_allowance = max(startup_allowance, (time.monotonic() - up) + 1)
    midnight = _midnight(day)
    booking_clock = SimClock(midnight, -12 * 60, servers[0].anchor, 1.0)
    began = time.monotonic()
    _run(_book(day_plan, [s.url for s in servers], prepared.token, outcome, booking_clock))
    for server in servers:
        server.stop()
    # the last mails go out before the day's server starts its own scheduler (which would
    # stand by while this one holds the scheduler lock); what is left then, it sends
    scheduler.drain_and_stop(MAIL_DRAIN_SECONDS)
    booking_seconds = round(time.monotonic() - began, 1)
    # the day itself, compressed: the clock starts shortly before the first opening
    start_minute = day_plan.start - lead_minutes
    if speed is None:  # what is left once the server is up and before the report is read
        left = budget_left() - startup_allowance - WIND_DOWN_SECONDS
        speed = fitting_speed(day_plan.end + TAIL_MINUTES - start_minute, left)
    start_iso = f"{day.isoformat()}T{int(start_minute) // 60:02d}:{int(start_minute) % 60:02d}"
    own = deployment.serve_own(prepared, start_iso, speed, startup_allowance)
    cleanup.callback(own.stop)
    return _Stage(
        own.url,
        own.token,
        day,
        day_plan,
        outcome,
        SimClock(midnight, start_minute, own.anchor, speed),
        own,
        booking_seconds,
    )


def _stage_remote(
    url: str,
    token: str,
    *,
    catalogue: Path,
    offices: list[str] | None,
    until: int | None,
    visits: int,
    seed: int,
    speed: float | None,
    clock_setting: str | None,
    verify_tls: bool,
    bookings_path: Path | None,
) -> _Stage:
    """A running deployment: its clock as given by ``clock_setting`` (CLOCK_START@CLOCK_ANCHOR)
    or as measured, its day planned, the bookings made ahead by ``--book-only`` loaded."""
    from .actors import Outcome, SimClock  # need the simulate extra (aiohttp)

    if clock_setting:
        start_text, _, anchor_text = clock_setting.partition("@")
        moment = app_clock.parse_moment(start_text)
        anchor = app_clock.parse_real_moment(anchor_text).timestamp()
        clock_speed = speed or 1.0
        day = app_clock.to_local(moment).date()
    else:
        probe = offices[0] if offices else "aegi"
        moment, anchor, measured, business_date = deployment.read_server_clock(
            url, probe, verify_tls
        )
        clock_speed = speed or measured
        day = date.fromisoformat(business_date)
    start_minute = deployment.local_minute(moment)
    offices_plan = planning.read_offices(catalogue, day, offices, until)
    day_plan = planning.make_plan(offices_plan, day, visits, seed)
    outcome = Outcome()
    if bookings_path is not None:
        outcome.bookings = load_bookings(bookings_path)
    clock = SimClock(_midnight(day), start_minute, anchor, clock_speed)
    return _Stage(url, token, day, day_plan, outcome, clock)


def _progress_bar(stage: _Stage) -> tqdm:
    """A progress bar over the simulated minutes still to come (on standard error)."""
    from tqdm import tqdm  # the simulate extra

    return tqdm(
        total=round(stage.day_plan.end - stage.clock.start_minute),
        unit="min",
        desc=f"City day {stage.day}",
        file=sys.stderr,
        bar_format="{l_bar}{bar}| {n:.0f}/{total} simulated min {postfix}",
    )
