"""What the queue publishes: only after the commit, through realtime/publish.py, and never a
ticket's token on the displays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_service import clock
from queue_service.errors import Conflict
from queue_service.extensions import db
from queue_service.offices.services import get_office
from queue_service.realtime import publish
from queue_service.tickets import display, estimates
from queue_service.tickets import services as q
from queue_service.tickets.models import Ticket
from queue_service.tickets.reads import ticket_status

from ..realtime.clients import open_status_pages
from ..support.sql import statements_sent


@pytest.fixture
def emitted(monkeypatch):
    """Every emit as (event, data, room, namespace), recorded instead of sent."""
    sent = []
    monkeypatch.setattr(
        publish,
        "emit_now",
        lambda event, data, *, room, namespace: sent.append((event, data, room, namespace)),
    )
    return sent


def test_a_call_tells_the_displays_the_number_and_counter_without_the_token(aegi, clerk, emitted):
    token = q.issue_ticket("aegi", "PA")["token"]
    # the displays and desks hear of the new ticket (its position goes to no status page: none
    # has joined its room yet, docs/realtime-protocol.md 4.6)
    assert [(e, r, n) for e, _, r, n in emitted] == [
        ("queue_updated", "office:aegi", "/display"),
        ("queue_updated", "office:aegi", "/staff"),
    ]
    assert token not in str([data for _, data, room, _ in emitted if room == "office:aegi"])
    emitted.clear()
    q.call_next("aegi", 4, actor=clerk)
    called = [(data, room, ns) for event, data, room, ns in emitted if event == "ticket_called"]
    assert len(called) == 1
    data, room, namespace = called[0]
    assert (room, namespace) == ("office:aegi", "/display")
    assert {k: data[k] for k in ("number", "counter", "counter_name", "service")} == {
        "number": "P001",
        "counter": 4,
        "counter_name": "Platz 4",
        "service": "PA",
    }
    assert "server_time" in data and token not in str(data)
    updates = [(data, room) for event, data, room, _ in emitted if event == "ticket_updated"]
    assert updates[0][1] == f"ticket:{token}" and updates[0][0]["counter"]["number"] == 4
    assert token not in str(updates[0][0])
    assert {e for e, *_ in emitted} == {"ticket_called", "queue_updated", "ticket_updated"}


def test_a_recall_is_announced_again(aegi, clerk, emitted):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    emitted.clear()
    q.recall_ticket(token, actor=clerk)
    called = [data for event, data, *_ in emitted if event == "ticket_called"]
    assert len(called) == 1 and called[0]["recall_count"] == 1


def test_nothing_is_published_when_the_change_is_refused(aegi, clerk, emitted):
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "PA")
    q.call_next("aegi", 1, actor=clerk)
    emitted.clear()
    with pytest.raises(Conflict):
        q.call_next("aegi", 1, actor=clerk)  # the counter is busy: rolled back, nothing sent
    assert emitted == []


def test_a_change_that_fails_after_publishing_rolls_back_and_sends_nothing(
    aegi, clerk, emitted, monkeypatch
):
    from queue_service.tickets import payloads

    token = q.issue_ticket("aegi", "PA")["token"]
    emitted.clear()

    def broken(*args, **kwargs):
        raise RuntimeError("view failed")

    monkeypatch.setattr(payloads, "staff_view", broken)  # fails after the call was published
    with pytest.raises(RuntimeError):
        q.call_next("aegi", 1, actor=clerk)
    assert emitted == []
    monkeypatch.undo()
    assert (
        q.call_next("aegi", 1, actor=clerk)["token"] == token
    )  # still waiting: nothing was changed


def _queue_of_every_kind(clerk) -> list[str]:
    """Walk-ins of several services, one in English, and an appointment of three persons with
    further services; the tokens."""
    q.open_counter("aegi", 1, actor=clerk)
    tokens = [q.issue_ticket("aegi", code)["token"] for code in ("PA", "AB", "MB")]
    tokens.append(q.issue_ticket("aegi", "RP", lang="en")["token"])
    due = clock.now() + timedelta(minutes=20)
    appointment = q.issue_ticket(
        "aegi", "AB", kind="appointment", due_at=due, further_services=["MB", "RP"], persons=3
    )
    return [*tokens, appointment["token"]]


def test_the_positions_pushed_after_a_call_are_what_each_status_page_reads(
    app, aegi, clerk, emitted
):
    """The positions are rendered from plain rows, not ORM tickets: same payload as the status
    page's own read, for every kind of waiting ticket."""
    tokens = _queue_of_every_kind(clerk)
    open_status_pages(app, tokens)
    publish.forget_pushed_positions(app)
    emitted.clear()
    called = q.call_next("aegi", 1, actor=clerk)["token"]
    pushed = {
        room.removeprefix("ticket:"): data
        for event, data, room, _ in emitted
        if event == "ticket_updated" and room != f"ticket:{called}"
    }
    waiting = [t for t in tokens if t != called]
    assert sorted(pushed) == sorted(waiting)
    for token in waiting:
        assert pushed[token] == ticket_status(token), token
    appointment = pushed[tokens[-1]]
    assert [s["code"] for s in appointment["services"]] == ["AB", "MB", "RP"]
    assert appointment["persons"] == 3 and appointment["kind"] == "appointment"


def test_a_waiting_ticket_of_a_service_no_longer_offered_still_gets_its_position(aegi, clerk):
    tokens = _queue_of_every_kind(clerk)
    office = get_office("aegi")
    snap = estimates.snapshot(office, clock.now())
    dropped = next(s for s in snap.services.values() if s.code == "MB")
    del snap.services[dropped.id]  # as if the office had stopped offering it meanwhile
    views = dict(display._positions(office, snap, None))
    assert sorted(views) == sorted(tokens)
    for token in tokens:
        assert views[token] == ticket_status(token), token


def test_the_positions_read_loads_no_ticket_objects_and_one_statement_however_long_the_queue(
    aegi, clerk
):
    q.open_counter("aegi", 1, actor=clerk)
    counts = []
    for queue_length in (3, 30):
        while len(estimates.snapshot(get_office("aegi"), clock.now()).waiting) < queue_length:
            q.issue_ticket("aegi", "PA")
        db.session.rollback()
        with statements_sent() as sent:
            read = display.read_queue("aegi")
        assert len(read.positions) == queue_length
        assert not [o for o in db.session.identity_map.values() if isinstance(o, Ticket)]
        counts.append(len([s for s in sent if "tickets.token" in s]))
        db.session.rollback()
    assert counts == [1, 1]
