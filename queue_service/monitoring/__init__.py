"""What an operator watches: Prometheus metrics (``metrics``) and, with LOG_FORMAT=json, one
structured log line per request (``logs``). docs/operations.md explains both."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import logs, metrics

    logs.init_app(app)
    metrics.init_app(app)
