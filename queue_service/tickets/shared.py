"""One ranked read of an office's queue, shared by the screens that join while nothing happens.

Displays joining (``display.shared_display_state``) and phones joining their ticket's status
(``reads.ticket_status``: the Socket.IO join and the HTTP status route) would otherwise each
rank the office's whole queue again. The read is reused only while the office's seq is
unchanged (every change of its queue, counters and calls allocates one in its own transaction)
and for at most DISPLAY_SNAPSHOT_SHARE_SECONDS of real time (the estimates move with the clock;
a catalogue change allocates no seq, but makes a new revision, whose office object the read
must have been made with); 0 turns sharing off.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy import select

from .. import clock
from ..extensions import app_object, db
from ..offices import revision
from ..offices.models import Office, Service
from ..realtime.publish import current_seq
from . import estimates, forecast
from .models import Ticket


@dataclass
class OfficeRead:
    """The office's queue at ``seq``: read after the seq, so it holds every change up to it."""

    seq: int
    taken: float  # time.monotonic() of the read
    revision: tuple[int, int]  # the catalogue's
    snap: estimates.Snapshot
    display: dict | None = None  # the display_state built from it, once a display asked
    # the walk-in forecast at the read's moment (forecast.day_forecast of ``snap``), once a
    # status page asked: the appointments it counts may have changed without a seq, which the
    # read's age bounds as it bounds the estimates
    outlook: forecast.Forecast | None = None


def share_seconds() -> float:
    return float(current_app.config.get("DISPLAY_SNAPSHOT_SHARE_SECONDS", 2.0))


def _kept() -> dict[str, OfficeRead]:
    return app_object().extensions.setdefault("qs_shared_reads", {})


def office_read(office: Office, fresh: bool = False, clock_bound: bool = False) -> OfficeRead:
    """The shared read of ``office``'s queue at its current seq (a new one when ``fresh``, the
    seq or the catalogue's revision has moved, the kept one is too old, or sharing is off).

    ``clock_bound``: too old also once the application's clock has moved on by the share's
    seconds (it runs faster than real time in the simulated day, and tests move it): a phone's
    estimate is never further behind the clock than a display's at real speed."""
    max_age = share_seconds()
    if not max_age:
        return OfficeRead(0, 0.0, (0, 0), estimates.snapshot(office, clock.now()))
    seq = current_seq(office.slug)
    now = time.monotonic()
    found = None if fresh else _kept().get(office.slug)
    if (
        found is not None
        and found.seq == seq
        and found.revision == revision.current()
        and now - found.taken < max_age
        and not (clock_bound and (clock.now() - found.snap.now).total_seconds() >= max_age)
    ):
        # a copy naming this request's office: the kept one belonged to the request that read
        # it and is gone with its session
        snap = copy.copy(found.snap)
        snap.office = office
        return replace(found, snap=snap)
    read = OfficeRead(seq, now, revision.current(), estimates.snapshot(office, clock.now()))
    _kept()[office.slug] = read
    return read


def _keep_with(office: Office, read: OfficeRead, **derived) -> None:
    """Keep what was derived from ``read`` with it, if it is still the office's kept read."""
    found = _kept().get(office.slug)
    if found is not None and (found.seq, found.taken) == (read.seq, read.taken):
        for name, value in derived.items():
            setattr(found, name, value)


def keep_display(office: Office, read: OfficeRead, state: dict) -> None:
    """Keep the display_state built from ``read`` with it, for the next display that joins."""
    _keep_with(office, read, display=state)


def keep_outlook(office: Office, read: OfficeRead, outlook: forecast.Forecast) -> None:
    """Keep the forecast worked out from ``read`` with it, for the next status page that asks."""
    _keep_with(office, read, outlook=outlook)


def waiting_view_columns() -> tuple:
    """What ``payloads.waiting_public_view`` shows of a ticket, in its order, as plain columns."""
    return (
        Ticket.number,
        Ticket.kind,
        Ticket.issued_at,
        Ticket.service_id,
        Ticket.persons,
        Ticket.lang,
        Ticket.business_date,
    )


def service_names(snap: estimates.Snapshot, wanted: set[int]) -> dict[int, tuple[str, str, str]]:
    """(code, German name, English name) of these services: from the snapshot's catalogue,
    else (a service the office no longer offers) from the database."""
    found = {
        sid: (info.code, info.name_de, info.name_en)
        for sid, info in snap.services.items()
        if sid in wanted
    }
    missing = wanted - found.keys()
    if missing:
        for sid, code, name_de, name_en in db.session.execute(
            select(Service.id, Service.code, Service.name_de, Service.name_en).where(
                Service.id.in_(missing)
            )
        ):
            found[sid] = (code, name_de, name_en)
    return found
