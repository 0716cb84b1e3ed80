"""What a waiting-room display lists as calls: only numbers called now count as current, a
number sent away leaves the list at once, and the list holds the calls of the last minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_service import clock
from queue_service.realtime import publish
from queue_service.tickets import services as q
from queue_service.tickets.display import display_state


@pytest.fixture
def emitted(monkeypatch):
    sent = []
    monkeypatch.setattr(
        publish,
        "emit_now",
        lambda event, data, *, room, namespace: sent.append((event, data, room, namespace)),
    )
    return sent


def _calls() -> list[tuple[str, int, bool]]:
    return [(c["number"], c["counter"], c["active"]) for c in display_state("aegi")["calls"]]


def _recalled(token: str, clerk, times: int) -> None:
    for _ in range(times):
        q.recall_ticket(token, actor=clerk)


def test_no_show_park_and_transfer_leave_the_display_and_tell_it(aegi, clerk, emitted):
    tokens = [q.issue_ticket("aegi", "PA")["token"] for _ in range(4)]
    for counter in (1, 2, 3, 4):
        q.call_next("aegi", counter, actor=clerk)
    assert _calls() == [("P004", 4, True), ("P003", 3, True), ("P002", 2, True), ("P001", 1, True)]
    emitted.clear()

    _recalled(tokens[1], clerk, 2)
    q.mark_no_show(tokens[1], actor=clerk)  # P002 at Platz 2
    q.park_ticket(tokens[2], actor=clerk)  # P003 at Platz 3
    q.transfer_ticket(tokens[3], actor=clerk, service_code="AN")  # P004 at Platz 4
    q.start_serving(tokens[0], actor=clerk)  # P001 came to Platz 1: no longer called, still listed

    assert _calls() == [("P001", 1, False)]
    withdrawn = [d for e, d, room, _ in emitted if e == "call_withdrawn"]
    assert [(d["number"], d["reason"]) for d in withdrawn] == [
        ("P002", "no_show"),
        ("P003", "parked"),
        ("P004", "transferred"),
    ]
    assert all(isinstance(d["seq"], int) for d in withdrawn)
    assert all(room == "office:aegi" for e, _, room, _ in emitted if e == "call_withdrawn")


def test_a_recall_is_a_current_call_again_and_old_calls_drop_out(aegi, clerk):
    first = q.issue_ticket("aegi", "PA")["token"]
    second = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    q.start_serving(first, actor=clerk)
    q.finish_ticket(first, actor=clerk)
    clock.advance(timedelta(minutes=3))
    q.call_next("aegi", 2, actor=clerk)
    assert _calls() == [("P002", 2, True), ("P001", 1, False)]
    # eleven minutes later the served P001 has left the list; P002 is still called there
    clock.advance(timedelta(minutes=11))
    assert _calls() == [("P002", 2, True)]
    q.recall_ticket(second, actor=clerk)
    calls = display_state("aegi")["calls"]
    assert [(c["number"], c["recall_count"], c["active"]) for c in calls] == [("P002", 1, True)]
