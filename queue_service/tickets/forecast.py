"""The rest of the day's forecast for one office: can the staffed counters still serve a new
walk-in before the office closes?

A deliberately simple, explainable model (docs/walk-in-forecast.md):
- service ends at the end of today's last opening window (walk-in or appointment);
- capacity = counters open now x minutes until then;
- work = the expected minutes of everyone waiting (today's observed durations, as the estimates
  use them) + what is left at busy counters + appointments still due today (registered by
  booking, which tickets must not import);
- the expected last service ends at now + work / open counters;
- walk-ins still acceptable = the capacity left divided by the average walk-in duration.

With no counter open the forecast says nothing (``known`` is False): the kiosk then never
refuses anyone on a guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..offices import calendar
from ..offices.models import Office, WindowKind
from . import estimates

# booking registers: due_work(office_id, now, until) -> expected minutes of appointments due
DueWork = Callable[[int, datetime, datetime], float]
_due_work: dict[str, DueWork] = {}


def register_due_work(name: str, provider: DueWork) -> None:
    _due_work[name] = provider


# booking registers: alternatives(office, service_code) -> what a visitor who may not be served
# today can do instead (next free appointment, links to book and to the waitlist)
Alternatives = Callable[[Office, str], dict]
_alternatives: dict[str, Alternatives] = {}


def register_alternatives(name: str, provider: Alternatives) -> None:
    _alternatives[name] = provider


def alternatives(office: Office, service_code: str) -> dict:
    found: dict = {}
    for provider in _alternatives.values():
        found.update(provider(office, service_code))
    return found


@dataclass(frozen=True)
class Forecast:
    known: bool
    service_end: datetime | None = None  # aware UTC: when the office stops serving today
    open_counters: int = 0
    work_minutes: float = 0.0
    capacity_minutes: float = 0.0
    expected_last_served: datetime | None = None  # aware UTC
    walkins_acceptable: int | None = None
    fixed_minutes: float = 0.0  # before any waiting ticket: busy counters + appointments due

    def can_take(self, minutes: float) -> bool:
        """Can a new walk-in of ``minutes`` still be served today? (True when unknown)"""
        if not self.known:
            return True
        return self.work_minutes + minutes <= self.capacity_minutes


def _service_end(office: Office, now: datetime) -> datetime | None:
    day = now.astimezone(calendar.office_tz(office)).date()
    ends = [
        w.end
        for kind in (WindowKind.WALKIN, WindowKind.APPOINTMENT)
        for w in calendar.windows(office, day, kind)
        if w.end > now
    ]
    return max(ends, default=None)


def day_forecast(office: Office, now: datetime, snap: estimates.Snapshot | None = None) -> Forecast:
    end = _service_end(office, now)
    if end is None:
        return Forecast(False)
    snap = snap or estimates.snapshot(office, now)
    servers = len(snap.open_counter_ids)
    if servers == 0:
        return Forecast(False, service_end=end)
    waiting = snap.waiting_minutes or 0.0
    busy = sum(snap.remaining.get(c, 0.0) for c in snap.open_counter_ids)
    due = sum(provider(office.id, now, end) for provider in _due_work.values())
    work = waiting + busy + due
    capacity = servers * (end - now).total_seconds() / 60
    walkin = [snap.duration(s) for s in snap.services]
    average = sum(walkin) / len(walkin) if walkin else 10.0
    last = now + timedelta(minutes=work / servers)
    acceptable = max(0, math.floor((capacity - work) / average)) if average > 0 else None
    return Forecast(
        True,
        service_end=end,
        open_counters=servers,
        work_minutes=round(work, 1),
        capacity_minutes=round(capacity, 1),
        expected_last_served=last,
        walkins_acceptable=acceptable,
        fixed_minutes=busy + due,
    )


def at_risk(outlook: Forecast, snap: estimates.Snapshot) -> frozenset[int]:
    """The waiting tickets the counters open now may not serve before closing: the same rule as
    ``can_take``, applied at each ticket's place in the call order (the busy counters, the
    appointments still due and every ticket ranked before it, plus its own duration)."""
    if not outlook.known:
        return frozenset()
    total = outlook.fixed_minutes
    risky = set()
    for ticket in snap.waiting:
        total += snap.duration(ticket.service_id)
        if total > outlook.capacity_minutes:
            risky.add(ticket.id)
    return frozenset(risky)
