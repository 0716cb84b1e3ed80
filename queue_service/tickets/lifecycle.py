"""The ticket state machine in one place: which action may run from which status, where it
leads and which timestamp it sets. ``apply`` is the only code that changes ``Ticket.status``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import cast

from sqlalchemy import String, Table, bindparam, func, insert, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import N_, InvalidTransition
from ..realtime import publish
from . import numbering
from .models import DayCounter, Ticket, TicketEvent, TicketStatus

W, C, S, D = TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING, TicketStatus.DONE
P, X, N, NS = (
    TicketStatus.PARKED,
    TicketStatus.CANCELLED,
    TicketStatus.NOT_SERVED,
    TicketStatus.NO_SHOW,
)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[TicketStatus]
    target: TicketStatus
    stamp: str  # the Ticket column set to the moment of the transition


TRANSITIONS: dict[str, Transition] = {
    "call": Transition(frozenset({W, P}), C, "called_at"),
    "recall": Transition(frozenset({C}), C, "recalled_at"),
    "start": Transition(frozenset({C}), S, "serving_at"),
    "finish": Transition(frozenset({S}), D, "finished_at"),
    "no_show": Transition(frozenset({C}), NS, "no_show_at"),
    "park": Transition(frozenset({W, C, S}), P, "parked_at"),
    "unpark": Transition(frozenset({P}), W, "unparked_at"),
    "transfer": Transition(frozenset({W, C, S, P}), W, "transferred_at"),
    "cancel": Transition(frozenset({W, C, P}), X, "cancelled_at"),
    "close": Transition(frozenset({W, C, S, P}), N, "closed_at"),
}

ACTION_LABELS = {
    "call": "called",
    "recall": "recalled",
    "start": "started",
    "finish": "finished",
    "no_show": "marked as a no-show",
    "park": "parked",
    "unpark": "unparked",
    "transfer": "transferred",
    "cancel": "cancelled",
    "close": "closed as not served",
}

# German for the words the refusals name (the German texts use ``%(action_de)s``,
# ``%(status_de)s``, ``%(allowed_de)s``)
ACTION_LABELS_DE = {
    "called": "aufgerufen",
    "recalled": "erneut aufgerufen",
    "started": "begonnen",
    "finished": "abgeschlossen",
    "marked as a no-show": "als nicht erschienen markiert",
    "parked": "zurückgestellt",
    "unparked": "wieder aufgenommen",
    "transferred": "weitergeleitet",
    "cancelled": "storniert",
    "closed as not served": "als nicht bedient geschlossen",
    "queued again": "wieder eingereiht",
}
STATUS_DE = {
    TicketStatus.WAITING: "wartend",
    TicketStatus.CALLED: "aufgerufen",
    TicketStatus.SERVING: "in Bearbeitung",
    TicketStatus.DONE: "erledigt",
    TicketStatus.NO_SHOW: "nicht erschienen",
    TicketStatus.PARKED: "zurückgestellt",
    TicketStatus.CANCELLED: "storniert",
    TicketStatus.NOT_SERVED: "nicht bedient",
}


def status_params(status: TicketStatus) -> dict[str, str]:
    """A ticket's status named in a message: ``status`` (English) and ``status_de``."""
    return {"status": status.value, "status_de": STATUS_DE[status]}


def allowed_actions(status: TicketStatus) -> list[str]:
    """The actions that may run on a ticket in ``status`` (for the clerk desk's buttons)."""
    return [name for name, t in TRANSITIONS.items() if status in t.sources and name != "close"]


def check(ticket: Ticket, action: str) -> Transition:
    """Raise InvalidTransition (409) unless ``action`` may run on ``ticket`` now."""
    transition = TRANSITIONS[action]
    if ticket.status not in transition.sources:
        allowed = ", ".join(sorted(s.value for s in transition.sources))
        raise InvalidTransition(
            N_(
                "Ticket %(number)s is %(status)s; it can only be %(action)s when it is %(allowed)s."
            ),
            params={
                "number": ticket.number,
                **status_params(ticket.status),
                "action": ACTION_LABELS[action],
                "action_de": ACTION_LABELS_DE[ACTION_LABELS[action]],
                "allowed": allowed,
                "allowed_de": ", ".join(sorted(STATUS_DE[s] for s in transition.sources)),
            },
            reason="invalid_transition",
            status_now=ticket.status.value,
            action=action,
        )
    return transition


def apply(
    session,
    ticket: Ticket,
    action: str,
    *,
    now: datetime,
    counter_id: int | None = None,
    user_id: int | None = None,
    details: dict | None = None,
    columns: Mapping[str, object] | None = None,
    reserve_seq: bool = False,
) -> int | None:
    """Run ``action`` on ``ticket``: check, move the status, stamp the time, log the event.

    With ``columns`` (the ticket's other columns the change sets, maybe none) the ticket is
    written now by a plain UPDATE of the status, the stamp and these columns, and the loaded
    ticket takes them as its stored values: no ORM flush for it (the call, start and finish of
    every ticket); on PostgreSQL the UPDATE and the event's INSERT are one statement. The caller
    then sets nothing else on the ticket in this unit of work. With ``columns`` and
    ``reserve_seq``, on PostgreSQL the same statement also reserves the office's next realtime
    seq (``publish.seq_reserved_by_write``) and it is returned, for a change whose one numbered
    event is its office's ``queue_updated`` and which writes nothing after it (start, finish);
    else None."""
    transition = check(ticket, action)
    before = ticket.status
    event = {
        "office_id": ticket.office_id,
        "at": now,
        "action": action,
        "from_status": before,
        "to_status": transition.target,
        "counter_id": counter_id,
        "user_id": user_id,
        "details": details or {},
    }
    if columns is None:
        ticket.status = transition.target
        setattr(ticket, transition.stamp, now)
        log_event(session, ticket_id=ticket.id, **event)
        return None
    values = {"status": transition.target, transition.stamp: now, **columns}
    connection = session.connection()
    seq = None
    if _one_statement(connection):
        # the UPDATE in the event's INSERT (a WITH clause): one round trip for both
        params = {"changed_id": ticket.id, **_prefixed(values), **_prefixed(event, "event_")}
        if reserve_seq:
            stmt = _update_log_and_reserve(tuple(values))
            seq = connection.execute(stmt, params).scalar_one()
        else:
            connection.execute(_update_and_log(tuple(values)), params)
    else:
        connection.execute(_UPDATE_TICKET, {"ticket_id": ticket.id, **values})
        log_event(session, ticket_id=ticket.id, **event)
    for key, value in values.items():
        set_committed_value(ticket, key, value)
    return seq


_LOG_EVENT = insert(TicketEvent)
# on the table; the columns SET are the parameters' other keys (compiled once per set of keys)
_TICKETS = cast(Table, Ticket.__table__)
_EVENTS = cast(Table, TicketEvent.__table__)
_COUNTERS = cast(Table, DayCounter.__table__)
_UPDATE_TICKET = update(_TICKETS).where(_TICKETS.c.id == bindparam("ticket_id"))
_EVENT_VALUES = (
    "office_id",
    "at",
    "action",
    "from_status",
    "to_status",
    "counter_id",
    "user_id",
    "details",
)


def _one_statement(connection) -> bool:
    """Whether the ticket's write and its event go as one statement: on PostgreSQL, where
    each statement is a round trip (SQLite has no data-modifying WITH)."""
    return connection.dialect.name == "postgresql"


def _prefixed(values: Mapping[str, object], prefix: str = "set_") -> dict[str, object]:
    """Parameters named apart from every column of both tables (SQLAlchemy would take a
    parameter named as a column for that column's value in either INSERT)."""
    return {f"{prefix}{key}": value for key, value in values.items()}


@lru_cache(maxsize=32)
def _update_and_log(keys: tuple[str, ...]):
    """PostgreSQL: ``WITH changed AS (UPDATE tickets SET <keys> ... RETURNING id) INSERT INTO
    ticket_events ...``, the event's ticket the one changed (parameters: ``changed_id``, the
    columns set prefixed ``set_``, the event's prefixed ``event_``)."""
    return _logged(_changed(keys))


def _changed(keys: tuple[str, ...]):
    return (
        update(_TICKETS)
        .where(_TICKETS.c.id == bindparam("changed_id"))
        .values({key: bindparam(f"set_{key}", type_=_TICKETS.c[key].type) for key in keys})
        .returning(_TICKETS.c.id, _TICKETS.c.office_id)
        .cte("changed")
    )


@lru_cache(maxsize=32)
def _update_log_and_reserve(keys: tuple[str, ...]):
    """PostgreSQL: ``_update_and_log`` as WITH clauses, and the office's next realtime seq
    reserved after the UPDATE (``publish.seq_reserved_by_write``, fed by it): ``SELECT (SELECT
    seq FROM reserved)``."""
    changed = _changed(keys)
    logged = _logged(changed).cte("logged")
    reserved = publish.seq_reserved_by_write(changed.c.office_id, changed).cte("reserved")
    return select(select(reserved.c.seq).scalar_subquery()).add_cte(logged)


def _logged(written):
    """The event's INSERT of the ticket ``written`` (a CTE returning its ``id``)."""
    return insert(_EVENTS).values(
        ticket_id=select(written.c.id).scalar_subquery(),
        **{key: bindparam(f"event_{key}", type_=_EVENTS.c[key].type) for key in _EVENT_VALUES},
    )


@lru_cache(maxsize=4)
def _insert_and_log(keys: tuple[str, ...]):
    """PostgreSQL: ``WITH issued AS (INSERT INTO tickets (<keys>) ... RETURNING id) INSERT INTO
    ticket_events ... RETURNING ticket_id`` (parameters: the ticket's columns prefixed ``set_``,
    the event's prefixed ``event_``)."""
    issued = (
        insert(_TICKETS)
        .values({key: bindparam(f"set_{key}", type_=_TICKETS.c[key].type) for key in keys})
        .returning(_TICKETS.c.id)
        .cte("issued")
    )
    return _logged(issued).returning(_EVENTS.c.ticket_id)


@lru_cache(maxsize=1)
def _insert_ticket():
    return insert(_TICKETS).returning(_TICKETS.c.id)


def insert_issued(session, values: Mapping[str, object], event: Mapping[str, object]) -> int:
    """Insert a new ticket (``values``: its columns, those with a default too) and its issue
    event (``event``: ``TicketEvent``'s columns but the ticket's id); return the ticket's id. One
    statement on PostgreSQL (the ticket's INSERT in a WITH clause), two on SQLite."""
    connection = session.connection()
    if _one_statement(connection):
        stmt = _insert_and_log(tuple(values))
        params = {**_prefixed(values), **_prefixed(event, "event_")}
        return connection.execute(stmt, params).scalar_one()
    ticket_id = connection.execute(_insert_ticket(), values).scalar_one()
    log_event(session, ticket_id=ticket_id, **event)
    return ticket_id


def insert_numbered(
    session,
    values: Mapping[str, object],
    event: Mapping[str, object],
    day_counter: str,
    *,
    reserve_seq: bool = False,
) -> tuple[int | None, int, int | None]:
    """``insert_issued`` for a ticket that takes the next number of its prefix: ``values``
    without ``seq`` and ``number``, which come from the office's day counter ``day_counter``
    (``numbering.counter_name``, bumped here; its office and day are the ticket's). Returns
    the ticket's id and its seq; past ``numbering.MAX_SEQ`` no ticket is written (id None) and
    the caller refuses, which rolls the bump back. With ``reserve_seq``, also the office's next
    realtime seq for the issue's ``queue_updated`` (``publish.seq_reserved_by_write``), on
    PostgreSQL only (else None: it is allocated before the commit, as for any change).

    On PostgreSQL the counter's bump, the ticket's INSERT, its event (and the seq) are one
    statement (one round trip, where they were two or three); on SQLite, which has no
    data-modifying WITH, they are ``numbering.bump`` and ``insert_issued``."""
    connection = session.connection()
    if not _one_statement(connection):
        office_id, day = cast(int, values["office_id"]), cast(date, values["business_date"])
        seq = numbering.bump(session, office_id, day, day_counter)
        if seq > numbering.MAX_SEQ:
            return None, seq, None
        number = numbering.format_number(str(values["prefix"]), seq)
        return insert_issued(session, {**values, "seq": seq, "number": number}, event), seq, None
    params = {
        **_prefixed(values),
        **_prefixed(event, "event_"),
        "counter_name": day_counter,
    }
    stmt = _number_insert_and_log(tuple(values), reserve_seq)
    row = connection.execute(stmt, params).one()
    return row[1], row[0], (row[2] if reserve_seq else None)


@lru_cache(maxsize=8)
def _number_insert_and_log(keys: tuple[str, ...], reserve_seq: bool = False):
    """PostgreSQL: ``WITH numbered AS (INSERT INTO ticket_day_counters ... ON CONFLICT DO UPDATE
    ... RETURNING value), issued AS (INSERT INTO tickets (<keys>, seq, number) SELECT ... FROM
    numbered WHERE value <= 999 RETURNING id), logged AS (INSERT INTO ticket_events SELECT ...
    FROM issued) SELECT value, (SELECT id FROM issued) FROM numbered``, with ``reserve_seq``
    also the office's seq (``reserved``, after ``numbered``) as a third column. The number is
    the prefix and the seq in three digits, as ``numbering.format_number`` writes it."""
    ticket = {key: bindparam(f"set_{key}", type_=_TICKETS.c[key].type) for key in keys}
    numbered = (
        numbering.bump_statement("postgresql", ticket["office_id"], ticket["business_date"])
        .returning(_COUNTERS.c.value)
        .cte("numbered")
    )
    seq = numbered.c.value
    number = ticket["prefix"].concat(func.lpad(sql_cast(seq, String), 3, "0"))
    issued = (
        insert(_TICKETS)
        .from_select(
            [*keys, "seq", "number"],
            select(*ticket.values(), seq, number).where(seq <= numbering.MAX_SEQ),
        )
        .returning(_TICKETS.c.id)
        .cte("issued")
    )
    event = [bindparam(f"event_{key}", type_=_EVENTS.c[key].type) for key in _EVENT_VALUES]
    logged = (
        insert(_EVENTS)
        .from_select(["ticket_id", *_EVENT_VALUES], select(issued.c.id, *event))
        .cte("logged")
    )
    columns = [seq, select(issued.c.id).scalar_subquery()]
    if reserve_seq:
        reserved = publish.seq_reserved_by_write(ticket["office_id"], numbered).cte("reserved")
        columns.append(select(reserved.c.seq).scalar_subquery())
    return select(*columns).add_cte(logged)


def log_event(session, **values) -> None:
    """Append one row to the ticket's event log (``TicketEvent``'s columns), in the caller's
    transaction. A plain insert, sent now: the log is only ever read back by queries, and an ORM
    object for it made every change's flush cost more than the change itself."""
    session.connection().execute(_LOG_EVENT, values)
