"""What a waiting-room display shows, read in one place for the socket and for HTTP.

``display_state`` is the full snapshot (``display_state`` event and
``GET /api/v1/offices/{slug}/display-state``); ``read_queue`` is the part that changes with the
queue (``queue_updated``) plus the new positions of the waiting tickets for their status pages.
Nothing here carries a token or personal data except ``QueueRead.positions``, which only ever go
to each ticket's own room.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, or_, select

from .. import clock
from ..extensions import db
from ..offices import calendar
from ..offices.messages import message_view
from ..offices.models import Counter, Office, OfficeMessage, Service, WindowKind
from ..offices.services import cached_office
from ..realtime.publish import current_seq
from ..realtime.readers import QueueReaders, register_queue_readers
from . import estimates, forecast, payloads, shared
from .models import Ticket, TicketEvent, TicketStatus
from .reads import forecast_warnings, ticket_status


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None


@dataclass
class QueueRead:
    state: dict  # the queue_updated payload without its seq
    positions: list[tuple[str, dict]]  # (token, public view) of every waiting ticket


def _current_calls(snap: estimates.Snapshot) -> dict[int, dict]:
    """The ticket called or served at each counter, by ticket id."""
    ids = [c.current_id for c in snap.counters if c.current_id]
    if not ids:
        return {}
    rows = db.session.connection().execute(_current_calls_stmt(), {"ids": ids})
    calls = {}
    for tid, number, status, recalls, called_at, recalled_at, code in rows:
        at = recalled_at if recalls and recalled_at else called_at
        assert at is not None  # the rows are called tickets
        calls[tid] = {
            "number": number,
            "service": code,
            "status": status.value,
            "recall_count": recalls,
            "call_id": payloads.call_id(number, recalls, at),
            "called_at": _iso(at),
        }
    return calls


@lru_cache(maxsize=1)
def _current_calls_stmt():
    """Built once, run on the session's connection: every displays' read after a change at a
    counter sends it, and building it for the ORM's execute cost more than running it."""
    return (
        select(
            Ticket.id,
            Ticket.number,
            Ticket.status,
            Ticket.recall_count,
            Ticket.called_at,
            Ticket.recalled_at,
            Service.code,
        )
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.id.in_(bindparam("ids", expanding=True)))
    )


def _queue_state(office: Office, snap: estimates.Snapshot) -> dict:
    walkin_open = calendar.is_open(office, snap.now, WindowKind.WALKIN)
    open_now = walkin_open or calendar.is_open(office, snap.now, WindowKind.APPOINTMENT)
    snap.open_now = open_now
    current = _current_calls(snap)
    waiting: dict[int, int] = {}
    for ticket in snap.waiting:
        waiting[ticket.service_id] = waiting.get(ticket.service_id, 0) + 1
    return {
        "office": office.slug,
        "server_time": _iso(snap.now),
        "business_date": snap.day.isoformat(),
        "open": open_now,
        "walkin_open": walkin_open,
        "closed_reason": calendar.closure_reason(office, snap.day),
        "waiting_total": len(snap.waiting),
        "services": [
            {
                "code": s.code,
                "prefix": s.prefix,
                "name": {"de": s.name_de, "en": s.name_en},
                "walk_in_allowed": s.walk_in_allowed,
                "waiting": waiting.get(s.id, 0),
                "estimated_wait_minutes": snap.estimate_new(s.id).minutes,
            }
            for s in snap.services.values()
        ],
        "counters": [
            {
                "number": c.number,
                "name": c.name,
                "status": c.status.value,
                "current": current.get(c.current_id) if c.current_id else None,
            }
            for c in snap.counters
        ],
    }


def _positions(
    office: Office, snap: estimates.Snapshot, sent: dict | None
) -> list[tuple[str, dict]]:
    """(token, public view) of the waiting tickets whose position or estimate differs from
    ``sent`` (id -> (people_ahead, minutes), updated here); of all of them without ``sent``."""
    outlook = forecast.day_forecast(office, snap.now, snap)
    risky = forecast.at_risk(outlook, snap)
    marks = {}
    for t in snap.waiting:
        estimate = snap.estimates.get(t.id)
        at_risk = t.id in risky
        marks[t.id] = (estimate.people_ahead, estimate.minutes, at_risk) if estimate else at_risk
    ids = [i for i, mark in marks.items() if sent is None or sent.get(i) != mark]
    if sent is not None:
        sent.clear()
        sent.update(marks)
    if not ids:
        return []
    rows = {row[0]: row for row in db.session.connection().execute(_positions_stmt(), {"ids": ids})}
    names = _service_names(snap, rows.values())
    warnings = forecast_warnings(
        snap, {i: names[rows[i][5]][0] for i in risky if i in rows}, outlook
    )
    views = []
    for i in ids:
        if i not in rows:
            continue  # no longer waiting: its own change pushes its state
        tid, token, number, kind, issued_at, service_id, persons, lang, day = rows[i]
        further = snap.further_of(tid)
        services = [names[service_id], *(names[f] for f in further if f != service_id)]
        view = payloads.waiting_public_view(
            number, kind, services, persons, lang, office, issued_at, day, snap.estimates.get(i)
        )
        views.append((token, payloads.with_warning(view, warnings.get(i))))
    return views


@lru_cache(maxsize=1)
def _positions_stmt():
    """What a waiting ticket's public view shows, as plain rows: after a call every waiting
    ticket's position changes, and ORM objects for all of them cost more than the read."""
    return select(Ticket.id, Ticket.token, *shared.waiting_view_columns()).where(
        Ticket.id.in_(bindparam("ids", expanding=True)), Ticket.status == TicketStatus.WAITING
    )


def _service_names(snap: estimates.Snapshot, rows) -> dict[int, tuple[str, str, str]]:
    """(code, German name, English name) of the services these tickets name."""
    wanted = set()
    for row in rows:
        wanted.add(row[5])
        wanted.update(snap.further_of(row[0]))
    return shared.service_names(snap, wanted)


def read_queue(office_slug: str, sent: dict | None = None) -> QueueRead:
    """The queue part of the display state now, and the waiting tickets' new positions (those
    not in ``sent`` already, see ``_positions``). The office from the process's copy of the
    catalogue: read, never changed here."""
    office = cached_office(office_slug)
    snap = estimates.snapshot(office, clock.now())
    return QueueRead(_queue_state(office, snap), _positions(office, snap, sent))


# A call stays on the display while its ticket is at that counter or was served there; a
# ticket sent away (no-show, parked, transferred back into the queue) leaves the list at once.
_SHOWN_AFTER_CALL = (TicketStatus.CALLED, TicketStatus.SERVING, TicketStatus.DONE)


def last_calls(office: Office, day, limit: int, now: datetime | None = None) -> list[dict]:
    """The calls of the last DISPLAY_CALL_MINUTES, newest first, each number once (its latest
    call or recall); ``active`` marks a ticket called there now (waiting to come to the counter).

    A ticket that is no longer called there (no-show, parked, transferred) is left out.
    """
    if limit <= 0:
        return []
    now = now or clock.now()
    start = clock.local_to_utc(day, time(0), calendar.office_tz(office))
    minutes = current_app.config.get("DISPLAY_CALL_MINUTES", 10)
    since = max(start, now - timedelta(minutes=minutes))
    rows = db.session.execute(
        select(
            TicketEvent.ticket_id,
            TicketEvent.at,
            TicketEvent.action,
            TicketEvent.details,
            TicketEvent.counter_id,
            Ticket.number,
            Ticket.status,
            Ticket.counter_id,
            Service.code,
            Counter.number,
            Counter.label,
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .join(Service, Service.id == Ticket.service_id)
        .outerjoin(Counter, Counter.id == TicketEvent.counter_id)
        .where(
            TicketEvent.office_id == office.id,
            TicketEvent.at >= start,
            TicketEvent.action.in_(("call", "recall")),
        )
        .order_by(TicketEvent.at.desc(), TicketEvent.id.desc())
        .limit(limit * 4)
    )
    calls: list[dict] = []
    seen: set[int] = set()
    for row in rows:
        ticket_id, at, action, details, called_to, number, status, now_at = row[:8]
        code, counter, label = row[8:]
        if ticket_id in seen:
            continue
        seen.add(ticket_id)
        if status not in _SHOWN_AFTER_CALL:
            continue
        active = status == TicketStatus.CALLED and now_at == called_to
        if not active and at < since:
            continue
        recalls = int((details or {}).get("recall", 0)) if action == "recall" else 0
        calls.append(
            {
                "call_id": payloads.call_id(number, recalls, at),
                "number": number,
                "counter": counter,
                "counter_name": label or (f"Platz {counter}" if counter is not None else None),
                "service": code,
                "recall_count": recalls,
                "called_at": _iso(at),
                "active": active,
            }
        )
        if len(calls) == limit:
            break
    return calls


def display_messages(office: Office, now: datetime) -> list[dict]:
    """Ticker messages that show now or later (the display hides those not yet due)."""
    rows = db.session.scalars(
        select(OfficeMessage)
        .where(OfficeMessage.office_id == office.id, OfficeMessage.active.is_(True))
        .where(or_(OfficeMessage.active_until.is_(None), OfficeMessage.active_until > now))
        .order_by(OfficeMessage.active_from, OfficeMessage.id)
    ).all()
    return [message_view(m, office.slug) for m in rows]


def display_state(
    office_slug: str, calls: int | None = None, read: shared.OfficeRead | None = None
) -> dict:
    """The full snapshot a display starts from (and resyncs to after a gap or a reconnect);
    from ``read`` (the office's shared queue read) when given.

    The seq is read first: everything up to it is in the state read afterwards, and events
    after it may already be included, which the client tolerates (they are idempotent).
    """
    office = cached_office(office_slug)
    if read is None:
        seq = current_seq(office_slug)
        snap = estimates.snapshot(office, clock.now())
    else:
        seq, snap = read.seq, read.snap
    limit = current_app.config.get("DISPLAY_CALL_HISTORY", 10) if calls is None else calls
    state = {"office": {"slug": office.slug, "name": office.name}, "seq": seq}
    queue_state = _queue_state(office, snap)
    queue_state.pop("office")
    state.update(queue_state)
    state["calls"] = last_calls(office, snap.day, limit, snap.now)
    state["messages"] = display_messages(office, snap.now)
    return state


def shared_display_state(office_slug: str) -> dict:
    """``display_state`` shared by the displays of one office while nothing has happened there.

    A reconnect storm (a restarted server, a Wi-Fi hiccup in the waiting room) or many displays
    polling over HTTP would otherwise read the same snapshot once per client. Built from the
    office's shared queue read (``shared.office_read``: while the office's seq is unchanged,
    for at most DISPLAY_SNAPSHOT_SHARE_SECONDS; 0 turns it off), which the phones joining their
    tickets use too.
    """
    if not shared.share_seconds():
        return display_state(office_slug)
    office = cached_office(office_slug)
    read = shared.office_read(office)
    if read.display is None:
        read.display = display_state(office_slug, read=read)
        shared.keep_display(office, read, read.display)
    # displays set their clock by it (the read may have been taken for a phone a moment ago)
    return {**read.display, "server_time": _iso(clock.now())}


register_queue_readers(QueueReaders(read_queue, shared_display_state, ticket_status))
