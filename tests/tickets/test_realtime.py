"""What the queue publishes: only after the commit, through realtime/publish.py, and never a
ticket's token on the displays."""

from __future__ import annotations

import pytest

from queue_service.errors import Conflict
from queue_service.realtime import publish
from queue_service.tickets import services as q


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
    # the displays and desks hear of the new ticket; its status page gets its position
    assert [(e, r, n) for e, _, r, n in emitted] == [
        ("queue_updated", "office:aegi", "/display"),
        ("queue_updated", "office:aegi", "/staff"),
        ("ticket_updated", f"ticket:{token}", "/display"),
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
