"""Live updates over Socket.IO: publish.py is the only module that emits, events.py holds the
handlers; what the displays show is read by tickets/display.py, registered in readers.py
(docs/realtime-protocol.md)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind Socket.IO: the async mode, and with REDIS_URL the Redis message queue (its channel
    from SOCKETIO_CHANNEL) so that every server process and the scheduler reach every client."""
    import socketio as python_socketio

    from ..extensions import socketio
    from . import events as _events  # registers the handlers
    from . import models as _models  # noqa: F401

    cfg = app.config
    options = {
        "async_mode": cfg["SOCKETIO_ASYNC_MODE"],
        "cors_allowed_origins": cfg.get("SOCKETIO_CORS_ORIGINS"),
        "ping_interval": cfg.get("SOCKETIO_PING_INTERVAL", 20),
        "ping_timeout": cfg.get("SOCKETIO_PING_TIMEOUT", 10),
        "logger": False,
        "engineio_logger": False,
    }
    redis_url = cfg.get("REDIS_URL")
    if redis_url:
        # a short connect timeout keeps a dead Redis from holding the dispatcher; no read
        # timeout, as it would break the subscriber's blocking listen (python-socketio)
        options["client_manager"] = python_socketio.RedisManager(
            redis_url,
            channel=cfg.get("SOCKETIO_CHANNEL") or "queue-service",
            write_only=bool(cfg.get("SOCKETIO_WRITE_ONLY")),
            redis_options={"socket_connect_timeout": 2, "socket_keepalive": True},
        )
    socketio.init_app(app, **options)
    from ..auth.login import on_sessions_ended

    on_sessions_ended(_events.end_staff_connections)


def emit_only() -> None:
    """This process serves no sockets (the scheduler, a command): with a message queue it only
    publishes, and never starts a listener (a write-only manager)."""
    from ..extensions import socketio

    manager = getattr(getattr(socketio, "server", None), "manager", None)
    if manager is not None and hasattr(manager, "write_only"):
        manager.write_only = True
