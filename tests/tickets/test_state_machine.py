"""A Hypothesis state machine over issue, call, recall, start, finish, no-show, park, unpark,
transfer and cancel, against the real database. After every step the invariants hold:
numbers per office, prefix and day are unique and gapless; a called or served ticket sits at
exactly one counter and a counter has at most one; no ticket is lost or in a state the model
does not expect; the event log ends in the ticket's status."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, text

from queue_service import clock
from queue_service.errors import Conflict, InvalidTransition
from queue_service.extensions import db
from queue_service.tickets import services as q
from queue_service.tickets.models import Ticket, TicketEvent

from ..conftest import THURSDAY_10
from .conftest import staff

SERVICES = ["PA", "AB", "MB"]  # prefixes P, H, B; counter 13 serves AB and MB only
COUNTERS = {1: {"PA", "AB", "MB"}, 2: {"PA", "AB", "MB"}, 13: {"AB", "MB"}}
ACTIVE = {"called", "serving"}
# the expected lifecycle, written independently of queue_service.tickets.lifecycle
ALLOWED = {
    "recall": {"called"},
    "start": {"called"},
    "finish": {"serving"},
    "park": {"waiting", "called", "serving"},
    "unpark": {"parked"},
    "transfer": {"waiting", "called", "serving", "parked"},
    "cancel": {"waiting", "called", "parked"},
    "no_show": {"called"},
}
RESULT = {
    "recall": "called",
    "start": "serving",
    "finish": "done",
    "park": "parked",
    "unpark": "waiting",
    "transfer": "waiting",
    "cancel": "cancelled",
    "no_show": "no_show",
}


class QueueMachine(RuleBasedStateMachine):
    tickets = Bundle("tickets")
    runs = 0

    def __init__(self):
        super().__init__()
        QueueMachine.runs += 1
        for table in ("ticket_events", "tickets", "counter_states", "ticket_day_counters"):
            db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        clock.freeze(THURSDAY_10)
        self.clerk = staff("clerk-aegi")
        self.model: dict[
            str, dict
        ] = {}  # token -> {"status", "counter", "service", "target", "recalls"}

    def _at_counter(self, number: int) -> str | None:
        return next(
            (t for t, m in self.model.items() if m["status"] in ACTIVE and m["counter"] == number),
            None,
        )

    @rule(target=tickets, service=st.sampled_from(SERVICES), priority=st.booleans())
    def issue(self, service, priority):
        view = q.issue_ticket(
            "aegi", service, priority=priority, actor=self.clerk if priority else None
        )
        self.model[view["token"]] = {
            "status": "waiting",
            "counter": None,
            "service": service,
            "target": None,
            "recalls": 0,
        }
        return view["token"]

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def call_next(self, counter):
        if self._at_counter(counter):
            with pytest.raises(Conflict):
                q.call_next("aegi", counter, actor=self.clerk)
            return
        view = q.call_next("aegi", counter, actor=self.clerk)
        callable_here = [
            t
            for t, m in self.model.items()
            if m["status"] == "waiting"
            and (
                m["target"] == counter
                or (m["target"] is None and m["service"] in COUNTERS[counter])
            )
        ]
        if view is None:
            assert callable_here == []
            return
        assert view["token"] in callable_here
        self.model[view["token"]].update(status="called", counter=counter, target=None, recalls=0)

    @rule(
        token=tickets,
        action=st.sampled_from(
            ["recall", "start", "finish", "park", "unpark", "cancel", "no_show"]
        ),
    )
    def act(self, token, action):
        model = self.model[token]
        run = {
            "recall": q.recall_ticket,
            "start": q.start_serving,
            "finish": q.finish_ticket,
            "park": q.park_ticket,
            "unpark": q.unpark_ticket,
            "cancel": q.cancel_ticket,
            "no_show": q.mark_no_show,
        }[action]
        allowed = model["status"] in ALLOWED[action] and (
            action != "no_show" or model["recalls"] >= 2
        )
        if not allowed:
            with pytest.raises(InvalidTransition):
                run(token, actor=self.clerk)
            return
        view = run(token, actor=self.clerk)
        assert view["status"] == RESULT[action]
        model["status"] = RESULT[action]
        if action == "recall":
            model["recalls"] += 1
        if RESULT[action] not in ACTIVE:
            model["counter"] = None

    @rule(
        token=tickets,
        service=st.sampled_from([None, *SERVICES]),
        counter=st.sampled_from([None, 1, 13]),
        position=st.sampled_from(["front", "back"]),
    )
    def transfer(self, token, service, counter, position):
        model = self.model[token]
        if service is None and counter is None:
            return
        if model["status"] not in ALLOWED["transfer"]:
            with pytest.raises(InvalidTransition):
                q.transfer_ticket(
                    token,
                    actor=self.clerk,
                    service_code=service,
                    counter_number=counter,
                    position=position,
                )
            return
        view = q.transfer_ticket(
            token, actor=self.clerk, service_code=service, counter_number=counter, position=position
        )
        assert view["status"] == "waiting"
        model.update(
            status="waiting", counter=None, target=counter, service=service or model["service"]
        )

    @rule(minutes=st.integers(min_value=1, max_value=20))
    def time_passes(self, minutes):
        clock.advance(timedelta(minutes=minutes))

    @invariant()
    def numbers_unique_gapless_and_nothing_lost(self):
        db.session.rollback()
        rows = db.session.execute(
            select(
                Ticket.token,
                Ticket.prefix,
                Ticket.seq,
                Ticket.number,
                Ticket.status,
                Ticket.counter_id,
                Ticket.business_date,
            )
        ).all()
        assert {r.token for r in rows} == set(self.model)
        by_prefix: dict[str, list[int]] = {}
        for r in rows:
            by_prefix.setdefault(r.prefix, []).append(r.seq)
            assert r.number == f"{r.prefix}{r.seq:03d}"
            assert r.status.value == self.model[r.token]["status"]
        for seqs in by_prefix.values():
            assert sorted(seqs) == list(range(1, len(seqs) + 1))
        active = [r for r in rows if r.status.value in ACTIVE]
        assert all(r.counter_id is not None for r in active)
        assert max(Tally(r.counter_id for r in active).values(), default=0) <= 1

    @invariant()
    def the_log_ends_in_the_current_status(self):
        last = {}
        for ticket_id, to_status in db.session.execute(
            select(TicketEvent.ticket_id, TicketEvent.to_status).order_by(TicketEvent.id)
        ):
            last[ticket_id] = to_status
        current = dict(db.session.execute(select(Ticket.id, Ticket.status)).all())
        assert last == current


@pytest.mark.slow
def test_the_queue_keeps_its_invariants_whatever_the_clerks_do(aegi):
    """250 examples on each database, 500 in all."""
    QueueMachine.runs = 0
    run_state_machine_as_test(
        QueueMachine,
        settings=settings(
            max_examples=250,
            stateful_step_count=6,
            deadline=None,
            derandomize=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert QueueMachine.runs >= 250
