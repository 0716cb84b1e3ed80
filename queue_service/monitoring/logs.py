"""LOG_FORMAT=json: every log record as one JSON object per line, and one line per request with
its request id, method, route (the URL rule, never the path: no tokens), status and duration.
No personal data: no query strings, no bodies, no client addresses, no user names.

The request id is nginx's ``X-Request-ID`` (``$request_id``, deploy/nginx/buergerservice.conf)
when it looks like one, else a new one; it is sent back in the response's ``X-Request-ID``.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, request

from .metrics import route_of_request

access_log = logging.getLogger("queue_service.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str, log_format: str) -> None:
    """Set up the root logger once: plain text (default) or JSON lines."""
    root = logging.getLogger()
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.handlers[:] = [handler]
        root.setLevel(level)
        # the WSGI servers' own access lines carry full paths (tokens): ours replace them
        for noisy in ("geventwebsocket.handler", "werkzeug", "gunicorn.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def request_id() -> str:
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_id = rid
    return rid


def init_app(app: Flask) -> None:
    json_lines = app.config.get("LOG_FORMAT") == "json"

    @app.before_request
    def _stamp():
        g.qs_log_started = time.perf_counter()
        request_id()

    @app.after_request
    def _log_request(response):
        response.headers.setdefault("X-Request-ID", request_id())
        if json_lines:
            started = g.pop("qs_log_started", None)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id(),
                    "method": request.method,
                    "route": route_of_request(),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                    if started
                    else None,
                },
            )
        return response
