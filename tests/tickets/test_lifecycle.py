"""The ticket state machine: every transition stamps its time and logs an event; anything the
transition table does not allow is refused with 409 and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_service import clock
from queue_service.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from queue_service.tickets import lifecycle, reads
from queue_service.tickets import services as q
from queue_service.tickets.models import TicketStatus

from .conftest import events_of, ticket_row


def test_a_walkin_goes_waiting_called_serving_done_with_a_timestamp_and_event_per_step(clerk):
    issued = q.issue_ticket("aegi", "PA")
    assert issued["status"] == "waiting" and issued["number"] == "P001"
    clock.advance(timedelta(minutes=4))
    called = q.call_next("aegi", 3, actor=clerk)
    assert called["number"] == "P001" and called["status"] == "called"
    assert called["counter"] == {"number": 3, "name": "Platz 3"}
    clock.advance(timedelta(minutes=1))
    q.start_serving(called["token"], actor=clerk)
    clock.advance(timedelta(minutes=12))
    done = q.finish_ticket(called["token"], actor=clerk, performed_service_code="VD")
    assert done["status"] == "done" and done["performed_service"] == "VD"

    row = ticket_row(issued["token"])
    start = row.issued_at
    assert (row.called_at - start, row.serving_at - start, row.finished_at - start) == (
        timedelta(minutes=4),
        timedelta(minutes=5),
        timedelta(minutes=17),
    )
    assert events_of(issued["token"]) == [
        ("issue", None, "waiting"),
        ("call", "waiting", "called"),
        ("start", "called", "serving"),
        ("finish", "serving", "done"),
    ]


def _ticket_in(status: str, clerk, counter: int) -> str:
    """A fresh ticket brought into ``status`` (through the services, as a clerk would)."""
    token = q.issue_ticket("aegi", "PA")["token"]
    if status == "waiting":
        return token
    if status == "parked":
        q.park_ticket(token, actor=clerk)
        return token
    if status == "cancelled":
        q.cancel_ticket(token)
        return token
    q.call_ticket("aegi", counter, actor=clerk, token=token)
    if status == "called":
        return token
    if status == "no_show":
        q.recall_ticket(token, actor=clerk)
        q.recall_ticket(token, actor=clerk)
        q.mark_no_show(token, actor=clerk)
        return token
    q.start_serving(token, actor=clerk)
    if status == "serving":
        return token
    q.finish_ticket(token, actor=clerk)
    return token


ACTIONS = {
    "call": lambda token, clerk: q.call_ticket("aegi", 12, actor=clerk, token=token),
    "recall": lambda token, clerk: q.recall_ticket(token, actor=clerk),
    "start": lambda token, clerk: q.start_serving(token, actor=clerk),
    "finish": lambda token, clerk: q.finish_ticket(token, actor=clerk),
    "no_show": lambda token, clerk: q.mark_no_show(token, actor=clerk),
    "park": lambda token, clerk: q.park_ticket(token, actor=clerk),
    "unpark": lambda token, clerk: q.unpark_ticket(token, actor=clerk),
    "transfer": lambda token, clerk: q.transfer_ticket(token, actor=clerk, service_code="RP"),
    "cancel": lambda token, clerk: q.cancel_ticket(token, actor=clerk),
}


# the ticket lifecycle, written out here independently of the code's table
EXPECTED = {
    "call": ({"waiting", "parked"}, "called"),
    "recall": ({"called"}, "called"),
    "start": ({"called"}, "serving"),
    "finish": ({"serving"}, "done"),
    "no_show": ({"called"}, "no_show"),
    "park": ({"waiting", "called", "serving"}, "parked"),
    "unpark": ({"parked"}, "waiting"),
    "transfer": ({"waiting", "called", "serving", "parked"}, "waiting"),
    "cancel": ({"waiting", "called", "parked"}, "cancelled"),
    "close": ({"waiting", "called", "serving", "parked"}, "not_served"),
}


def test_the_transition_table_is_the_lifecycle_of_the_issue():
    table = {
        action: ({s.value for s in t.sources}, t.target.value)
        for action, t in lifecycle.TRANSITIONS.items()
    }
    assert table == EXPECTED


def test_every_action_the_table_does_not_allow_is_refused_and_changes_nothing(clerk):
    statuses = ["waiting", "called", "serving", "done", "no_show", "parked", "cancelled"]
    tokens = {
        status: _ticket_in(status, clerk, counter) for counter, status in enumerate(statuses, 1)
    }
    refused = 0
    for status, token in tokens.items():
        for action, run in ACTIONS.items():
            if status in EXPECTED[action][0]:
                continue
            before = ticket_row(token)
            snapshot = {c.key: getattr(before, c.key) for c in before.__table__.columns}
            log = events_of(token)
            with pytest.raises(InvalidTransition) as info:
                run(token, clerk)
            assert info.value.status == 409 and info.value.extra["reason"] == "invalid_transition"
            after = ticket_row(token)
            assert {c.key: getattr(after, c.key) for c in after.__table__.columns} == snapshot
            assert events_of(token) == log
            refused += 1
    assert refused == 7 * 9 - 17  # every (status, action) pair outside the table was tried


def test_no_show_needs_the_configured_number_of_recalls(app, clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    with pytest.raises(InvalidTransition) as info:
        q.mark_no_show(token, actor=clerk)
    assert info.value.extra["reason"] == "recall_first" and info.value.params["needed"] == 2
    once = q.recall_ticket(token, actor=clerk)
    assert once["recall_count"] == 1 and "no_show" not in once["actions"]
    twice = q.recall_ticket(token, actor=clerk)
    assert twice["recall_count"] == 2 and "no_show" in twice["actions"]
    assert q.mark_no_show(token, actor=clerk)["status"] == "no_show"
    assert [e[0] for e in events_of(token)] == ["issue", "call", "recall", "recall", "no_show"]

    app.config["NO_SHOW_AFTER_RECALLS"] = 0
    other = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    assert q.mark_no_show(other, actor=clerk)["status"] == "no_show"


def test_a_new_call_starts_the_recall_count_again_and_the_log_keeps_every_recall(clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    q.recall_ticket(token, actor=clerk)
    q.park_ticket(token, actor=clerk)
    assert q.call_ticket("aegi", 2, actor=clerk, token=token)["recall_count"] == 0
    assert [e[0] for e in events_of(token)] == ["issue", "call", "recall", "park", "call"]


def test_parking_frees_the_counter_and_unparking_puts_the_ticket_at_the_front(clerk):
    first = q.issue_ticket("aegi", "PA")["token"]
    clock.advance(timedelta(minutes=1))
    second = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    q.start_serving(first, actor=clerk)
    parked = q.park_ticket(first, actor=clerk)
    assert parked["status"] == "parked" and parked["counter"] is None
    assert q.call_next("aegi", 1, actor=clerk)["token"] == second  # the counter is free again
    q.start_serving(second, actor=clerk)
    back = q.unpark_ticket(first, actor=clerk)
    assert back["status"] == "waiting" and back["people_ahead"] == 0
    q.issue_ticket("aegi", "PA")
    q.finish_ticket(second, actor=clerk)
    assert q.call_next("aegi", 1, actor=clerk)["token"] == first


def test_unpark_at_the_back_queues_behind_everyone_already_waiting(clerk):
    parked = q.issue_ticket("aegi", "PA")["token"]
    q.park_ticket(parked, actor=clerk)
    clock.advance(timedelta(minutes=2))
    later = q.issue_ticket("aegi", "PA")["token"]
    clock.advance(timedelta(minutes=1))
    assert q.unpark_ticket(parked, actor=clerk, position="back")["people_ahead"] == 1
    assert q.call_next("aegi", 1, actor=clerk)["token"] == later
    with pytest.raises(ValidationFailed) as info:
        q.unpark_ticket(parked, actor=clerk, position="sideways")
    assert info.value.field == "position"


def test_transfer_keeps_the_number_changes_the_service_and_frees_the_counter(clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    q.start_serving(token, actor=clerk)
    moved = q.transfer_ticket(token, actor=clerk, service_code="AN", position="back")
    assert (moved["number"], moved["status"], moved["service"]["code"]) == ("P001", "waiting", "AN")
    assert moved["transferred"] is True and moved["counter"] is None
    row = ticket_row(token)
    assert row.counter_id is None and row.status == TicketStatus.WAITING
    assert q.call_next("aegi", 13, actor=clerk) is None  # counter 13 serves short matters only
    again = q.call_next("aegi", 1, actor=clerk)  # counter 1 is free again and serves AN
    assert (again["number"], again["service"]["code"]) == ("P001", "AN")


def test_transfer_to_a_counter_only_that_counter_calls_it(clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    moved = q.transfer_ticket(token, actor=clerk, counter_number=5, position="front")
    assert moved["target_counter"] == {"number": 5, "name": "Platz 5"}
    assert q.call_next("aegi", 2, actor=clerk) is None
    called = q.call_next("aegi", 5, actor=clerk)
    assert called["token"] == token and called["target_counter"] is None
    details = [e for e in events_of(token)]
    assert details[-2] == ("transfer", "called", "waiting")


def test_transfer_refuses_unknown_targets_and_changes_nothing(clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    with pytest.raises(ValidationFailed) as info:
        q.transfer_ticket(token, actor=clerk, service_code="NOPE")
    assert info.value.field == "service"
    with pytest.raises(NotFound) as info:
        q.transfer_ticket(token, actor=clerk, counter_number=99)
    assert info.value.field == "counter"
    with pytest.raises(ValidationFailed):
        q.transfer_ticket(token, actor=clerk)
    assert events_of(token) == [("issue", None, "waiting")]


def test_the_visitor_may_cancel_with_the_token_alone(clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    view = q.cancel_ticket(token)
    assert view["status"] == "cancelled"
    assert ticket_row(token).cancelled_at == clock.now()
    with pytest.raises(NotFound):
        q.cancel_ticket("not-a-token")


def test_call_next_is_refused_while_the_counter_still_has_a_ticket(clerk):
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "PA")
    first = q.call_next("aegi", 1, actor=clerk)
    with pytest.raises(Conflict) as info:
        q.call_next("aegi", 1, actor=clerk)
    assert info.value.extra["reason"] == "counter_busy" and first["number"] in info.value.detail
    assert q.call_next("aegi", 2, actor=clerk)["number"] == "P002"


def test_counters_open_pause_and_close_and_close_waits_for_the_current_ticket(clerk):
    opened = q.open_counter("aegi", 4, actor=clerk)
    assert opened["status"] == "open" and opened["user"]["username"] == "clerk-aegi"
    assert q.pause_counter("aegi", 4, actor=clerk)["status"] == "paused"
    q.issue_ticket("aegi", "PA")
    called = q.call_next("aegi", 4, actor=clerk)  # calling from a pause opens the counter again
    assert reads.counter_overview("aegi", 4, actor=clerk)["status"] == "open"
    with pytest.raises(Conflict):
        q.close_counter("aegi", 4, actor=clerk)
    q.start_serving(called["token"], actor=clerk)
    q.pause_counter("aegi", 4, actor=clerk)  # a break may start while the visitor is still there
    q.finish_ticket(called["token"], actor=clerk)
    closed = q.close_counter("aegi", 4, actor=clerk)
    assert closed["status"] == "closed" and closed["user"] is None and closed["current"] is None


def test_a_clerk_of_another_office_is_forbidden_and_nothing_changes(clerk, other_clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    with pytest.raises(Forbidden):
        q.call_next("aegi", 1, actor=other_clerk)
    with pytest.raises(Forbidden):
        q.cancel_ticket(token, actor=other_clerk)
    with pytest.raises(Forbidden):
        q.open_counter("aegi", 1, actor=other_clerk)
    assert events_of(token) == [("issue", None, "waiting")]
    assert reads.counter_overview("aegi", 1, actor=clerk)["status"] == "closed"


def test_close_day_marks_what_is_left_as_not_served_and_deletes_nothing(clerk):
    waiting = q.issue_ticket("aegi", "PA")["token"]
    called = q.issue_ticket("aegi", "RP")["token"]
    parked = q.issue_ticket("aegi", "AN")["token"]
    done = q.issue_ticket("aegi", "MB")["token"]
    q.call_ticket("aegi", 1, actor=clerk, token=called)
    q.park_ticket(parked, actor=clerk)
    q.call_ticket("aegi", 2, actor=clerk, token=done)
    q.start_serving(done, actor=clerk)
    q.finish_ticket(done, actor=clerk)
    assert q.close_day("aegi", "Stromausfall") == 3
    for token in (waiting, called, parked):
        row = ticket_row(token)
        assert row.status == TicketStatus.NOT_SERVED and row.closed_reason == "Stromausfall"
        assert row.closed_at == clock.now()
        assert events_of(token)[-1][0] == "close"
    assert ticket_row(done).status == TicketStatus.DONE
    assert all(
        c["status"] == "closed" for c in reads.queue_overview("aegi", actor=clerk)["counters"]
    )
    assert q.close_day("aegi") == 0
    with pytest.raises(InvalidTransition):
        q.unpark_ticket(parked, actor=clerk)
    with pytest.raises(InvalidTransition):
        q.cancel_ticket(waiting)


def test_tickets_of_an_earlier_day_are_not_called_and_not_requeued(clerk):
    old = q.issue_ticket("aegi", "PA")["token"]
    q.park_ticket(old, actor=clerk)
    clock.advance(timedelta(days=1))  # Friday morning: Aegi takes walk-ins
    assert q.call_next("aegi", 1, actor=clerk) is None
    with pytest.raises(InvalidTransition) as info:
        q.unpark_ticket(old, actor=clerk)
    assert info.value.extra["reason"] == "not_today"
    assert q.issue_ticket("aegi", "PA")["number"] == "P001"  # numbers start again each day
