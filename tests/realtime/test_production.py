"""The production starts of docs/deployment.md serve for real: gunicorn with the gevent-websocket
worker (one worker per process), and ``queue-service serve`` in gevent mode, the async mode the
benchmark chose (docs/deployment.md), across the public pages, the API, a ticket PDF and a login."""

from __future__ import annotations

import pytest
import requests

from .clients import SocketWatcher, Staff, live_env, start_live

pytestmark = pytest.mark.slow

GUNICORN = [
    "{python}",
    "-m",
    "gunicorn",
    "--worker-class",
    "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
    "--workers",
    "1",
    "--bind",
    "127.0.0.1:{port}",
    "--graceful-timeout",
    "5",
    "queue_service:create_app()",
]


def test_gunicorn_with_the_gevent_worker_serves_the_api_and_pushes_a_call(tmp_path):
    server = start_live(tmp_path, live_env(SOCKETIO_ASYNC_MODE="gevent"), command=GUNICORN)
    display = None
    try:
        clerk = Staff(server, "clerk-gunicorn")
        ticket = clerk.issue(server.base_url)
        display = SocketWatcher(server.base_url).connect()
        assert display.call("join_office", {"office": "aegi"})["ok"]
        start = display.wait_for("display_state")["seq"]
        called = clerk.call_next(server.base_url, 1)
        assert called["number"] == ticket["number"]
        event = display.wait_for("ticket_called")
        assert (event["number"], event["counter"], event["seq"]) == (ticket["number"], 1, start + 1)
    finally:
        if display is not None:
            display.close()
        server.stop()
    assert "Traceback" not in server.log()


def test_serve_in_gevent_mode_serves_pages_pdfs_and_the_staff_login(tmp_path):
    server = start_live(tmp_path, live_env(SOCKETIO_ASYNC_MODE="gevent"))
    try:
        base = server.base_url
        clerk = Staff(server, "clerk-gevent")
        ticket = clerk.issue(base)
        for path in (
            "/",
            "/termin/",
            "/display/aegi",
            f"/t/{ticket['token']}",
            "/datenschutz",
            "/barrierefreiheit",
            "/admin/login",
            "/api/v1/status",
            "/api/openapi.json",
            "/api/v1/offices/aegi/display-state",
        ):
            response = requests.get(base + path, timeout=10)
            assert response.status_code == 200, (path, response.status_code)
        pdf = requests.get(f"{base}/api/v1/tickets/{ticket['token']}/pdf", timeout=10)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        desk = requests.get(
            f"{base}/admin/desk",
            headers={"Cookie": clerk.session_cookie(base)},
            timeout=10,
            allow_redirects=True,
        )
        assert desk.status_code == 200 and "clerk-gevent" in desk.text
    finally:
        server.stop()
    assert "Traceback" not in server.log()
