"""The application clock: the one place that says what time it is.

``now()`` returns an aware UTC datetime. By default it is the real time. ``start_at(moment)``
makes the clock run on from a chosen moment (``CLOCK_START`` for demos, training and black-box
tests); ``freeze(moment)`` stops it there (unit tests); ``advance(delta)`` moves it.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Berlin")

_lock = threading.Lock()
_offset = timedelta(0)
_frozen: datetime | None = None


def _real_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """Current time as an aware UTC datetime."""
    frozen = _frozen
    if frozen is not None:
        return frozen
    return _real_now() + _offset


def real_now() -> datetime:
    """The machine's time, ignoring CLOCK_START and freeze: only for the scheduler, because
    APScheduler fires on it (its runs are recorded and shown in machine time)."""
    return _real_now()


def local_now(tz: ZoneInfo = LOCAL_TZ) -> datetime:
    return now().astimezone(tz)


def today(tz: ZoneInfo = LOCAL_TZ) -> date:
    """The office-local calendar date (Europe/Berlin by default)."""
    return local_now(tz).date()


def parse_moment(value: str) -> datetime:
    """Parse an ISO 8601 datetime; a naive value is read as Europe/Berlin local time."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC)


def start_at(moment: datetime) -> None:
    """Let the clock run on from ``moment``."""
    global _offset, _frozen
    with _lock:
        _frozen = None
        _offset = moment.astimezone(UTC) - _real_now()


def freeze(moment: datetime) -> None:
    """Stop the clock at ``moment`` (tests)."""
    global _frozen
    with _lock:
        _frozen = moment.astimezone(UTC)


def advance(delta: timedelta) -> None:
    """Move the clock forward (or back), frozen or running."""
    global _offset, _frozen
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta


def reset() -> None:
    """Back to the real time."""
    global _offset, _frozen
    with _lock:
        _offset = timedelta(0)
        _frozen = None


def to_local(moment: datetime, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    return moment.astimezone(tz)


def local_to_utc(day: date, clock_time, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    """A wall-clock time on a local day as aware UTC (DST-correct; fold=0 on the ambiguous hour)."""
    return datetime.combine(day, clock_time, tzinfo=tz).astimezone(UTC)
