"""The slot engine: which start times are free for a set of services at an office.

A slot is offered when it lies inside one appointment window of the office-local day (after
holidays and closures), starts on the slot grid counted from the window's start, falls inside the
booking horizon (lead time; the last bookable day moves at the release time, not at midnight), and
for its whole duration every 5-minute unit holds fewer live seats than the window's capacity.
Days are built one local day at a time with ``clock.local_to_utc``, so DST days are right.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Integer, bindparam, func, select, text
from sqlalchemy.sql.selectable import TextualSelect

from .. import clock
from ..db import UTCDateTime
from ..errors import N_, SlotTaken, ValidationFailed
from ..extensions import db
from ..offices import calendar, revision
from ..offices.models import Office, OfficeService, Service
from . import settings as booking_settings
from .availability import DayWindow, able_counters, appointment_windows
from .models import SEATS

T = TypeVar("T")


@dataclass(frozen=True)
class BookingRequest:
    """What is to be booked: the services (in order) and how many persons come."""

    services: tuple[Service, ...]
    persons: int
    minutes: int  # sum of the services' durations for this many persons
    units: int  # minutes rounded up to whole capacity units
    # read from the services when resolved: a booking's transaction starts with its objects
    # expired, and reading a code there reloaded the service (one query per service)
    codes: list[str] = field(init=False, compare=False)
    service_ids: frozenset[int] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", [s.code for s in self.services])
        object.__setattr__(self, "service_ids", frozenset(s.id for s in self.services))


@dataclass(frozen=True)
class Slot:
    office_id: int
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    capacity: int  # parallel appointments of this kind in its window


@dataclass(frozen=True)
class SlotRun:
    """The free starts of one window: ``window.start + unit * i`` for each ``i`` in ``starts``.

    The engine's native result; callers that want datetimes use ``slots()``, the API formats
    times straight from it (cheaper than one datetime per slot for six weeks of slots).
    """

    office_id: int
    window: DayWindow
    capacity: int
    unit: timedelta
    units: int
    starts: tuple[int, ...]

    def slots(self) -> list[Slot]:
        start, unit, need = self.window.start, self.unit, self.units
        return [
            Slot(self.office_id, start + unit * i, start + unit * (i + need), self.capacity)
            for i in self.starts
        ]


@dataclass(frozen=True)
class Horizon:
    first_day: date
    last_day: date
    earliest_start: datetime


def parse_service_codes(value: str | Sequence[str] | None) -> list[str]:
    """ "PA,MB" or ["PA", "MB"] -> ["PA", "MB"] (upper case, duplicates dropped, order kept)."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    codes: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise ValidationFailed(N_("Service codes must be strings."), field="services")
        code = part.strip().upper()
        if code and code not in codes:
            codes.append(code)
    return codes


def _services_by_code(
    codes: list[str], office: Office | None
) -> tuple[dict[str, Service], frozenset[int]]:
    """The services of ``codes`` by code, and the ids of the services ``office`` offers (from
    this process's copy of the catalogue while it is unchanged)."""
    found = revision.kept_entities(
        ("services", tuple(codes)),
        lambda session: list(session.scalars(select(Service).where(Service.code.in_(codes)))),
    )
    if office is None:
        return {sv.code: sv for sv in found}, frozenset()
    office_id = office.id
    offered = revision.remembered(
        ("offered", office_id),
        lambda: frozenset(
            db.session.scalars(
                select(OfficeService.service_id).where(OfficeService.office_id == office_id)
            )
        ),
    )
    return {sv.code: sv for sv in found}, offered


def resolve_request(
    service_codes: str | Sequence[str] | None,
    persons: int | str | None = 1,
    office: Office | None = None,
) -> BookingRequest:
    """Validate services and persons (and that ``office`` offers them all)."""
    s = booking_settings.current()
    codes = parse_service_codes(service_codes)
    if not codes:
        raise ValidationFailed(N_("Choose at least one service."), field="services")
    if len(codes) > s.max_services:
        raise ValidationFailed(
            N_("At most %(max)s services fit into one appointment."),
            params={"max": s.max_services},
            field="services",
        )
    try:
        count = int(persons if persons not in (None, "") else 1)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(N_("persons must be a whole number."), field="persons") from exc
    if not 1 <= count <= s.max_persons:
        raise ValidationFailed(
            N_("persons must be between 1 and %(max)s."),
            params={"max": s.max_persons},
            field="persons",
        )
    found, offered = _services_by_code(codes, office)
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise ValidationFailed(
            N_("Unknown service code(s): %(codes)s."),
            params={"codes": ", ".join(unknown)},
            field="services",
        )
    not_online = [c for c in codes if not found[c].online_bookable]
    if not_online:
        raise ValidationFailed(
            N_("These services cannot be booked online: %(codes)s."),
            params={"codes": ", ".join(not_online)},
            field="services",
        )
    services = tuple(found[c] for c in codes)
    if office is not None:
        missing = [sv.code for sv in services if sv.id not in offered]
        if missing:
            raise ValidationFailed(
                N_("%(office)s does not offer %(code)s."),
                params={"office": office.name, "code": ", ".join(missing)},
                field="services",
            )
    minutes = sum(sv.duration_for(count) for sv in services)
    units = max(1, math.ceil(timedelta(minutes=minutes) / s.unit))
    return BookingRequest(services, count, minutes, units)


def horizon(now: datetime | None = None, tz: ZoneInfo = clock.LOCAL_TZ) -> Horizon:
    """The bookable range: from now + lead time to the last released day."""
    s = booking_settings.current()
    now = now or clock.now()
    local = now.astimezone(tz)
    days = s.window_days if local.time() >= s.release_time else s.window_days - 1
    earliest = now + s.min_lead
    return Horizon(earliest.astimezone(tz).date(), local.date() + timedelta(days=days), earliest)


def offices_offering(request: BookingRequest, include_mobile: bool = False) -> list[Office]:
    """Active offices that offer every service of ``request`` (from this process's copy of the
    catalogue while it is unchanged; for reading)."""
    ids = request.service_ids
    query = (
        select(Office)
        .join(OfficeService, OfficeService.office_id == Office.id)
        .where(Office.active.is_(True), OfficeService.service_id.in_(ids))
        .group_by(Office.id)
        .having(func.count(OfficeService.service_id) == len(ids))
        .order_by(Office.name)
    )
    if not include_mobile:
        query = query.where(Office.is_mobile.is_(False))
    return revision.kept_entities(
        ("offering", ids, include_mobile), lambda session: list(session.scalars(query))
    )


@dataclass(frozen=True)
class FullUnits:
    """The units of one office holding at least some number of live seats: unit starts (epoch
    seconds, ascending) and their live seats, as parallel lists for bisecting by window."""

    starts: list[int]
    seats: list[int]
    # the earliest moment one of these units' seats becomes free (None: none ever does); until
    # then, without a write, the units stay as full as they are (``kept_free_runs``)
    frees: datetime | None = None


# a unit's start as whole seconds since 1970 UTC, computed by the database (SQLite keeps naive
# UTC text)
_EPOCH_SECONDS = {
    "postgresql": "CAST(EXTRACT(epoch FROM slot_seats.unit_start) AS BIGINT)",
    "sqlite": "CAST(strftime('%s', slot_seats.unit_start) AS INTEGER)",
}
_OCCUPIED: dict[tuple[str, int], TextualSelect] = {}


def _occupied_statement(dialect: str, offices: int) -> TextualSelect:
    """The seat count of ``_occupied`` for this many offices (``office_<i>``, ``least_<i>``), as
    text built once per dialect and number of offices (a Core select was built, and its cache
    key computed, on every search: several hundred Python calls)."""
    found = _OCCUPIED.get((dialect, offices))
    if found is not None:
        return found
    ids = ", ".join(f":office_{i}" for i in range(offices))
    threshold = (
        ":least_0"
        if offices == 1
        else "CASE slot_seats.office_id "
        + " ".join(f"WHEN :office_{i} THEN :least_{i}" for i in range(offices))
        + " END"
    )
    sql = (  # the text adds placeholders only
        f"SELECT slot_seats.office_id, {_EPOCH_SECONDS[dialect]} AS unit, count(*) AS seats, "  # noqa: S608
        "min(slot_seats.occupied_until) AS frees "
        f"FROM slot_seats WHERE slot_seats.office_id IN ({ids}) "
        "AND slot_seats.unit_start >= :lo AND slot_seats.unit_start < :hi "
        "AND (slot_seats.occupied_until IS NULL OR slot_seats.occupied_until > :now) "
        "GROUP BY slot_seats.office_id, slot_seats.unit_start "
        f"HAVING count(*) >= {threshold} "
        "ORDER BY slot_seats.office_id, slot_seats.unit_start"
    )
    stamp = UTCDateTime()
    found = _OCCUPIED[(dialect, offices)] = (
        text(sql)
        .bindparams(
            bindparam("lo", type_=stamp),
            bindparam("hi", type_=stamp),
            bindparam("now", type_=stamp),
            *(bindparam(f"office_{i}", type_=Integer()) for i in range(offices)),
            *(bindparam(f"least_{i}", type_=Integer()) for i in range(offices)),
        )
        .columns(frees=stamp)
    )
    return found


def _occupied(
    at_least: dict[int, int], lo: datetime, hi: datetime, now: datetime
) -> dict[int, FullUnits]:
    """Per office id, the units in [lo, hi) holding ``at_least[office id]`` live seats or more.

    Units below an office's smallest capacity searched can never block a slot there, so the
    database leaves them out: of six weeks' ~1,700 occupied units of an office a handful are
    full."""
    office_ids = list(at_least)
    connection = db.session.connection()
    values: dict[str, object] = {"lo": lo, "hi": hi, "now": now}
    for i, office_id in enumerate(office_ids):
        values[f"office_{i}"] = office_id
        values[f"least_{i}"] = at_least[office_id]
    # plain rows, no entities
    rows = connection.execute(
        _occupied_statement(connection.dialect.name, len(office_ids)), values
    ).all()
    if len(office_ids) == 1:  # one office: its lists straight from the columns
        frees = [row[3] for row in rows if row[3] is not None]
        return {
            office_ids[0]: FullUnits(
                [int(row[1]) for row in rows], [row[2] for row in rows], min(frees, default=None)
            )
        }
    result = {office_id: FullUnits([], []) for office_id in office_ids}
    for office_id, unit, n, frees in rows:
        full = result[office_id]
        full.starts.append(int(unit))
        full.seats.append(n)
        if frees is not None and (full.frees is None or frees < full.frees):
            result[office_id] = FullUnits(full.starts, full.seats, frees)
    return result


def _window_capacity(window: DayWindow, able: int) -> int:
    return able if window.capacity is None else min(window.capacity, able)


def held_back(capacity: int, percent: int | None) -> int:
    """Seats of a window kept back from online booking for walk-ins: the office's share of its
    capacity, rounded to the nearest seat (half up)."""
    return (capacity * max(0, min(percent or 0, 100)) + 50) // 100


def online_capacity(office: Office, window: DayWindow, able: int) -> int:
    """Parallel online appointments in ``window``: its capacity less the walk-in share."""
    capacity = _window_capacity(window, able)
    return capacity - held_back(capacity, office.walkin_share_percent)


def online_closes(office: Office, day: date) -> datetime | None:
    """When online booking of the local ``day`` closes at ``office`` (its unbooked capacity then
    goes to the waitlist and to walk-ins); None: not before the booking lead time."""
    if office.online_closes_days_before is None or office.online_closes_at is None:
        return None
    return clock.local_to_utc(
        day - timedelta(days=office.online_closes_days_before),
        office.online_closes_at,
        calendar.office_tz(office),
    )


def _closed_online(office: Office, day: date, now: datetime, waitlist: bool) -> bool:
    if waitlist:  # the waitlist is offered a day's unbooked capacity first, also after closing
        return False
    closes = online_closes(office, day)
    return closes is not None and now >= closes


def _serves(window: DayWindow, request: BookingRequest) -> bool:
    return window.service_ids is None or request.service_ids <= window.service_ids


def _blocked_units(window: DayWindow, capacity: int, full: FullUnits, unit_s: int) -> list[int]:
    """Indexes (from the window's start, ascending) of the window's units with no seat left."""
    base, end = int(window.start.timestamp()), int(window.end.timestamp())
    lo, hi = bisect_left(full.starts, base), bisect_left(full.starts, end)
    return [
        (full.starts[k] - base) // unit_s
        for k in range(lo, hi)
        if full.seats[k] >= capacity and (full.starts[k] - base) % unit_s == 0
    ]


@dataclass(frozen=True)
class _Grid:
    """The unit and the slot grid of one search, in the forms the windows' loop uses."""

    unit: timedelta
    unit_s: int  # the unit in seconds
    step: int  # the grid in units

    @classmethod
    def of(cls, unit: timedelta, grid: timedelta) -> _Grid:
        return cls(unit, int(unit.total_seconds()), int(grid / unit))


def _run_in_window(
    office_id: int,
    window: DayWindow,
    capacity: int,
    request: BookingRequest,
    full: FullUnits,
    earliest: datetime,
    grid: _Grid,
    first_only: bool,
) -> SlotRun | None:
    unit, step = grid.unit, grid.step
    n = int((window.end - window.start) / unit)
    need = request.units
    if capacity <= 0 or n < need:
        return None
    first = 0
    if earliest > window.start:
        first = -((window.start - earliest) // unit)  # units until the earliest start, rounded up
        first = -(-first // step) * step  # ... and up to the grid
    starts: list[int] = []
    free_from = 0  # each stretch of free units between blocked ones takes starts on the grid
    for blocked in [*_blocked_units(window, capacity, full, grid.unit_s), n]:
        lowest = max(free_from, first)
        starts.extend(range(-(-lowest // step) * step, blocked - need + 1, step))
        if first_only and starts:
            del starts[1:]
            break
        free_from = blocked + 1
    if not starts:
        return None
    return SlotRun(office_id, window, capacity, unit, need, tuple(starts))


def _open_windows(
    office: Office,
    windows: dict[int, list[DayWindow]],
    able: dict[int, int],
    request: BookingRequest,
    h: Horizon,
    now: datetime,
    waitlist: bool,
) -> list[tuple[DayWindow, int]]:
    """The office's windows still taking online bookings of ``request`` (or waitlist offers),
    with their online capacity (windows without one left out). Whether a day has closed for
    online booking is worked out once per day, a capacity once per window capacity."""
    office_id, earliest = office.id, h.earliest_start
    closed: dict[date, bool] = {}
    capacities: dict[int | None, int] = {}
    found = []
    for window in windows[office_id]:
        if window.end <= earliest or not _serves(window, request):
            continue
        day_closed = closed.get(window.day)
        if day_closed is None:
            day_closed = closed[window.day] = _closed_online(office, window.day, now, waitlist)
        if day_closed:
            continue
        capacity = capacities.get(window.capacity)
        if capacity is None:
            capacity = capacities[window.capacity] = online_capacity(
                office, window, able[office_id]
            )
        if capacity > 0:
            found.append((window, capacity))
    return found


def free_runs_many(
    offices: list[Office],
    request: BookingRequest,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
    first_only: bool = False,
    waitlist: bool = False,
) -> dict[int, list[SlotRun]]:
    """Free slots per office id between the local days ``first`` and ``last`` (clipped), as runs.

    Online capacity only (the walk-in share kept back); days whose online booking has closed
    are left out, except for the waitlist (``waitlist``), which is offered them first."""
    return _search(offices, request, first, last, now or clock.now(), first_only, waitlist)[0]


def _search(
    offices: list[Office],
    request: BookingRequest,
    first: date | None,
    last: date | None,
    now: datetime,
    first_only: bool,
    waitlist: bool,
) -> tuple[dict[int, list[SlotRun]], datetime | None]:
    """``free_runs_many``'s answer, and the earliest moment a seat of a unit the seat count
    found becomes free (None: none does, or no seats were counted)."""
    s = booking_settings.current()
    h = horizon(now)
    first = max(first or h.first_day, h.first_day)
    last = min(last or h.last_day, h.last_day)
    result: dict[int, list[SlotRun]] = {o.id: [] for o in offices}
    if not offices or first > last:
        return result, None
    windows = appointment_windows(offices, first, last)
    able = able_counters([o.id for o in offices], request.service_ids)
    searched: list[tuple[int, DayWindow, int]] = []
    at_least: dict[int, int] = {}  # per office, the smallest capacity searched there
    for office in offices:
        office_id = office.id
        for window, capacity in _open_windows(office, windows, able, request, h, now, waitlist):
            searched.append((office_id, window, capacity))
            at_least[office_id] = min(capacity, at_least.get(office_id, capacity))
    if not searched:
        return result, None
    occupied = _occupied(
        at_least, min(w.start for _, w, _ in searched), max(w.end for _, w, _ in searched), now
    )
    grid = _Grid.of(s.unit, s.grid)
    for office_id, window, capacity in searched:
        if first_only and result[office_id]:
            continue
        run = _run_in_window(
            office_id,
            window,
            capacity,
            request,
            occupied[office_id],
            h.earliest_start,
            grid,
            first_only,
        )
        if run:
            result[office_id].append(run)
    return result, _earliest(*(full.frees for full in occupied.values()))


def _unchanged_until(
    office: Office, runs: list[SlotRun], first: date | None, last: date | None, now: datetime
) -> datetime:
    """When ``runs``, the office's free slots as of ``now``, change with the time alone, the
    seats aside: the first offered start passed by the lead time, a day of the search closing
    for online booking, the horizon moving."""
    s = booking_settings.current()
    h = horizon(now)
    until = _horizon_moves(s, now, h, last)
    closing = _next_closing(
        office, max(first or h.first_day, h.first_day), min(last or h.last_day, h.last_day), now
    )
    if runs:  # the first offered start is gone once the earliest start has passed it
        first_start = min(run.window.start + run.unit * run.starts[0] for run in runs)
        until = min(until, first_start - s.min_lead + _TICK)
    return _earliest(until, closing) or until


_TICK = timedelta(microseconds=1)  # the clock's resolution


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)


def _first_local(day: date, at: time, tz: ZoneInfo = clock.LOCAL_TZ) -> datetime:
    """The first moment the local clock reads ``at`` or later on ``day`` (on the DST days a
    time in the skipped hour is taken early, the repeated hour's first time)."""
    return min(
        clock.local_to_utc(day, at, tz),
        datetime.combine(day, at.replace(fold=1), tzinfo=tz).astimezone(UTC),
    )


def _horizon_moves(
    s: booking_settings.BookingSettings, now: datetime, h: Horizon, last: date | None
) -> datetime:
    """When the horizon next moves: the first bookable day at the earliest start's local
    midnight, the last one at the release time (the first offered start is the caller's)."""
    tz = clock.LOCAL_TZ
    midnight = clock.local_to_utc(h.first_day + timedelta(days=1), time(0), tz) - s.min_lead
    local = now.astimezone(tz)  # released today already as ``horizon`` decides it
    day = local.date() + timedelta(days=1 if local.time() >= s.release_time else 0)
    release = _first_local(day, s.release_time, tz)
    if last is not None and last < h.last_day:  # released days beyond it are not asked for
        return midnight
    return min(midnight, release)


def _next_closing(office: Office, first: date, last: date, now: datetime) -> datetime | None:
    """The next moment one of the days ``first``..``last`` closes for online booking at
    ``office`` (a later day closes later)."""
    if office.online_closes_days_before is None or office.online_closes_at is None:
        return None
    day = first
    while day <= last:
        closes = online_closes(office, day)
        if closes is not None and closes > now:
            return closes
        day += timedelta(days=1)
    return None


def free_slots_many(
    offices: list[Office],
    request: BookingRequest,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
    first_only: bool = False,
    waitlist: bool = False,
) -> dict[int, list[Slot]]:
    """Free slots per office id between the local days ``first`` and ``last`` (clipped)."""
    runs = free_runs_many(offices, request, first, last, now, first_only, waitlist)
    return {
        office_id: [slot for run in office_runs for slot in run.slots()]
        for office_id, office_runs in runs.items()
    }


def free_slots(
    office: Office,
    request: BookingRequest,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    return free_slots_many([office], request, first, last, now)[office.id]


def free_runs(
    office: Office,
    request: BookingRequest,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
) -> list[SlotRun]:
    return free_runs_many([office], request, first, last, now)[office.id]


@dataclass(frozen=True)
class _Kept:
    """A search's answer (as rendered) and the moments between which it holds."""

    since: datetime
    until: datetime | None
    value: object


_KEPT_MAX = 1024  # answers kept per revision (they are keyed by what a caller asks)


def search_revisions() -> None:
    """Read the seats' revision with the catalogue's, in one statement (a search's first read:
    the office and the services come from the catalogue kept under it)."""
    if _kept_here():
        revision.revisions(SEATS.name)


def _kept_here() -> bool:
    """Whether searches are kept (not with the catalogue's memo off: they derive from it)."""
    config = current_app.config
    return config["SEARCH_CACHE"] and config["CATALOGUE_CACHE"]


def kept_free_runs(
    office: Office,
    request: BookingRequest,
    first: date | None,
    last: date | None,
    render: Callable[[list[SlotRun], Office], T],
) -> T:
    """``render(free_runs(office, request, first, last), office)``, kept by this process under
    the seats' and the catalogue's revisions until the moment the answer would change without a
    write (a seat set free by its ``occupied_until``, the first offered start passed by the lead
    time, a day closing for online booking, the next day released): a write in any process is
    seen by the next search of every other one, the passing time by the next search here."""
    now = clock.now()
    entries = revision.memo(SEATS.name) if _kept_here() else {}
    key = ("search", office.id, tuple(request.codes), request.persons, first, last, render)
    kept = entries.get(key)
    if isinstance(kept, _Kept) and kept.since <= now and (kept.until is None or now < kept.until):
        return kept.value  # type: ignore[return-value]
    runs, frees = _search([office], request, first, last, now, False, False)
    found = runs[office.id]
    until = _earliest(frees, _unchanged_until(office, found, first, last, now))
    value = render(found, office)
    if len(entries) < _KEPT_MAX:
        entries[key] = _Kept(now, until, value)
    return value


def earliest_slots(
    request: BookingRequest,
    offices: list[Office] | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """The first free slot of each office (default: every Bürgeramt offering the services)."""
    now = now or clock.now()
    h = horizon(now)
    remaining = offices if offices is not None else offices_offering(request)
    found: list[Slot] = []
    # look a little ahead first and widen the search: most offices have a time within days
    start, span = h.first_day, 2
    while remaining and start <= h.last_day:
        end = min(h.last_day, start + timedelta(days=span - 1))
        chunk = free_slots_many(remaining, request, start, end, now, first_only=True)
        found.extend(slots[0] for slots in chunk.values() if slots)
        remaining = [o for o in remaining if not chunk[o.id]]
        start, span = end + timedelta(days=1), span * 2
    return sorted(found, key=lambda slot: (slot.start, slot.office_id))


def check_slot(
    office: Office,
    request: BookingRequest,
    start: datetime,
    now: datetime | None = None,
    waitlist: bool = False,
) -> Slot:
    """The slot starting at ``start`` if it is a bookable time (capacity is checked by seats);
    its capacity is the online one, and a day whose online booking has closed is bookable only
    through the waitlist (``waitlist``)."""
    s = booking_settings.current()
    now = now or clock.now()
    if start.tzinfo is None:
        raise ValidationFailed(
            N_("start needs a UTC offset, e.g. 2026-11-26T08:00:00+01:00."), field="start"
        )
    tz = calendar.office_tz(office)
    day = start.astimezone(tz).date()
    h = horizon(now, tz)
    if start < h.earliest_start or day > h.last_day:
        raise SlotTaken(
            N_("This time cannot be booked (too soon, past, or not yet released)."), field="start"
        )
    if _closed_online(office, day, now, waitlist):
        raise SlotTaken(
            N_(
                "Online booking for this day has closed; its free capacity is kept for visitors "
                "without an appointment."
            ),
            field="start",
        )
    duration = s.unit * request.units
    for window in appointment_windows([office], day, day)[office.id]:
        offset = start - window.start
        if (
            offset >= timedelta(0)
            and start + duration <= window.end
            and offset % s.grid == timedelta(0)
            and _serves(window, request)
        ):
            able = able_counters([office.id], request.service_ids)[office.id]
            capacity = online_capacity(office, window, able)
            if capacity > 0:
                return Slot(office.id, start, start + duration, capacity)
    raise SlotTaken(N_("There is no appointment at this time."), field="start")
