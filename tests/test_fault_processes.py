"""Fault runs through real processes: a served app under load while its own Redis is stopped, and
while its own PostgreSQL restarts. Never a 500: degraded service, or 503 with Retry-After, and
recovery without anyone touching the app."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from .realtime.clients import Staff, _on_database, live_env
from .support import servers
from .support.private_services import PrivatePostgres, PrivateRedis

pytestmark = [pytest.mark.slow]


class Load:
    """Requests from a few threads until stopped; every answer is recorded (bounded in time)."""

    def __init__(self, requests_: list, threads: int = 3, limit_seconds: float = 90) -> None:
        self.requests = requests_
        self.answers: list[tuple[float, str, int, dict]] = []
        self.stop_event = threading.Event()
        self.deadline = time.monotonic() + limit_seconds
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, offset: int) -> None:
        session = requests.Session()
        i = offset
        while not self.stop_event.is_set() and time.monotonic() < self.deadline:
            name, send = self.requests[i % len(self.requests)]
            i += 1
            try:
                response = send(session)
                record = (response.status_code, dict(response.headers))
            except requests.RequestException as exc:
                record = (-1, {"error": exc.__class__.__name__})
            self.answers.append((time.monotonic(), name, *record))
            time.sleep(0.02)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(30)

    def since(self, moment: float) -> list[tuple[float, str, int, dict]]:
        return [a for a in self.answers if a[0] >= moment]

    def statuses(self, answers=None) -> Counter:
        return Counter((name, status) for _, name, status, _ in (answers or self.answers))


def _wait_for(answers_of, predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate(answers_of()):
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


def _kiosk_and_clerk(server: servers.ServerProcess, name: str) -> tuple[dict, Staff]:
    from queue_service.auth.services import create_device

    token = _on_database(server.env["DATABASE_URL"], lambda: create_device("aegi", "kiosk"))
    return {"X-Device-Token": token}, Staff(server, name)


def _login(base_url: str, staff: Staff):
    from .support.html import csrf_from

    def send(session: requests.Session):
        fresh = requests.Session()
        token = csrf_from(fresh.get(base_url + "/admin/login", timeout=10).text)
        return fresh.post(
            base_url + "/admin/login",
            data={"username": staff.name, "password": staff.password, "csrf_token": token},
            timeout=10,
            allow_redirects=False,
        )

    return send


def test_redis_stopped_under_load_kiosks_search_and_login_keep_working(private_redis, live_server):
    server = live_server(
        env=live_env(
            REDIS_URL=private_redis.url,
            SOCKETIO_CHANNEL=f"faults-{private_redis.port}",
            RATELIMIT_ENABLED="1",
            KIOSK_RATELIMIT_TICKETS="10000 per minute",
            RATELIMIT_BOOKING_SEARCH="10000 per minute",
            LOG_LEVEL="WARNING",
        )
    )
    base = server.base_url
    kiosk, clerk = _kiosk_and_clerk(server, "clerk-redis-fault")
    load = [
        (
            "ticket",
            lambda s: s.post(
                base + "/api/v1/offices/aegi/tickets",
                json={"service": "PA"},
                headers=kiosk,
                timeout=10,
            ),
        ),
        ("search", lambda s: s.get(base + "/api/v1/offices/aegi/slots?services=PA", timeout=10)),
        ("login", _login(base, clerk)),
    ]
    with Load(load) as running:
        assert _wait_for(lambda: running.answers, lambda a: len(a) >= 15, 60)
        ready = requests.get(base + "/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["redis"] == "reachable"
        private_redis.stop()
        stopped = time.monotonic()
        assert _wait_for(lambda: running.since(stopped), lambda a: len(a) >= 30, 60)
        ready = requests.get(base + "/readyz", timeout=10)
    during = running.statuses(running.since(stopped))
    assert ready.status_code == 200
    assert ready.json() == {"status": "degraded", "database": "reachable", "redis": "unreachable"}
    # logins past RATELIMIT_LOGIN are refused: the limit still holds, counted in memory
    assert set(during) <= {("ticket", 201), ("search", 200), ("login", 302), ("login", 429)}, during
    assert {name for name, _ in during} == {"ticket", "search", "login"}, during
    assert "falling back to in-memory storage" in server.log()
    assert "unhandled error" not in server.log(), server.log()[-3000:]


def test_postgres_restarted_under_load_answers_503_with_retry_after_then_recovers(
    private_postgres, live_server
):
    server = live_server(database_url=private_postgres.url, env=live_env(LOG_LEVEL="WARNING"))
    base = server.base_url
    kiosk, _clerk = _kiosk_and_clerk(server, "clerk-pg-fault")
    first = requests.post(
        base + "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk, timeout=10
    ).json()
    load = [
        (
            "ticket",
            lambda s: s.post(
                base + "/api/v1/offices/aegi/tickets",
                json={"service": "PA"},
                headers=kiosk,
                timeout=10,
            ),
        ),
        ("status", lambda s: s.get(base + "/api/v1/offices/aegi/status", timeout=10)),
        ("page", lambda s: s.get(base + f"/t/{first['token']}", timeout=10)),
    ]
    ok = {"ticket": 201, "status": 200, "page": 200}
    with Load(load) as running:
        assert _wait_for(lambda: running.answers, lambda a: len(a) >= 15, 60)
        private_postgres.stop()
        stopped = time.monotonic()
        assert _wait_for(lambda: running.since(stopped), lambda a: len(a) >= 15, 60)
        ready_down = requests.get(base + "/readyz", timeout=10)
        private_postgres.start()
        started = time.monotonic()
        recovered = _wait_for(
            lambda: running.since(started),
            lambda a: (
                {name for _, name, status, _ in a[-9:] if status == ok[name]} == set(ok)
                and len(a) >= 9
            ),
            60,
        )
    statuses = running.statuses()
    assert not [key for key in statuses if key[1] not in (200, 201, 503)], statuses
    outage = [a for a in running.since(stopped) if a[0] < started and a[2] == 503]
    assert outage, running.statuses(running.since(stopped))
    for _, name, _, headers in outage:
        assert int(headers["Retry-After"]) > 0
        expected = "text/html" if name == "page" else "application/problem+json"
        assert headers["Content-Type"].startswith(expected), (name, headers)
    assert ready_down.status_code == 503
    assert ready_down.json() == {
        "status": "unavailable",
        "database": "unreachable",
        "redis": "not configured",
    }
    assert recovered, running.statuses(running.since(started))
    assert requests.get(base + "/readyz", timeout=10).json()["status"] == "ok"
