"""Which tickets' status pages are open: a waiting ticket's new position is pushed only to a ticket
room that has a listener somewhere (docs/realtime-protocol.md, section 7).

With a message queue an emit is published to Redis and every process hands it to its own
clients, so the process that reads the queue cannot see the others' rooms: a status page that
joins its ticket's room marks the token in Redis (``<channel>:watched:<token>``) for a few of its
re-join intervals, and the dispatcher asks Redis which of the tokens it would push to are marked.
Without a message queue there is one process with sockets, and its own rooms tell.

The mark is set after joining the room and before reading the ticket's state: a queue read that
found no mark came before the mark, so the page's own read shows that change already.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask

from ..extensions import socketio

log = logging.getLogger(__name__)

REJOINS_KEPT = 3  # a mark outlives this many of the status page's re-joins (6 x DISPLAY_POLL)
QUIET_AFTER_FAILURE = 5.0  # seconds Redis is not asked again after it failed (each try can
# wait for its connect timeout): meanwhile every position is sent, as publishing fails anyway

_clients: dict[int, tuple[Flask, Any]] = {}
_failed_at = 0.0


def _failed() -> None:
    global _failed_at
    _failed_at = time.monotonic()


def _redis(app: Flask):
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    if time.monotonic() - _failed_at < QUIET_AFTER_FAILURE:
        return False
    found = _clients.get(id(app))
    if found is None or found[0] is not app:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        found = _clients[id(app)] = (app, client)
    return found[1]


def _key(app: Flask, token: str) -> str:
    return f"{app.config.get('SOCKETIO_CHANNEL') or 'queue-service'}:watched:{token}"


def mark_seconds(app: Flask) -> int:
    return int(REJOINS_KEPT * 6 * float(app.config.get("DISPLAY_POLL_SECONDS", 10)))


def watch(app: Flask, token: str) -> None:
    """A status page has joined the ticket's room (in this process)."""
    client = _redis(app)
    if not client:
        return  # no message queue: the room itself tells; Redis failing: positions go to all
    try:
        client.set(_key(app, token), 1, ex=mark_seconds(app))
    except Exception:  # Redis down: the page's re-join marks it again; the dispatcher sends all
        _failed()
        log.warning("could not mark ticket room as watched", exc_info=True)


def watched(app: Flask, tokens: list[str], room) -> set[str]:
    """The tokens among ``tokens`` whose room (``room(token)`` on /display) has a listener; all
    of them when that cannot be told."""
    if not tokens:
        return set()
    client = _redis(app)
    if client is False:
        return set(tokens)
    if client is None:
        server = getattr(socketio, "server", None)
        if server is None:
            return set(tokens)
        manager = server.manager
        return {t for t in tokens if next(manager.get_participants("/display", room(t)), None)}
    try:
        marks = client.mget([_key(app, token) for token in tokens])
    except Exception:  # no answer: push to all, as before (a publish would fail as well)
        _failed()
        log.warning("could not read the watched ticket rooms", exc_info=True)
        return set(tokens)
    return {token for token, mark in zip(tokens, marks, strict=True) if mark is not None}
