"""GET /api/v1/status: the public live status of every office at once.

One estimates snapshot per office (tickets.reads.office_status). The body is cached in-process
for STATUS_CACHE_SECONDS (default 5) per language, so a website and a chatbot polling it cost
one set of snapshots per few seconds, not one per request.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

from flask import current_app
from sqlalchemy import func, select

from .. import clock
from ..booking import next_free
from ..extensions import app_object, db
from ..offices.services import list_offices
from ..tickets import reads
from ..tickets.models import Ticket, TicketStatus

_lock = threading.Lock()
_cache: dict[tuple[int, str], tuple[float, bytes, str]] = {}
_computing: dict[tuple[int, str], threading.Lock] = {}


def city_status(lang: str = "de") -> dict:
    """Every active office: open or closed, per service waiting and estimated wait, open
    counters, the longest current wait, the next walk-in window and the next free appointment.
    No personal data."""
    offices = []
    served = served_today()
    listed = list_offices()
    free = next_free.next_free_appointments(listed)
    for office in listed:
        status = next_free.add_to_status(
            reads.office_status(office.slug, lang), office, free[office.id]
        )
        status["office"]["mobile"] = office.is_mobile
        status["served_today"] = served.get(office.id, 0)
        status["longest_wait_minutes"] = max(
            (s["longest_wait_minutes"] for s in status["services"]), default=0
        )
        offices.append(status)
    server_time = offices[0]["server_time"] if offices else None
    return {"server_time": server_time, "offices": offices}


def served_today() -> dict[int, int]:
    """Tickets done today per office id (one grouped query)."""
    rows = db.session.execute(
        select(Ticket.office_id, func.count())
        .where(Ticket.business_date == clock.today(), Ticket.status == TicketStatus.DONE)
        .group_by(Ticket.office_id)
    ).all()
    return dict(rows)


def _encode(data: dict) -> tuple[bytes, str]:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    # the ETag ignores server_time, so an unchanged city gives the same tag
    digest = [{k: v for k, v in o.items() if k != "server_time"} for o in data["offices"]]
    tag = hashlib.sha256(json.dumps(digest, sort_keys=True).encode()).hexdigest()[:32]
    return body, f'"{tag}"'


def cached_city_status(lang: str = "de") -> tuple[bytes, str]:
    """(JSON body, ETag) of city_status, reused for STATUS_CACHE_SECONDS.

    One request per process and language computes; requests arriving meanwhile get the previous
    answer (at most one computation old) instead of computing too, or wait for the first one.
    """
    ttl = float(current_app.config.get("STATUS_CACHE_SECONDS", 5))
    if ttl <= 0:
        return _encode(city_status(lang))
    key = (id(app_object()), lang)
    with _lock:
        hit = _cache.get(key)
        computing = _computing.setdefault(key, threading.Lock())
    if hit and hit[0] > time.monotonic():
        return hit[1], hit[2]
    if hit is None:
        computing.acquire()
    elif not computing.acquire(blocking=False):
        return hit[1], hit[2]  # someone refreshes right now: the previous answer
    try:
        with _lock:
            hit = _cache.get(key)
        if hit and hit[0] > time.monotonic():  # computed while we waited
            return hit[1], hit[2]
        body, tag = _encode(city_status(lang))
        with _lock:
            _cache[key] = (time.monotonic() + ttl, body, tag)
        return body, tag
    finally:
        computing.release()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
    next_free.clear_cache()
