"""Draw a city day from the catalogue: who comes when, for what, and how long it takes.

Pure and seeded: the same catalogue, day and seed give the same plan. Times are minutes after
local midnight of the simulated day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..offices.catalogue import parse_catalogue
from ..offices.models import WindowKind

# relative demand per service (demo assumption: identity documents and registration dominate)
SERVICE_WEIGHTS = {
    "PA": 22,
    "RP": 12,
    "KID": 5,
    "VD": 3,
    "AB": 18,
    "VL": 3,
    "EID": 5,
    "AN": 18,
    "ABM": 3,
    "MB": 4,
    "FZ": 2,
    "BG": 2,
    "FS": 1,
    "IFS": 1,
    "BPA": 0.5,
    "FUN": 0.5,
    "BEF": 2,
}
# walk-in arrivals per hour of the day, relative (the morning peak)
HOUR_WEIGHTS = {
    7: 0.0,
    8: 1.7,
    9: 1.5,
    10: 1.2,
    11: 1.0,
    12: 0.7,
    13: 0.4,
    14: 0.8,
    15: 0.9,
    16: 1.0,
    17: 0.6,
}
APPOINTMENT_SHARE = 0.45  # of an office's visits, where walk-ins are taken at all
APPOINTMENT_FILL = 1.0  # of the appointment capacity that may be planned
NO_SHOW_RATE = 0.12  # booked appointments nobody checks in for
WALKIN_GONE_RATE = 0.03  # walk-ins who left before they were called (recalled, then no-show)
TWO_PERSONS_RATE = 0.12
PHONE_RATE = 0.35  # visitors who follow their ticket on the status page
EARLY_QUEUE_RATE = 0.08  # walk-ins waiting at the door before the walk-in window opens


@dataclass(frozen=True)
class ServiceInfo:
    code: str
    minutes: int
    extra_person_minutes: int
    walk_in: bool
    online: bool


@dataclass(frozen=True)
class CounterPlan:
    number: int
    services: frozenset[str]


@dataclass
class OfficePlan:
    slug: str
    counters: list[CounterPlan]
    services: dict[str, ServiceInfo]
    walkin_windows: list[tuple[int, int]]
    appointment_windows: list[tuple[int, int, int]]  # start, end, parallel capacity
    walkin_cap: int = 250
    # the catalogue's appointment windows of the day, even when the simulated day ends early
    capacity_windows: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def opens(self) -> int:
        starts = [w[0] for w in self.walkin_windows] + [w[0] for w in self.appointment_windows]
        return min(starts) if starts else 0

    @property
    def closes(self) -> int:
        ends = [w[1] for w in self.walkin_windows] + [w[1] for w in self.appointment_windows]
        return max(ends) if ends else 0

    def capacity_at(self, minute: int) -> int:
        """Parallel appointments allowed at ``minute`` (0 outside the appointment windows)."""
        windows = self.capacity_windows or self.appointment_windows
        return sum(cap for start, end, cap in windows if start <= minute < end)


@dataclass
class Visit:
    id: int
    office: str
    kind: str  # "walkin" or "appointment"
    services: list[str]
    persons: int
    arrival: float  # walk-ins: when they come; appointments: desired start (booking replaces it)
    duration: float  # minutes at the counter
    phone: bool
    gone: bool = False  # walk-in who left before the call
    no_show: bool = False  # appointment nobody checks in for
    arrival_offset: float = 0.0  # appointments: arrival relative to the booked start


@dataclass
class DayPlan:
    day: date
    seed: int
    offices: dict[str, OfficePlan]
    visits: list[Visit] = field(default_factory=list)

    @property
    def start(self) -> int:
        return min(o.opens for o in self.offices.values())

    @property
    def end(self) -> int:
        return max(o.closes for o in self.offices.values())


def _minutes(t) -> int:
    return t.hour * 60 + t.minute


def read_offices(
    catalogue_path: Path, day: date, only: list[str] | None = None, until: int | None = None
) -> dict[str, OfficePlan]:
    """The offices open on ``day`` (not the mobile one), with counters, services and windows;
    ``until`` (minute of the day) cuts the windows short for a shortened day."""
    data = parse_catalogue(Path(catalogue_path).read_text(), str(catalogue_path))
    services = {
        code: ServiceInfo(
            code,
            int(s["duration_minutes"]),
            int(s.get("extra_person_minutes") or 0),
            bool(s["walk_in_allowed"]),
            bool(s["online_bookable"]),
        )
        for code, s in data["services"].items()
    }
    offices: dict[str, OfficePlan] = {}
    for slug, office in data["offices"].items():
        if office.get("is_mobile") or (only and slug not in only):
            continue
        plan = _office_plan(slug, office, services, day, until)
        if plan is not None:
            offices[slug] = plan
    return offices


def _windows(
    office: dict, weekday: int, until: int | None
) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Walk-in windows (start, end), appointment windows (start, end, seats) cut at ``until``,
    and the appointment windows of the whole day."""
    hours = office.get("hours") or {}
    walkin = [
        (_minutes(s), _minutes(e))
        for wd, s, e, _cap in hours.get(WindowKind.WALKIN, [])
        if wd == weekday
    ]
    appointment = [
        (_minutes(s), _minutes(e), cap or office["counters"])
        for wd, s, e, cap in hours.get(WindowKind.APPOINTMENT, [])
        if wd == weekday
    ]
    full = list(appointment)
    if until is not None:
        walkin = [(s, min(e, until)) for s, e in walkin if s < until]
        appointment = [(s, min(e, until), cap) for s, e, cap in appointment if s < until]
    return walkin, appointment, full


def _office_plan(
    slug: str, office: dict, services: dict[str, ServiceInfo], day: date, until: int | None
) -> OfficePlan | None:
    """One office of the parsed catalogue on ``day``; None when it has no window that day."""
    walkin, appointment, full = _windows(office, day.weekday(), until)
    if not walkin and not appointment:
        return None
    offered = [code for code in office["services"] if code in services]
    restricted = office.get("counter_services") or {}
    counters = [
        CounterPlan(n, frozenset(restricted.get(n, offered)))
        for n in range(1, office["counters"] + 1)
    ]
    return OfficePlan(
        slug,
        counters,
        {c: services[c] for c in offered},
        walkin,
        appointment,
        int(office.get("walkin_daily_cap") or 250),
        full,
    )


def _pick_services(rng: random.Random, office: OfficePlan, kind: str) -> list[str]:
    allowed = [
        s
        for s in office.services.values()
        if (s.walk_in if kind == "walkin" else s.online) and SERVICE_WEIGHTS.get(s.code, 1) > 0
    ]
    weights = [SERVICE_WEIGHTS.get(s.code, 1) for s in allowed]
    count = rng.choices([1, 2, 3], weights=[80, 17, 3])[0]
    chosen: list[str] = []
    for _ in range(count * 3):
        code = rng.choices(allowed, weights=weights)[0].code
        if code not in chosen:
            chosen.append(code)
        if len(chosen) == count:
            break
    return chosen


def _duration(rng: random.Random, office: OfficePlan, codes: list[str], persons: int) -> float:
    # a further service of the same visit takes less (documents and identity checked once);
    # catalogue minutes are booking slots with a buffer, so a clerk is often quicker
    base = sum(
        (office.services[c].minutes + office.services[c].extra_person_minutes * (persons - 1))
        * (1.0 if i == 0 else 0.6)
        for i, c in enumerate(codes)
    )
    return max(2.0, base * rng.lognormvariate(-0.3, 0.3))


def _walkin_arrival(rng: random.Random, windows: list[tuple[int, int]]) -> float:
    """A minute inside the walk-in windows, weighted by HOUR_WEIGHTS (the morning peak)."""
    if rng.random() < EARLY_QUEUE_RATE:
        return windows[0][0] - rng.uniform(0, 15)  # at the door before it opens
    minutes = [m for start, end in windows for m in range(start, end)]
    weights = [HOUR_WEIGHTS.get(m // 60, 0.5) for m in minutes]
    return rng.choices(minutes, weights=weights)[0] + rng.random()


def _appointment_room(office: OfficePlan) -> int:
    seat_minutes = sum((end - start) * cap for start, end, cap in office.appointment_windows)
    return int(seat_minutes * APPOINTMENT_FILL / 15)  # about 15 minutes per appointment


def _split(office: OfficePlan, share: float) -> tuple[int, int]:
    """Appointments and walk-ins of an office for ``share`` visits, within its caps."""
    room = _appointment_room(office)
    open_minutes = sum(e - s for s, e, _ in office.appointment_windows) or sum(
        e - s for s, e in office.walkin_windows
    )
    # what the counters can serve at about 85 % utilisation (about 13 minutes a visit)
    share = min(share, len(office.counters) * open_minutes * 0.85 / 13)
    if not office.walkin_windows:
        return min(room, round(share)), 0
    appointments = min(room, round(share * APPOINTMENT_SHARE))
    walkins = min(office.walkin_cap - 10, round(share) - appointments)
    return appointments, walkins


def make_plan(offices: dict[str, OfficePlan], day: date, visits: int, seed: int) -> DayPlan:
    """About ``visits`` visits spread over the offices by their number of counters (offices at
    their walk-in cap or appointment capacity leave the rest to the others)."""
    rng = random.Random(seed)
    plan = DayPlan(day, seed, offices)
    total_counters = sum(len(o.counters) for o in offices.values()) or 1
    scale = 1.0
    for _ in range(30):  # bounded: raise the shares until the caps leave enough visits
        splits = {
            slug: _split(o, visits * scale * len(o.counters) / total_counters)
            for slug, o in offices.items()
        }
        if sum(a + w for a, w in splits.values()) >= visits:
            break
        scale *= 1.05
    next_id = 0
    for slug in sorted(offices):
        office = offices[slug]
        appointments, walkins = splits[slug]
        for kind, count in (("appointment", appointments), ("walkin", walkins)):
            for _ in range(max(count, 0)):
                persons = 2 if rng.random() < TWO_PERSONS_RATE else 1
                codes = _pick_services(rng, office, kind)
                if kind == "walkin":
                    arrival = _walkin_arrival(rng, office.walkin_windows)
                else:
                    seat_windows = [(s, e) for s, e, _ in office.appointment_windows]
                    start, end = rng.choices(
                        seat_windows, weights=[(e - s) for s, e in seat_windows]
                    )[0]
                    arrival = start + 5 * rng.randrange(max((end - start) // 5, 1))
                plan.visits.append(
                    Visit(
                        id=next_id,
                        office=slug,
                        kind=kind,
                        services=codes,
                        persons=persons,
                        arrival=arrival,
                        duration=_duration(rng, office, codes, persons),
                        phone=rng.random() < PHONE_RATE,
                        gone=kind == "walkin" and rng.random() < WALKIN_GONE_RATE,
                        no_show=kind == "appointment" and rng.random() < NO_SHOW_RATE,
                        arrival_offset=min(8.0, max(-25.0, rng.gauss(-7.0, 5.0))),
                    )
                )
                next_id += 1
    plan.visits.sort(key=lambda v: (v.arrival, v.id))
    return plan
