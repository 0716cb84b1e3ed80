"""What the realtime layer reads from the package that owns the queue.

realtime sends what tickets publish, so it never imports tickets: tickets registers its readers
here (``tickets/display.py``, imported by ``create_app``), the way booking registers its impact
provider with ``offices/impact.py``. Dependency direction: tickets -> realtime, never back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueueReaders:
    # the queue_updated payload of an office and the positions of its waiting tickets that are
    # not in the given dict of positions already sent (a QueueRead)
    read_queue: Callable[[str, dict], Any]
    # the full display_state of an office, shared between simultaneous readers
    shared_display_state: Callable[[str], dict]
    # the public status of a ticket by token, in a language
    ticket_status: Callable[[str, str], dict]


_readers: QueueReaders | None = None


def register_queue_readers(readers: QueueReaders) -> None:
    global _readers
    _readers = readers


def queue_readers() -> QueueReaders:
    if _readers is None:
        raise RuntimeError("no queue readers registered (create_app imports tickets.display)")
    return _readers
