"""The one emitter. Services call these functions inside a unit of work; the emit happens only
after the commit (a screen never shows a state that was rolled back), and a failed emit is logged,
never raised to the clerk."""

from __future__ import annotations

import logging
from typing import Any

from ..db import after_commit
from ..extensions import socketio

log = logging.getLogger(__name__)

DISPLAY_NS = "/display"
STAFF_NS = "/staff"


def office_room(office_slug: str) -> str:
    return f"office:{office_slug}"


def ticket_room(token: str) -> str:
    return f"ticket:{token}"


def emit_now(event: str, data: Any, *, room: str, namespace: str) -> None:
    """Emit immediately (use only outside a transaction); failures are logged and swallowed."""
    try:
        socketio.emit(event, data, to=room, namespace=namespace)
    except Exception:
        log.exception("could not emit %s to %s%s", event, namespace, room)


def publish(event: str, data: Any, *, room: str, namespace: str = DISPLAY_NS) -> None:
    """Emit ``event`` to ``room`` once the current transaction has committed."""
    after_commit(lambda: emit_now(event, data, room=room, namespace=namespace))


def office_message(office_slug: str, message_view: dict) -> None:
    """A ticker message of the office's displays was posted, changed, withdrawn or expired."""
    publish("office_message", message_view, room=office_room(office_slug), namespace=DISPLAY_NS)
