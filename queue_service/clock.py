"""The application clock: the one place that says what time it is.

``now()`` returns an aware UTC datetime. By default it is the real time. ``start_at(moment)``
makes the clock run on from a chosen moment (``CLOCK_START`` for demos, training and black-box
tests), optionally faster than real time (``CLOCK_SPEED``, for the simulated city day);
``freeze(moment)`` stops it there (unit tests); ``advance(delta)`` moves it.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Berlin")

_lock = threading.Lock()
_offset = timedelta(0)
_frozen: datetime | None = None
# compressed time: now = _start + (real - _anchor) * _speed (only while _speed != 1)
_speed = 1.0
_start: datetime | None = None
_anchor: datetime | None = None


def _real_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """Current time as an aware UTC datetime."""
    frozen = _frozen
    if frozen is not None:
        return frozen
    if _speed != 1.0 and _start is not None and _anchor is not None:
        return _start + (_real_now() - _anchor) * _speed + _offset
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


def parse_real_moment(value: str) -> datetime:
    """A machine moment (CLOCK_ANCHOR): Unix seconds, or ISO 8601 (naive means UTC)."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def start_at(moment: datetime, speed: float = 1.0, anchor: datetime | None = None) -> None:
    """Let the clock run on from ``moment``, ``speed`` times as fast as real time.

    ``anchor`` is the real moment at which the clock reads ``moment`` (default: now). Processes
    of one deployment given the same moment, speed and anchor show the same time.
    """
    global _offset, _frozen, _speed, _start, _anchor
    if speed <= 0:
        raise ValueError("the clock speed must be positive")
    real = _real_now()
    anchor = (anchor or real).astimezone(UTC)
    with _lock:
        _frozen = None
        if speed == 1.0:
            _speed, _start, _anchor = 1.0, None, None
            _offset = moment.astimezone(UTC) - anchor
        else:
            _speed, _start, _anchor = float(speed), moment.astimezone(UTC), anchor
            _offset = timedelta(0)


def speed() -> float:
    """How many times faster than real time the clock runs (1.0 unless CLOCK_SPEED is set)."""
    return _speed


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
    global _offset, _frozen, _speed, _start, _anchor
    with _lock:
        _offset = timedelta(0)
        _frozen = None
        _speed, _start, _anchor = 1.0, None, None


def to_local(moment: datetime, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    return moment.astimezone(tz)


def local_to_utc(day: date, clock_time, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    """A wall-clock time on a local day as aware UTC (DST-correct; fold=0 on the ambiguous hour)."""
    return datetime.combine(day, clock_time, tzinfo=tz).astimezone(UTC)
