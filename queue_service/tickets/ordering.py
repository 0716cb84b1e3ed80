"""Who is called next: the ordering rule, as one replaceable SQL ORDER BY builder.

``rank(weights)``, bound to ``rank_params(now)``, orders the waiting tickets of a day:

1. tickets staff put back at the front (transfer or unpark with ``position=front``), first
   placed first;
2. checked-in appointments whose time has come, earliest appointment first;
3. priority tickets (set by staff, e.g. accessibility needs);
4. everyone else, longest weighted waiting time first.

Within 3 and 4 a ticket's waiting time (since it entered the queue; for an appointment not yet
due, since its appointment time) is multiplied by its service's ageing weight
(``QUEUE_AGEING_WEIGHTS``, default 1.0): a weight of 2 lets that service's tickets age twice as
fast. Every weight is positive and waiting time grows without bound, so no service starves.

The same ORDER BY serves call-next (``LIMIT 1 FOR UPDATE SKIP LOCKED``) and the estimates, so
the position shown to a visitor is the order in which counters call. The clauses are built once
per set of weights with bound parameters for the moment (``rank_params(now)``), because building
SQL expressions costs more than running them.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import Float, and_, bindparam, case, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..db import UTCDateTime
from .models import Placement, Ticket, TicketKind, TicketStatus

NOW = bindparam("rank_now", type_=UTCDateTime())
NOW_SECONDS = bindparam("rank_now_s", type_=Float())
Weights = tuple[tuple[int, float], ...]  # (service id, weight), sorted


class epoch_seconds(FunctionElement):  # reads like the SQL function it stands for
    """Seconds since 1970 of a UTCDateTime column, portable between SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return (
        f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"
    )


def _weight(weights: Weights):
    if not weights:
        return literal(1.0, Float)
    return case(
        *[(Ticket.service_id == sid, literal(float(w), Float)) for sid, w in weights],
        else_=literal(1.0, Float),
    )


def rank_params(now: datetime) -> dict:
    """The bound parameters of ``rank``: the moment the order is taken at."""
    return {"rank_now": now, "rank_now_s": now.timestamp()}


def tier():
    due = and_(
        Ticket.kind == TicketKind.APPOINTMENT,
        Ticket.placement.is_(None),
        Ticket.due_at.is_not(None),
        Ticket.due_at <= NOW,
    )
    return case(
        (Ticket.placement == Placement.FRONT, 0),
        (due, 1),
        (Ticket.priority.is_(True), 2),
        else_=3,
    )


@lru_cache(maxsize=32)
def rank(weights: Weights = ()) -> tuple:
    """ORDER BY clauses putting the ticket to call next first (bind ``rank_params(now)``)."""
    level = tier()
    waiting_since = case(
        (
            and_(
                Ticket.kind == TicketKind.APPOINTMENT,
                Ticket.placement.is_(None),
                Ticket.due_at.is_not(None),
            ),
            Ticket.due_at,
        ),
        else_=Ticket.queued_at,
    )
    weighted_wait = (NOW_SECONDS - epoch_seconds(waiting_since)) * _weight(weights)
    within = case(
        (level == 0, epoch_seconds(Ticket.queued_at)),
        (level == 1, epoch_seconds(Ticket.due_at)),
        else_=-weighted_wait,
    )
    return (level, within, Ticket.id)


def eligible(counter_id, service_ids):
    """Waiting tickets a counter may call: routed to it, or of a service it can serve.

    Takes values or bound parameters (``service_ids`` then an expanding one)."""
    return and_(
        Ticket.status == TicketStatus.WAITING,
        or_(
            Ticket.target_counter_id == counter_id,
            and_(Ticket.target_counter_id.is_(None), Ticket.service_id.in_(service_ids)),
        ),
    )
