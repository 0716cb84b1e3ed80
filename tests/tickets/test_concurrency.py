"""Real threads against the real database (a SQLite file, and PostgreSQL): numbers stay unique
and gapless when many tickets are issued at once, and two counters never get the same ticket."""

from __future__ import annotations

import threading
from collections import Counter as Tally

import pytest
from sqlalchemy import func, select

from queue_service.auth.models import User
from queue_service.extensions import db
from queue_service.tickets import services as q
from queue_service.tickets.models import Ticket, TicketEvent, TicketStatus

from .conftest import add_counters

pytestmark = pytest.mark.slow


@pytest.fixture
def app_config():
    """Without the in-process queues (SQLite's writer, an office's walk-ins): the database alone
    must keep order. The
    realtime events go out from the dispatcher thread, as in production (delivering them in each
    committing thread would need a second connection per thread)."""
    return {
        "SQLITE_WRITER_LOCK": False,
        "WALKIN_ADMISSION_LOCK": False,
        "REALTIME_EMIT_IN_BACKGROUND": True,
    }


@pytest.fixture(autouse=True)
def _events_delivered(app):
    """The dispatcher is done before the database file is replaced for the next test."""
    yield
    from queue_service.realtime.publish import wait_until_delivered

    assert wait_until_delivered(app, timeout=60)


def in_threads(app, count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads started together, each with its own app context
    (and so its own session and connection); re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[i] = work(i)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def _waiting_tickets(count: int, codes: list[str]) -> set[str]:
    """``count`` waiting walk-ins written directly (issuing is tested above; here it is only
    the set-up, and 200 issues with their estimates would dominate the run time)."""
    from datetime import timedelta

    from queue_service import clock
    from queue_service.db import unit_of_work
    from queue_service.offices.services import get_office, get_service
    from queue_service.tickets.issuing import new_token
    from queue_service.tickets.models import DayCounter

    with unit_of_work() as session:
        office, now = get_office("aegi"), clock.now()
        services = [get_service(code) for code in codes]
        seqs: Tally = Tally()
        tokens = set()
        for i in range(count):
            service = services[i % len(services)]
            seqs[service.prefix] += 1
            moment = now + timedelta(seconds=i)
            ticket = Ticket(
                office_id=office.id,
                service_id=service.id,
                business_date=clock.today(),
                prefix=service.prefix,
                seq=seqs[service.prefix],
                number=f"{service.prefix}{seqs[service.prefix]:03d}",
                token=new_token(),
                queued_at=moment,
                issued_at=moment,
            )
            session.add(ticket)
            tokens.add(ticket.token)
        for prefix, last in seqs.items():
            session.add(
                DayCounter(
                    office_id=office.id,
                    business_date=clock.today(),
                    name=f"number:{prefix}",
                    value=last,
                )
            )
    return tokens


def test_forty_tickets_issued_at_once_get_forty_distinct_consecutive_numbers(app, aegi):
    numbers = in_threads(
        app, 40, lambda i: q.issue_ticket("aegi", "PA", idempotency_key=f"k{i}")["number"]
    )
    assert sorted(numbers) == [f"P{n:03d}" for n in range(1, 41)]
    seqs = db.session.scalars(select(Ticket.seq).order_by(Ticket.seq)).all()
    assert seqs == list(range(1, 41))


def test_the_same_idempotency_key_sent_at_once_makes_one_ticket(app, aegi):
    tokens = in_threads(
        app, 8, lambda i: q.issue_ticket("aegi", "PA", idempotency_key="double-tap")["token"]
    )
    assert len(set(tokens)) == 1
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    assert q.issue_ticket("aegi", "PA")["number"] == "P002"  # no number was used up


def test_twenty_counters_calling_at_once_hand_out_each_ticket_exactly_once(app, aegi, clerk):
    add_counters("aegi", range(15, 23))  # counters 1-12 and 15-22 serve everything
    counters = [*range(1, 13), *range(15, 23)]
    issued = _waiting_tickets(200, ["PA", "RP", "AN", "MB", "AB", "VD", "FZ", "BG"])
    user_id = clerk.id

    def work(i: int) -> list[tuple[str, int]]:
        user = db.session.get(User, user_id)
        calls = []
        while (view := q.call_next("aegi", counters[i], actor=user)) is not None:
            calls.append((view["token"], view["counter"]["number"]))
            q.start_serving(view["token"], actor=user)
            q.finish_ticket(view["token"], actor=user)
        return calls

    calls = [call for per_counter in in_threads(app, 20, work) for call in per_counter]
    handed_out = Tally(token for token, _ in calls)
    assert set(handed_out) == issued  # none lost
    assert max(handed_out.values()) == 1  # none twice
    assert len({counter for _, counter in calls}) > 1  # the work was really shared
    db.session.rollback()
    assert (
        db.session.scalar(select(func.count(Ticket.id)).where(Ticket.status != TicketStatus.DONE))
        == 0
    )
    call_events = db.session.scalars(
        select(func.count(TicketEvent.id))
        .where(TicketEvent.action == "call")
        .group_by(TicketEvent.ticket_id)
    ).all()
    assert len(call_events) == 200 and set(call_events) == {1}


def test_walkins_and_calls_at_once_take_every_seq_of_the_office_once(app, aegi, clerk, monkeypatch):
    """A walk-in's seq is reserved by its ticket's statement on PostgreSQL, a start's and a
    finish's by their UPDATE, a call's just before its commit: all of them at once, the office's
    display events still take each seq exactly once, none skipped."""
    from queue_service.realtime import publish

    sent: list[tuple[str, dict]] = []

    def emit(event, data, *, room, namespace) -> None:
        if namespace == "/display" and room == "office:aegi":
            sent.append((event, data))

    monkeypatch.setattr(publish, "emit_now", emit)
    _waiting_tickets(30, ["PA", "RP"])
    user_id = clerk.id
    start = publish.current_seq("aegi")
    db.session.rollback()  # no read transaction left open (on SQLite, an older snapshot)

    def work(i: int) -> int:
        """The seqs the changes take: a walk-in's queue_updated; a call's ticket_called and
        queue_updated; a start's and a finish's queue_updated (reserved by their UPDATE on
        PostgreSQL, as the walk-in's by its INSERT)."""
        if i % 2:
            q.issue_ticket("aegi", "PA", idempotency_key=f"walk-in {i}")
            return 1
        user = db.session.get(User, user_id)
        view = q.call_next("aegi", 1 + i // 2, actor=user)
        if view is None:
            return 0
        q.start_serving(view["token"], actor=user)
        q.finish_ticket(view["token"], actor=user)
        return 4

    taken = sum(in_threads(app, 20, work))
    assert taken == 50  # ten walk-ins; ten calls, each started and finished
    assert publish.wait_until_delivered(app, timeout=60)
    assert publish.current_seq("aegi") == start + taken
    seqs = [data["seq"] for event, data in sent if event == "ticket_called"]
    # a queue_updated names every change it stands for (several when they were coalesced)
    seqs += [seq for event, data in sent if event == "queue_updated" for seq in data["seqs"]]
    assert sorted(seqs) == list(range(start + 1, start + taken + 1))


def test_walkins_at_once_without_a_daily_cap_are_admitted_one_after_the_other(app, aegi, clerk):
    """The forecast judges concurrent walk-ins of an office one after the other, in every
    process (here: threads, without the in-process admission lock): the "walkins" day counter's
    row lock is taken before the forecast reads the queue, with or without a daily cap. With
    three places left before closing, ten walk-ins sent at once get exactly three tickets."""
    from datetime import datetime

    from queue_service import clock
    from queue_service.errors import Refused
    from queue_service.offices.services import get_office
    from queue_service.tickets.forecast import day_forecast

    from .conftest import set_office, set_office_service

    set_office("aegi", walkin_daily_cap=None)
    set_office_service("aegi", "PA", walkin_daily_cap=None)
    clock.freeze(datetime(2026, 11, 26, 12, 30, tzinfo=clock.LOCAL_TZ))
    q.open_counter("aegi", 1, actor=clerk)
    outlook = day_forecast(get_office("aegi"), clock.now())
    fits = int(outlook.capacity_minutes // 15)  # identity cards: 15 minutes each
    for _ in range(fits - 3):
        q.issue_ticket("aegi", "PA")  # trusted code: not held to the forecast
    user_id = clerk.id
    db.session.rollback()

    def work(i: int) -> str:
        try:
            return q.issue_ticket("aegi", "PA", actor=db.session.get(User, user_id))["number"]
        except Refused as refusal:
            return refusal.extra["reason"]

    answers = Tally(
        "issued" if answer.startswith("P") else answer for answer in in_threads(app, 10, work)
    )
    assert answers == {"issued": 3, "served_out": 7}
