"""A shortened simulated day against a server of its own (SQLite, gevent): the integrity checks
hold, and the report's figures are those of the database."""

from __future__ import annotations

import statistics
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from queue_service.offices.catalogue import DEMO_FILE
from queue_service.simulation import report as reporting
from queue_service.simulation.command import (
    FASTEST_AUTO_SPEED,
    SLOWEST_AUTO_SPEED,
    fitting_speed,
    next_thursday,
    run_simulation,
)
from queue_service.simulation.plan import make_plan, read_offices

DAY = date(2026, 12, 10)  # a Thursday: walk-ins and appointments at Linden


@pytest.fixture(scope="module")
def day_report(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("simulation")
    result = run_simulation(
        offices=["linden"],
        visits=30,
        day=DAY,
        until=9 * 60,
        speed=600.0,
        deadline=60.0,
        workdir=workdir,
        progress=False,
    )
    return result, f"sqlite:///{workdir / 'simulation.sqlite3'}"


@pytest.mark.live  # serves the day with `queue-service serve` in a process
def test_a_shortened_day_keeps_every_integrity_check(day_report):
    result, _ = day_report
    checks = result["integrity"]
    assert checks["source"] == "database"
    failed = {k: v for k, v in checks.items() if isinstance(v, dict) and not v["ok"]}
    assert checks["all_ok"], failed
    figures = result["figures"]
    assert figures["visits"]["tickets"] >= 20  # walk-ins and checked-in appointments came
    assert figures["visits"]["appointments_checked_in"] >= 1
    assert (
        checks["calls_reached_displays"]["receipts"]
        >= 2 * checks["calls_reached_displays"]["calls"]
    )  # two displays saw every call
    assert figures["call_to_display_ms"]["n"] == checks["calls_reached_displays"]["receipts"]
    assert figures["error_count"] == 0, figures["errors"]


@pytest.mark.live  # serves the day with `queue-service serve` in a process
def test_the_report_figures_are_those_of_the_database(day_report):
    result, database_url = day_report
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.status, t.kind, t.issued_at, t.called_at, t.due_at FROM tickets t "
                "JOIN offices o ON o.id = t.office_id WHERE o.slug = 'linden' "
                "AND t.business_date = :day"
            ),
            {"day": DAY.isoformat()},
        ).all()
        booked = conn.execute(
            text("SELECT count(*) FROM appointments WHERE code IS NOT NULL")
        ).scalar_one()
    engine.dispose()
    office = result["figures"]["offices"]["linden"]
    assert office["tickets"] == len(rows)
    assert office["served"] == sum(1 for r in rows if r.status == "done")
    assert result["figures"]["visits"]["appointments_booked"] == booked

    def minutes(later, earlier):
        return (_moment(later) - _moment(earlier)).total_seconds() / 60

    walkin_waits = [minutes(r.called_at, r.issued_at) for r in rows if r.kind == "walkin"]
    stated = office["waiting_walkin_minutes"]
    assert stated["n"] == len(walkin_waits)
    # the report takes the server's times at whole seconds: within a minute's hundredth or so
    nearest = sorted(walkin_waits)[max(1, -(-len(walkin_waits) // 2)) - 1]
    assert stated["median"] == pytest.approx(nearest, abs=0.1)
    assert statistics.median(walkin_waits) >= 0


def _moment(value):
    from datetime import datetime

    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def test_the_plan_follows_the_catalogue():
    offices = read_offices(DEMO_FILE, DAY)
    assert len(offices) == 9 and "mobil" not in offices
    assert not offices["schuetzenplatz"].walkin_windows  # no walk-ins there
    assert len(offices["aegi"].counters) == 14
    assert offices["aegi"].counters[12].services == frozenset({"AB", "EID", "MB", "BG"})
    assert offices["linden"].capacity_at(8 * 60) == 2
    assert next_thursday(date(2026, 12, 3)) == DAY
    assert reporting.percentile([1, 2, 3, 4], 50) == 2
    plan = make_plan(offices, DAY, 2500, seed=1)
    assert 2300 <= len(plan.visits) <= 2600
    booked = [v for v in plan.visits if v.kind == "appointment"]
    assert 0.08 <= sum(v.no_show for v in booked) / len(booked) <= 0.16
    walkins = [v.arrival for v in plan.visits if v.kind == "walkin"]
    morning = sum(1 for m in walkins if m < 10 * 60)
    evening = sum(1 for m in walkins if 16 * 60 <= m)
    assert morning > 1.5 * evening  # the morning peak
    assert any(v.persons == 2 for v in plan.visits)
    assert any(len(v.services) > 1 for v in plan.visits)


def test_the_own_day_is_as_slow_as_the_budget_left_allows_within_bounds():
    # 630 simulated minutes in 100 s: 378x; less time left is capped at the documented 480x
    assert fitting_speed(630, 100) == 378.0
    assert fitting_speed(630, 60) == FASTEST_AUTO_SPEED == 480.0
    assert fitting_speed(630, -5) == FASTEST_AUTO_SPEED  # the booking ahead took it all
    assert fitting_speed(60, 100) == SLOWEST_AUTO_SPEED  # a shortened day is not crawled through


@pytest.mark.live  # two processes: a server and the scheduler
def test_the_booking_servers_only_write_the_mail_and_the_scheduler_process_sends_it(tmp_path):
    """Booking ahead as the scaled profile does it (MAIL_SENT_BY=scheduler): the server's
    booking leaves its confirmation pending in the outbox, the scheduler process beside it
    composes and sends it, and the drain waits for that before the day's server starts."""
    import json
    import urllib.request

    from queue_service.simulation import deployment

    prepared = deployment.prepare_own(tmp_path, DEMO_FILE)
    noon = "2026-12-09T12:00"
    (server,) = deployment.serve_own_processes(prepared, noon, 1.0, 0.0, mail_by_scheduler=True)
    scheduler = None
    try:

        def post(path: str, body: dict) -> dict:
            request = urllib.request.Request(
                server.url + path,
                data=json.dumps(body).encode(),
                headers={
                    "Authorization": f"Bearer {server.token}",
                    "Content-Type": "application/json",
                },
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)

        wish = {"office": "linden", "services": ["PA"], "persons": 1}
        wish["start"] = "2026-12-10T10:00:00+01:00"
        hold = post("/api/v1/holds", wish)
        post(
            "/api/v1/appointments",
            wish | {"hold": hold["hold"], "name": "Sim Person", "email": "sim@example.org"},
        )
        # written by the booking, not sent by the server
        assert deployment.mail_pending(prepared.database_url) == 1
        assert not list((tmp_path / "mail").glob("*.eml"))
        scheduler = deployment.start_scheduler(prepared, server, noon, 1.0)
        assert scheduler.drain_and_stop(30) == 0
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    finally:
        server.stop()
        if scheduler is not None:
            scheduler.stop()


def test_the_simulations_http_client_keeps_no_routing_cookie():
    """The production shape's proxy routes a client by the qs_route cookie it set on the first
    answer; the one client that speaks for the whole city must not keep it, or every clerk,
    kiosk and resident would be sent to the same application process."""

    from aiohttp import web

    from queue_service.simulation.actors import Api, Outcome

    seen: list[str | None] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = web.json_response({})
        response.set_cookie("qs_route", "0123456789abcdef0123456789abcdef", path="/")
        return response

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/api/v1/ping", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            # a name, not an address: aiohttp keeps no cookies for bare IP addresses anyway
            async with Api(f"http://localhost:{port}", "token", Outcome()) as api:
                for _ in range(3):
                    assert (await api.send("GET", "/api/v1/ping", "ping"))[0] == 200
        finally:
            await runner.cleanup()

    _run_in_own_thread(run)
    assert seen == [None, None, None]


@pytest.mark.live  # a TLS Socket.IO server of its own, on a free port
def test_the_simulations_sockets_accept_a_self_signed_certificate_with_one_tls_context(
    tmp_path, monkeypatch
):
    """Against the production demo (self-signed certificate, ``--insecure``) every phone and
    display socket connects over TLS without verifying; python-engineio would build a new
    default context for each (loading the system's CA certificates: two thirds of the
    simulator's CPU with hundreds of phones). The simulator's sockets share one context and
    never build a default one."""
    import ssl
    import subprocess
    import types

    import socketio
    from aiohttp import web

    from queue_service.simulation.actors import Day

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    built: list[int] = []
    real_default = ssl.create_default_context

    def counting_default(*args, **kwargs):
        built.append(1)
        return real_default(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting_default)
    connected: list[str] = []

    async def run() -> list:
        server = socketio.AsyncServer(async_mode="aiohttp")
        server.on("connect", lambda sid, environ: connected.append(sid), namespace="/display")
        app = web.Application()
        server.attach(app)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        day = types.SimpleNamespace(verify_tls=False)
        sockets = [Day._socket(day) for _ in range(3)]  # type: ignore[arg-type]
        try:
            for sio in sockets:
                await sio.connect(
                    f"https://127.0.0.1:{port}",
                    namespaces=["/display"],
                    transports=["websocket"],
                    wait_timeout=10,
                )
            return [sio.eio.websocket_extra_options["ssl"] for sio in sockets]
        finally:
            for sio in sockets:
                await sio.disconnect()
            await runner.cleanup()

    contexts = _run_in_own_thread(run)
    assert len(connected) == 3
    assert len({id(context) for context in contexts}) == 1
    assert contexts[0].verify_mode == ssl.CERT_NONE and not contexts[0].check_hostname
    assert built == []


def _run_in_own_thread(coroutine_function):
    """``asyncio.run`` of the coroutine in a thread of its own (a browser test of the same
    worker may have left Playwright's event loop running in this one, and asyncio.run refuses
    to start inside it); returns its result, re-raises its failure."""
    import asyncio
    import threading

    results: list = []
    failures: list[BaseException] = []

    def in_thread() -> None:
        try:
            results.append(asyncio.run(coroutine_function()))
        except BaseException as exc:  # re-raised below
            failures.append(exc)

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and not failures, failures
    return results[0]
