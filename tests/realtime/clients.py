"""Real Socket.IO clients for the tests: python-socketio's AsyncClient (websocket transport) on
its own event-loop thread, behind a small synchronous API; and staff helpers for live servers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import socketio

from ..support import servers
from ..support.html import csrf_from


class SocketWatcher:
    """One connection to one namespace that records every event it receives."""

    def __init__(
        self,
        base_url: str,
        namespace: str = "/display",
        headers: dict | None = None,
        cafile: str | None = None,
    ):
        self.base_url, self.namespace, self.headers = base_url, namespace, headers or {}
        self.cafile = cafile  # HTTPS: the certificate the server must present
        self.events: list[tuple[str, Any, float]] = []
        self.connect_errors: list[Any] = []
        self._seen = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client = socketio.AsyncClient(reconnection=False)

        @self.client.on("*", namespace=namespace)
        async def _any(event, data=None):
            with self._seen:
                self.events.append((event, data, time.time()))
                self._seen.notify_all()

        @self.client.on("connect_error", namespace=namespace)
        async def _refused(data=None):
            self.connect_errors.append(data)

        self.cut = threading.Event()  # the server ended this namespace's connection

        @self.client.on("disconnect", namespace=namespace)
        async def _cut(reason=None):
            if reason == self.client.reason.SERVER_DISCONNECT:
                self.cut.set()

    def _run(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def connect(self, transports: tuple[str, ...] = ("websocket",)) -> SocketWatcher:
        if self.cafile:
            self.client.eio.http_factory = self._verifying_session
        self._run(
            self.client.connect(
                self.base_url,
                namespaces=[self.namespace],
                transports=list(transports),
                headers=self.headers,
                wait_timeout=10,
            )
        )
        return self

    def _verifying_session(self):
        import ssl

        import aiohttp

        context = ssl.create_default_context(cafile=self.cafile)
        # unsafe: keep cookies set by an IP address (the proxy's routing cookie on 127.0.0.1),
        # as a browser does; aiohttp drops them by default
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )

    def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return self._run(
            self.client.call(event, data, namespace=self.namespace, timeout=timeout), timeout + 1
        )

    def wait_for(
        self, event: str, where: Callable[[Any], bool] = lambda d: True, timeout: float = 10
    ) -> Any:
        """The first recorded ``event`` whose data satisfies ``where`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                for name, data, _ in self.events:
                    if name == event and where(data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {event} within {timeout}s; got {[e for e, *_ in self.events]}"
                    )
                self._seen.wait(left)

    def send(self, event: str, data: Any = None) -> None:
        """Emit without waiting for an answer (the server may cut the connection instead)."""
        self._run(self.client.emit(event, data, namespace=self.namespace))

    def wait_cut(self, timeout: float = 10) -> bool:
        """True once the server has ended this connection (within ``timeout`` seconds)."""
        return self.cut.wait(timeout)

    def received(self, event: str | None = None) -> list[Any]:
        with self._seen:
            return [data for name, data, _ in self.events if event is None or name == event]

    def close(self) -> None:
        try:
            if self.client.connected:
                self._run(self.client.disconnect(), 5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


def _on_database(url: str, work: Callable[[], Any]) -> Any:
    """Run ``work`` in an app of this test process bound to a live server's database (faster
    than a CLI process per step, which costs seconds on a busy machine)."""
    from queue_service import create_app
    from queue_service.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "live-test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "REALTIME_EMIT_IN_BACKGROUND": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()
            db.engine.dispose()


def prepare_database(url: str) -> None:
    """Migrate and load the demo catalogue (what ``start_server(load_demo=True)`` does by CLI)."""
    from flask_migrate import upgrade

    from queue_service.offices.catalogue import DEMO_FILE, load_catalogue_file

    def work():
        upgrade()
        load_catalogue_file(DEMO_FILE)

    _on_database(url, work)


def start_live(
    workdir,
    env: dict,
    database_url: str | None = None,
    prepare: bool = True,
    port: int | None = None,
    command: list[str] | None = None,
) -> servers.ServerProcess:
    """A live server on ``database_url`` (default: a new SQLite file), its database prepared here."""
    url = database_url or f"sqlite:///{workdir / f'live-{time.monotonic_ns()}.sqlite3'}"
    if prepare:
        prepare_database(url)
    return servers.start_server(
        workdir, database_url=url, env=env, load_demo=False, port=port, command=command
    )


class Staff:
    """A clerk account on a live server's database, with a bearer token for the API."""

    def __init__(
        self,
        server: servers.ServerProcess,
        name: str,
        offices: tuple[str, ...] = ("aegi",),
        role: str = "clerk",
    ):
        from queue_service.auth.services import create_api_token, create_user

        def work():
            created = create_user(name, role, list(offices))
            return created.password, create_api_token(name)

        self.name = name
        self.password, token = _on_database(server.env["DATABASE_URL"], work)
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, base_url: str, path: str, json: dict | None = None, timeout: float = 10):
        return requests.post(base_url + path, json=json, headers=self.headers, timeout=timeout)

    def issue(self, base_url: str, office: str = "aegi", service: str = "PA") -> dict:
        response = self.post(base_url, f"/api/v1/offices/{office}/tickets", {"service": service})
        assert response.status_code == 201, response.text
        return response.json()

    def call_next(self, base_url: str, counter: int, office: str = "aegi") -> dict:
        response = self.post(base_url, f"/api/v1/offices/{office}/counters/{counter}/call-next")
        assert response.status_code == 200, response.text
        return response.json()

    def signed_in_browser(self, base_url: str) -> requests.Session:
        """A browser logged in through the login form."""
        browser = requests.Session()
        page = browser.get(base_url + "/admin/login", timeout=10).text
        token = csrf_from(page)
        response = browser.post(
            base_url + "/admin/login",
            timeout=10,
            data={"username": self.name, "password": self.password, "csrf_token": token},
        )
        assert response.status_code == 200, response.text
        return browser

    def session_cookie(self, base_url: str) -> str:
        """Log in through the login form; the Cookie header of the logged-in session."""
        return cookie_header(self.signed_in_browser(base_url))


def cookie_header(browser: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in browser.cookies.items())


def live_env(**extra: str) -> dict:
    """A live server on the demo catalogue on Thursday 26 November 2026, 10:00 (walk-ins open),
    in gevent mode as deployed (docs/deployment.md); test_sockets.py covers threading too."""
    return {
        "CLOCK_START": "2026-11-26T10:00",
        "SCHEDULER_ENABLED": "0",
        "SOCKETIO_ASYNC_MODE": "gevent",
        **extra,
    }


def open_status_pages(app, tokens: list[str]) -> list:
    """A status page open for each token (Socket.IO test clients of this process)."""
    from queue_service.extensions import socketio

    phones = []
    for token in tokens:
        phone = socketio.test_client(app, namespace="/display")
        assert phone.emit("join_ticket", {"token": token}, namespace="/display", callback=True)[
            "ok"
        ]
        phones.append(phone)
    return phones
