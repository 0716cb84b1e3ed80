"""The office's event sequence: allocated in the change's own transaction, one per display event,
nothing for a refused change; and the snapshot over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from queue_service.errors import Conflict
from queue_service.extensions import db
from queue_service.realtime import publish
from queue_service.realtime.models import OfficeEventLog
from queue_service.tickets import display
from queue_service.tickets import services as q

from ..support.sql import statements_sent
from .clients import open_status_pages


@pytest.fixture
def emitted(monkeypatch):
    sent = []
    monkeypatch.setattr(
        publish,
        "emit_now",
        lambda event, data, *, room, namespace: sent.append((event, data, room, namespace)),
    )
    return sent


def display_events(emitted):
    return [
        (event, data)
        for event, data, room, ns in emitted
        if ns == "/display" and room == "office:aegi"
    ]


def test_every_display_event_takes_the_next_seq_in_commit_order(aegi, clerk, emitted):
    start = publish.current_seq("aegi")
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "PA")
    q.call_next("aegi", 1, actor=clerk)
    events = display_events(emitted)
    assert [e for e, _ in events] == [
        "queue_updated",
        "queue_updated",
        "ticket_called",
        "queue_updated",
    ]
    assert [d["seq"] for _, d in events] == [start + 1, start + 2, start + 3, start + 4]
    assert publish.current_seq("aegi") == start + 4
    staff = [d["seq"] for e, d, room, ns in emitted if ns == "/staff"]
    assert staff == [start + 1, start + 2, start + 4]  # the desks get the queue_updated seqs


def test_a_refused_change_allocates_no_seq_and_sends_nothing(aegi, clerk, emitted):
    q.issue_ticket("aegi", "PA")
    q.call_next("aegi", 1, actor=clerk)
    before = publish.current_seq("aegi")
    emitted.clear()
    with pytest.raises(Conflict):
        q.call_next("aegi", 1, actor=clerk)  # the counter still has its ticket: rolled back
    assert publish.current_seq("aegi") == before
    assert emitted == []


def test_offices_count_their_seqs_separately(aegi, clerk, other_clerk, emitted):
    aegi_before, linden_before = publish.current_seq("aegi"), publish.current_seq("linden")
    q.issue_ticket("linden", "PA")
    assert publish.current_seq("linden") == linden_before + 1
    assert publish.current_seq("aegi") == aegi_before


def test_queue_updated_carries_waiting_counts_and_estimates_per_service(aegi, clerk, emitted):
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "AN")
    data = display_events(emitted)[-1][1]
    waiting = {s["code"]: s["waiting"] for s in data["services"]}
    assert waiting["PA"] == 2 and waiting["AN"] == 1 and data["waiting_total"] == 3
    passport = next(s for s in data["services"] if s["code"] == "PA")
    assert passport["name"]["de"] and passport["name"]["en"] and passport["prefix"] == "P"
    assert passport["estimated_wait_minutes"] is not None


def test_the_waiting_tickets_status_pages_get_their_new_position_after_a_call(
    app, aegi, clerk, emitted
):
    first = q.issue_ticket("aegi", "PA")["token"]
    second = q.issue_ticket("aegi", "PA")["token"]
    third = q.issue_ticket("aegi", "PA")["token"]
    open_status_pages(app, [second, third])
    emitted.clear()
    q.call_next("aegi", 1, actor=clerk)
    updates = {room: data for event, data, room, _ in emitted if event == "ticket_updated"}
    assert updates[f"ticket:{first}"]["status"] == "called"
    assert updates[f"ticket:{second}"]["people_ahead"] == 0
    assert updates[f"ticket:{third}"]["people_ahead"] == 1
    assert all("token" not in data for data in updates.values())


def test_the_snapshot_shows_the_call_with_the_same_call_id_as_the_event(aegi, clerk, emitted):
    q.issue_ticket("aegi", "PA")
    q.call_next("aegi", 2, actor=clerk)
    called = next(d for e, d in display_events(emitted) if e == "ticket_called")
    state = display.display_state("aegi")
    assert state["seq"] == called["seq"] + 1
    assert state["calls"][0]["call_id"] == called["call_id"]
    assert state["calls"][0]["number"] == called["number"] == "P001"
    counter = next(c for c in state["counters"] if c["number"] == 2)
    assert counter["current"]["call_id"] == called["call_id"] and counter["status"] == "open"


def test_a_recall_is_a_new_call_id_and_the_history_shows_each_number_once(aegi, clerk, emitted):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.issue_ticket("aegi", "PA")
    q.call_next("aegi", 1, actor=clerk)
    from datetime import timedelta

    from queue_service import clock

    clock.advance(timedelta(seconds=30))
    q.recall_ticket(token, actor=clerk)
    calls = [d for e, d in display_events(emitted) if e == "ticket_called"]
    assert len(calls) == 2 and calls[0]["call_id"] != calls[1]["call_id"]
    history = display.display_state("aegi")["calls"]
    assert [c["number"] for c in history] == ["P001"]
    assert history[0]["call_id"] == calls[1]["call_id"] and history[0]["recall_count"] == 1


def test_display_state_over_http_is_the_snapshot_and_public(aegi, clerk, client):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.issue_ticket("aegi", "KID")
    q.call_next("aegi", 1, actor=clerk)
    response = client.get("/api/v1/offices/aegi/display-state")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body == display.display_state("aegi")
    text = response.get_data(as_text=True)
    assert token not in text and clerk.username not in text
    assert body["office"] == {"slug": "aegi", "name": "Bürgeramt Aegi"}
    assert body["calls"][0]["number"] == "P001" and body["waiting_total"] == 1
    assert client.get("/api/v1/offices/nowhere/display-state").status_code == 404


def test_ticker_messages_are_in_the_snapshot_and_pushed_with_a_seq(aegi, manager, emitted):
    from queue_service.management.messages import post_office_message, withdraw_office_message

    message = post_office_message(
        "aegi", "Heute Kartenzahlung gestört", "No card payment today", actor=manager
    )
    pushed = [d for e, d in display_events(emitted) if e == "office_message"]
    assert pushed[-1]["text_de"] == "Heute Kartenzahlung gestört" and pushed[-1][
        "seq"
    ] == publish.current_seq("aegi")
    assert [m["id"] for m in display.display_state("aegi")["messages"]] == [message.id]
    withdraw_office_message("aegi", message.id, actor=manager)
    assert display.display_state("aegi")["messages"] == []


def test_joining_displays_share_one_snapshot_until_something_happens_in_the_office(
    aegi, clerk, app
):
    q.issue_ticket("aegi", "PA")
    first = display.shared_display_state("aegi")
    again = display.shared_display_state("aegi")  # a reconnect storm costs one read
    assert again["calls"] is first["calls"] and again["services"] is first["services"]
    assert again["server_time"] >= first["server_time"]  # displays set their clocks by it
    assert display.shared_display_state("linden")["office"]["slug"] == "linden"
    q.call_next("aegi", 1, actor=clerk)
    after = display.shared_display_state("aegi")
    assert after["calls"] is not first["calls"] and after["seq"] > first["seq"]
    assert after["calls"][0]["number"] == "P001" and after == display.display_state("aegi")
    app.config["DISPLAY_SNAPSHOT_SHARE_SECONDS"] = 0
    assert (
        display.shared_display_state("aegi")["calls"] is not after["calls"]
    )  # off: read every time


def test_a_call_takes_its_seqs_in_one_statement_at_the_end_of_its_transaction(
    app, aegi, clerk, emitted
):
    """The office's seq row is locked from its update to the commit: the later, the shorter.
    On PostgreSQL the call's line for reconnecting displays is written by the same statement
    (one round trip less per call)."""
    q.issue_ticket("aegi", "PA")
    with statements_sent() as sent:
        q.call_next("aegi", 1, actor=clerk)
    statements = [
        s.split()[0]
        + (" seq" if "office_event_seqs" in s else "")
        + (" log" if "office_event_log" in s else "")
        for s in sent
    ]
    writes = [s for s in statements if s.split()[0] in ("INSERT", "UPDATE", "WITH")]
    # the call's seq and its queue change's, together
    assert len([s for s in writes if "seq" in s]) == 1
    # after the ticket's own writes; only the call's line for reconnecting displays follows
    if db.engine.dialect.name == "postgresql":
        assert writes[-1] == "WITH seq log"
    else:
        assert writes[-2:] == ["INSERT seq", "INSERT log"]
    logged = db.session.execute(
        select(OfficeEventLog.event, OfficeEventLog.seq, OfficeEventLog.data)
    ).all()
    assert [(name, seq) for name, seq, _ in logged] == [("ticket_called", logged[0][2]["seq"])]
    events = display_events(emitted)[-2:]
    assert [(e, d["seq"]) for e, d in events][0][0] == "ticket_called"
    assert events[1][1]["seqs"] == [events[0][1]["seq"] + 1]
    assert logged[0][2] == events[0][1]  # the line is the call as emitted, with its seq
