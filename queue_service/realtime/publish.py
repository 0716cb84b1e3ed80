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


# ---------------------------------------------------------------- the live queue (issue 3)


def ticket_called(office_slug: str, view: dict) -> None:
    """A number was called (or recalled) to a counter: for the office's displays.

    ``view`` is ``tickets.views.called_event``: number, counter, service code, server time;
    never a token or personal data.
    """
    payload = {key: view[key] for key in
               ("office", "number", "counter", "counter_name", "service", "recall_count", "server_time")
               if key in view}
    publish("ticket_called", payload, room=office_room(office_slug), namespace=DISPLAY_NS)


def queue_changed(office_slug: str) -> None:
    """Something in the office's queue changed: displays and clerk desks refresh their lists."""
    from .. import clock

    payload = {"office": office_slug, "server_time": clock.now().isoformat(timespec="milliseconds")}
    publish("queue_updated", payload, room=office_room(office_slug), namespace=DISPLAY_NS)
    publish("queue_updated", payload, room=office_room(office_slug), namespace=STAFF_NS)


def ticket_updated(token: str, public_view: dict) -> None:
    """The state of one ticket changed: for the visitor's status page (its ticket room)."""
    publish("ticket_updated", public_view, room=ticket_room(token), namespace=DISPLAY_NS)
