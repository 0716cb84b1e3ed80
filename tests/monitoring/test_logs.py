"""LOG_FORMAT=json on a served process: one JSON line per request with the request id (nginx's
X-Request-ID when given), method, route, status and duration; no token, query or address."""

from __future__ import annotations

import json
import secrets
import time

import pytest
import requests

from ..support.servers import start_server

pytestmark = pytest.mark.slow


def test_json_logs_have_one_line_per_request_without_tokens_or_personal_data(tmp_path):
    server = start_server(
        tmp_path,
        env={"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "CLOCK_START": "2026-11-26T10:00"},
    )
    secret = secrets.token_urlsafe(16)
    try:
        base = server.base_url
        given = "0123456789abcdef0123456789abcdef"
        response = requests.get(
            f"{base}/t/{secret}?email=erika@example.org",
            headers={"X-Request-ID": given},
            timeout=10,
        )
        assert response.status_code == 404
        assert response.headers["X-Request-ID"] == given
        status = requests.get(
            f"{base}/api/v1/status", headers={"X-Request-ID": "bad id!"}, timeout=10
        )
        assert status.status_code == 200
        generated = status.headers["X-Request-ID"]
        assert generated != "bad id!" and len(generated) == 32
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and generated not in server.log():
            time.sleep(0.1)
    finally:
        server.stop()
    log = server.log()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests_logged = [r for r in records if r["logger"] == "queue_service.access"]
    by_id = {r["request_id"]: r for r in requests_logged}
    assert by_id[given] | {"duration_ms": 0} == {
        **by_id[given],
        "method": "GET",
        "route": "/t/<token>",
        "status": 404,
        "duration_ms": 0,
    }
    assert by_id[generated]["route"] == "/api/v1/status" and by_id[generated]["status"] == 200
    assert all(isinstance(r["duration_ms"], float) for r in requests_logged)
    assert {"time", "level", "logger", "message"} <= set(records[0])
    # besides JSON only what the command itself prints (address, mode); no server access lines
    stray = [line for line in log.splitlines() if line.strip() and not line.startswith("{")]
    assert not [line for line in stray if "GET " in line or "HTTP/" in line], stray
    assert secret not in log and "erika@example.org" not in log and "127.0.0.1 -" not in log
