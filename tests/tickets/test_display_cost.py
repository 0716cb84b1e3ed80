"""What the displays' queue read costs (session 9): an appointment's further services read with
the waiting tickets and the counters, the counters' calls from a statement built once; the
answers compared with the old paths."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from queue_service import clock
from queue_service.extensions import db
from queue_service.offices.models import Service
from queue_service.offices.services import get_office
from queue_service.tickets import display, estimates, payloads
from queue_service.tickets import services as q
from queue_service.tickets.models import Ticket, TicketService

from ..support.calls import python_calls as _calls
from ..support.sql import statements_sent


def _booked(ticket_id: int) -> tuple[int, ...]:
    """An appointment ticket's further services as stored, in booked order (the old read)."""
    return tuple(
        db.session.scalars(
            select(TicketService.service_id)
            .where(TicketService.ticket_id == ticket_id)
            .order_by(TicketService.position)
        )
    )


def _id_of(token: str) -> int:
    found = db.session.scalar(select(Ticket.id).where(Ticket.token == token))
    assert found is not None
    return found


def _service_ids(*codes: str) -> list[int]:
    ids = {code: sid for code, sid in db.session.execute(select(Service.code, Service.id))}
    return [ids[code] for code in codes]


def test_the_queue_read_gets_further_services_with_the_waiting_tickets_and_counters(aegi, clerk):
    """A snapshot with appointments waiting and one at a counter sends as many statements as
    one of walk-ins only (the further services were a statement of their own, in every
    displays' read with an appointment waiting), and finds each appointment's further services
    in booked order, whatever their ids' order."""
    q.open_counter("aegi", 1, actor=clerk)
    q.issue_ticket("aegi", "PA")
    office = get_office("aegi")
    db.session.commit()
    with statements_sent() as walkins_only:
        estimates.snapshot(office, clock.now())
    db.session.rollback()

    due = clock.now() - timedelta(minutes=1)  # due: called before the walk-ins
    booked = [["MB", "AB", "RP"], ["RP", "MB"]]
    tokens = [
        q.issue_ticket(
            "aegi", "PA", kind="appointment", due_at=due, further_services=codes, persons=2
        )["token"]
        for codes in booked
    ]
    at_counter = q.call_next("aegi", 1, actor=clerk)  # the first appointment
    assert at_counter["token"] == tokens[0]
    db.session.commit()
    with statements_sent() as with_appointments:
        snap = estimates.snapshot(office, clock.now())
    assert len(with_appointments) == len(walkins_only)

    ids = [_id_of(token) for token in tokens]
    assert [_booked(i) for i in ids] == [tuple(_service_ids(*codes)) for codes in booked]
    counter = next(c for c in snap.counters if c.current_id is not None)
    called = _id_of(at_counter["token"])
    assert counter.current_further == _booked(called)
    waiting = {t.id: t.further for t in snap.waiting}
    for ticket_id in ids:
        if ticket_id != called:
            assert waiting[ticket_id] == _booked(ticket_id)
    walkins = [t for t in snap.waiting if t.id not in ids]
    assert walkins and all(t.further == () for t in walkins)


def test_the_counters_calls_on_the_display_are_a_statement_built_once(aegi, clerk):
    """The ticket called at each counter, as the display shows it (the ORM's execute of a
    statement built per read before), with the same content."""
    q.open_counter("aegi", 1, actor=clerk)
    q.open_counter("aegi", 2, actor=clerk)
    for _ in range(3):
        q.issue_ticket("aegi", "PA")
    first = q.call_next("aegi", 1, actor=clerk)
    second = q.call_next("aegi", 2, actor=clerk)
    q.start_serving(second["token"], actor=clerk)
    q.recall_ticket(first["token"], actor=clerk)
    db.session.commit()
    snap = estimates.snapshot(get_office("aegi"), clock.now())
    display._current_calls(snap)  # warm
    calls, count = _calls(display._current_calls, snap)
    assert count < 400, count  # 553 (SQLite) and 684 (PostgreSQL) before
    by_number = {c["number"]: c for c in calls.values()}
    assert by_number[first["number"]]["status"] == "called"
    assert by_number[first["number"]]["recall_count"] == 1
    assert by_number[second["number"]]["status"] == "serving"
    assert by_number[second["number"]]["service"] == "PA"
    assert sorted(calls) == sorted(c.current_id for c in snap.counters if c.current_id)
    for ticket_id, shown in calls.items():
        ticket = db.session.get_one(Ticket, ticket_id)
        at = ticket.recalled_at if ticket.recall_count else ticket.called_at
        assert at is not None
        assert shown == {
            "number": ticket.number,
            "service": ticket.service.code,
            "status": ticket.status.value,
            "recall_count": ticket.recall_count,
            "call_id": payloads.call_id(ticket.number, ticket.recall_count, at),
            "called_at": at.isoformat(timespec="milliseconds"),
        }
