"""What a change of the queue sends to the database (session 10): the statements of an issue and
of a call-next/start/finish cycle, with the new paths' rows compared to the old ones'."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.errors import Conflict
from queue_service.extensions import db
from queue_service.realtime import publish
from queue_service.tickets import changes, lifecycle
from queue_service.tickets import services as q
from queue_service.tickets.models import Ticket, TicketEvent

from ..support.sql import statements_sent

# what differs between two tickets issued the same way
_OWN = {"id", "token", "seq", "number", "idempotency_key", "ticket_id"}


def _stored(token: str) -> tuple[dict, list[dict]]:
    """The ticket's row and its events' rows, without what is its own (ids, token, number)."""
    db.session.expire_all()
    tickets, events = Ticket.__table__, TicketEvent.__table__
    row = db.session.execute(select(tickets).where(tickets.c.token == token)).mappings().one()
    logged = db.session.execute(
        select(events).where(events.c.ticket_id == row["id"]).order_by(events.c.id)
    ).mappings()
    own = lambda found: {k: v for k, v in found.items() if k not in _OWN}  # noqa: E731
    return own(row), [own(event) for event in logged]


def _served(clerk, appointment: bool) -> tuple[list[int], tuple]:
    """Issue a ticket, call it, start and finish it: the statements each change sent (the
    displays' read after it left out) and what was stored."""
    further = {"kind": "appointment", "due_at": clock.now() + timedelta(minutes=5)}
    sent = []
    with statements_sent() as issue:
        if appointment:
            token = q.issue_ticket("aegi", "PA", further_services=["MB"], persons=2, **further)[
                "token"
            ]
        else:
            token = q.issue_ticket("aegi", "PA", actor=clerk)["token"]
    sent.append(len(issue))
    with statements_sent() as call:
        assert q.call_next("aegi", 1, actor=clerk)["token"] == token
    sent.append(len(call))
    for change in (q.start_serving, q.finish_ticket):
        with statements_sent() as changed:
            change(token, actor=clerk)
        sent.append(len(changed))
    return sent, _stored(token)


def test_a_tickets_write_and_its_event_are_one_statement_on_postgresql(
    app, aegi, clerk, monkeypatch
):
    """On PostgreSQL the ticket's INSERT (issue) or UPDATE (call, start, finish) and its event's
    INSERT are one statement (the write in a WITH clause), and an issue bumps its number's day
    counter in it too (a walk-in also its office's realtime seq, as start and finish do): one
    round trip fewer per call, two per start and finish, two or three per issue, the same rows
    stored as by the separate statements (SQLite keeps them: no data-modifying WITH)."""
    monkeypatch.setattr(publish, "deliver_queue", lambda *args: None)
    q.open_counter("aegi", 1, actor=clerk)
    db.session.commit()
    postgresql = db.engine.dialect.name == "postgresql"
    assert lifecycle._one_statement(db.session.connection()) == postgresql
    found = {}
    for appointment in (False, True):  # the process's copies of the catalogue filled first
        _served(clerk, appointment)
    for one in (False, True) if postgresql else (False,):
        monkeypatch.setattr(lifecycle, "_one_statement", lambda connection, one=one: one)
        found[one] = [_served(clerk, appointment) for appointment in (False, True)]
    for _, (_, events) in found[False]:
        assert [e["action"] for e in events] == ["issue", "call", "start", "finish"]
    if postgresql:
        for appointment, (old_sent, old_rows), (new_sent, new_rows) in zip(
            (False, True), found[False], found[True], strict=True
        ):
            assert new_rows == old_rows
            # the issue: the number's day counter bumped in the same statement too, and a
            # walk-in's (its one event the queue_updated) also its realtime seq reserved there
            # start and finish (their one numbered event the queue_updated) their seq too
            issue, call, start, finish = old_sent
            saved = 2 if appointment else 3
            assert new_sent == [issue - saved, call - 1, start - 2, finish - 2], (
                old_sent,
                new_sent,
            )


def test_call_next_reads_the_counters_current_ticket_only_when_it_calls_none(
    aegi, clerk, monkeypatch
):
    """The next ticket's statement finds none while the counter has a ticket called or served
    (``NOT EXISTS``, after the counter's state row is locked): a call reads the counter's current
    ticket only for the refusal or an empty queue, where it read it before every call."""
    read = []
    current = changes.current_ticket

    def counted(session, counter):
        read.append(counter.number)
        return current(session, counter)

    monkeypatch.setattr(changes, "current_ticket", counted)
    q.open_counter("aegi", 1, actor=clerk)
    first, second = (q.issue_ticket("aegi", "PA")["token"] for _ in range(2))
    db.session.commit()
    assert q.call_next("aegi", 1, actor=clerk)["token"] == first
    assert read == []
    with pytest.raises(Conflict) as busy:
        q.call_next("aegi", 1, actor=clerk)
    db.session.rollback()
    assert busy.value.extra["reason"] == "counter_busy"
    assert busy.value.extra["ticket"] == db.session.scalar(
        select(Ticket.number).where(Ticket.token == first)
    )
    assert read == [1]
    q.start_serving(first, actor=clerk)
    with pytest.raises(Conflict):
        q.call_next("aegi", 1, actor=clerk)
    db.session.rollback()
    q.finish_ticket(first, actor=clerk)
    assert q.call_next("aegi", 1, actor=clerk)["token"] == second
    q.finish_ticket(q.start_serving(second, actor=clerk)["token"], actor=clerk)
    assert q.call_next("aegi", 1, actor=clerk) is None  # nobody waits
    assert read == [1, 1, 1]


def test_the_forecasts_waiting_groups_come_with_the_counters_statement(aegi, clerk, monkeypatch):
    """The walk-in forecast's totals (``queue_totals``) read the waiting tickets' groups as a
    column of the counters' statement: one statement fewer per issue, the same groups and
    totals as the groups' statement of its own gave (which still serves an office without an
    active counter, where the counters' statement has no row)."""
    from queue_service.offices.services import get_office
    from queue_service.tickets import estimates

    q.open_counter("aegi", 1, actor=clerk)
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "MB", priority=True, actor=clerk)
    moved = q.issue_ticket("aegi", "PA")["token"]
    q.issue_ticket(
        "aegi",
        "PA",
        kind="appointment",
        due_at=clock.now() + timedelta(minutes=5),
        further_services=["MB"],
        persons=2,
    )
    q.transfer_ticket(moved, actor=clerk, counter_number=2)
    db.session.commit()
    office, now, day = get_office("aegi"), clock.now(), clock.today()
    alone = estimates._run(estimates._group_stmts()[0], {"office_id": office.id, "day": day})
    alone = sorted((tuple(row) for row in alone), key=repr)
    assert len(alone) == 4 and any(target for _, target, *_ in alone)
    counters, _, groups = estimates.load_counters(office.id, day, waiting=True)
    assert counters and sorted(groups, key=repr) == alone
    assert estimates.load_counters(office.id, day)[2] is None  # not asked for
    assert estimates._waiting_groups(None) == []  # nobody waits
    estimates.queue_totals(office, now, open_now=True)  # the catalogue's revision read first
    with statements_sent() as sent:
        folded = estimates.queue_totals(office, now, open_now=True)
    assert len(sent) == 2, sent  # the counters' statement, the further services' (appointment)

    def totals(snap) -> tuple:
        return snap.waiting_minutes, {s: snap.estimate_new(s) for s in snap.services}

    # the old path: the groups' statement of its own, as without a counter
    load_counters = estimates.load_counters
    monkeypatch.setattr(
        estimates,
        "load_counters",
        lambda *args: (*load_counters(*args)[:2], None),
    )
    with statements_sent() as sent:
        old = estimates.queue_totals(office, now, open_now=True)
    assert len(sent) == 3, sent
    assert totals(folded) == totals(old)
    assert folded.waiting_minutes and folded.waiting_minutes > 0
