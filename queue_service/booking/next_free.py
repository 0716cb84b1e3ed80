"""The next free appointment of each office, for the live overview and the public status.

Per online-bookable service the slot engine's ``earliest_slots`` (one person) answers for all the
offices offering it at once; an office's next free appointment is the earliest of its services.
Results are memoised per office for NEXT_FREE_CACHE_SECONDS (default 60): the overview and the
status API poll every few seconds, a booking elsewhere moves the answer only rarely.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from .. import clock
from ..extensions import app_object, db
from ..offices import calendar
from ..offices.models import Office, OfficeService, Service
from . import slots

_lock = threading.Lock()
# (application serial, office id) -> (monotonic expiry, application time computed, result)
_cache: dict[tuple[int, int], tuple[float, datetime, dict]] = {}
_serials = itertools.count(1)
# (application serial, office id) -> set when the computation under way in this process ends
_computing: dict[tuple[int, int], threading.Event] = {}
COMPUTE_WAIT_SECONDS = 10.0


def _app_key() -> int:
    """A serial per application object (``id()`` of a collected app is reused by the next)."""
    extensions = app_object().extensions
    if "next_free_serial" not in extensions:
        extensions["next_free_serial"] = next(_serials)
    return extensions["next_free_serial"]


def _compute(offices: Sequence[Office], now: datetime) -> dict[int, dict]:
    """{office id: {"start": earliest UTC datetime or None, "services": {code: datetime}}}."""
    ids = [o.id for o in offices]
    result: dict[int, dict] = {o.id: {"start": None, "services": {}} for o in offices}
    offered: dict[str, list[int]] = {}
    for code, office_id in db.session.execute(
        select(Service.code, OfficeService.office_id)
        .join(OfficeService, OfficeService.service_id == Service.id)
        .where(OfficeService.office_id.in_(ids), Service.online_bookable.is_(True))
        .order_by(Service.sort_order, Service.code)
    ):
        offered.setdefault(code, []).append(office_id)
    by_id = {o.id: o for o in offices}
    for code, office_ids in offered.items():
        request = slots.resolve_request([code], 1)
        for slot in slots.earliest_slots(request, [by_id[i] for i in office_ids], now):
            entry = result[slot.office_id]
            entry["services"][code] = slot.start
            if entry["start"] is None or slot.start < entry["start"]:
                entry["start"] = slot.start
    return result


def next_free_appointments(offices: Sequence[Office]) -> dict[int, dict]:
    """The next free appointment of each office (active offices only; others get None).

    ``{office id: {"start": datetime | None, "services": {code: datetime}}}``; memoised per office.
    An office being computed by another request of this process is waited for, not computed
    again: when an office is served out every walk-in refused there asks at once, and under
    gevent each computation's round trips let the next refusal in, which found the cache still
    cold and computed the same slot searches again.
    """
    ttl = float(current_app.config.get("NEXT_FREE_CACHE_SECONDS", 60))
    app_key = _app_key()
    moment, now = time.monotonic(), clock.now()
    result: dict[int, dict] = {}
    missing: list[Office] = []
    awaited: list[tuple[Office, threading.Event]] = []
    with _lock:
        for office in offices:
            key = (app_key, office.id)
            hit = _fresh(_cache.get(key), ttl, moment, now)
            if hit is not None:
                result[office.id] = hit
            elif ttl > 0 and key in _computing:
                awaited.append((office, _computing[key]))
            else:
                missing.append(office)
                if ttl > 0:
                    _computing[key] = threading.Event()
    try:
        active = [o for o in missing if o.active]
        computed = _compute(active, now) if active else {}
        for office in missing:
            result[office.id] = computed.get(office.id, {"start": None, "services": {}})
        if ttl > 0 and missing:
            with _lock:
                for office in missing:
                    _cache[(app_key, office.id)] = (moment + ttl, now, result[office.id])
    finally:
        if ttl > 0:
            with _lock:
                for office in missing:
                    _computing.pop((app_key, office.id)).set()
    for office, computing in awaited:
        computing.wait(COMPUTE_WAIT_SECONDS)
        with _lock:
            hit = _fresh(_cache.get((app_key, office.id)), ttl, time.monotonic(), now)
        # the other computation failed or took too long: this request computes it itself
        result[office.id] = (
            hit
            if hit is not None
            else _compute([office], now).get(office.id, {"start": None, "services": {}})
        )
    return result


def _fresh(hit, ttl: float, moment: float, now: datetime) -> dict | None:
    """The memoised answer if it is fresh by the wall clock and was computed at (about) this
    application time: a clock set elsewhere (tests) never meets an answer of another moment.

    With a compressed clock (CLOCK_SPEED, the simulated city day) the application-time window
    grows with the speed, so the memo lasts ``ttl`` real seconds there too (at 480x it lasted an
    eighth of a second, and every walk-in refused as served out computed the office's slot
    searches again: a fifth of the day's server CPU); an answer whose time has passed is stale.
    """
    if not (ttl > 0 and hit and hit[0] > moment):
        return None
    age = (now - hit[1]).total_seconds()
    start = hit[2]["start"]
    if 0 <= age < ttl * max(1.0, clock.speed()) and (start is None or start > now):
        return hit[2]
    return None


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def add_to_status(status: dict, office: Office, found: dict) -> dict:
    """Add ``next_free_appointment`` (office-local ISO time or None) to an office status and to
    each of its services; no personal data, only times."""
    tz = calendar.office_tz(office)

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None

    status["next_free_appointment"] = local(found["start"])
    for service in status.get("services", []):
        service["next_free_appointment"] = local(found["services"].get(service["code"]))
    return status


def office_status_with_next_free(status: dict, office: Office) -> dict:
    return add_to_status(status, office, next_free_appointments([office])[office.id])
