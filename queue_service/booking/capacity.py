"""Freed capacity: who may take the seats an appointment gives up before the public sees them.

When a booked appointment is cancelled or moved, its seats stay occupied for
RELEASE_DELAY_MINUTES (appointment trading) and, inside the same transaction, every registered
handler may take them over first. The waitlist registers here, so booking never imports it
(dependency direction: waitlist -> booking).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

FreedHandler = Callable[[object, int, datetime], None]

_handlers: dict[str, FreedHandler] = {}


def register_freed_handler(name: str, handler: FreedHandler) -> None:
    """``handler(session, appointment_id, now)`` runs inside the unit of work that freed the
    appointment's seats; it may move them to another appointment."""
    _handlers[name] = handler


def freed(session, appointment_id: int, now: datetime) -> None:
    for handler in list(_handlers.values()):
        handler(session, appointment_id, now)
