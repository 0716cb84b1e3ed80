"""The call order: staff placements, due appointments, priority, then waiting time with ageing
weights; only tickets the counter can serve."""

from __future__ import annotations

from datetime import timedelta

from queue_service import clock
from queue_service.tickets import services as q


def _issue(code: str, minutes_later: float = 1, **kwargs) -> dict:
    view = q.issue_ticket("aegi", code, **kwargs)
    clock.advance(timedelta(minutes=minutes_later))
    return view


def _drain(counter: int, clerk) -> list[str]:
    """Call, start and finish until nobody waits for ``counter``; the numbers in call order."""
    order = []
    while (view := q.call_next("aegi", counter, actor=clerk)) is not None:
        order.append(view["number"])
        q.start_serving(view["token"], actor=clerk)
        q.finish_ticket(view["token"], actor=clerk)
    return order


def test_due_appointments_then_priority_then_walkins_by_waiting_time(clerk):
    now = clock.now()
    _issue("PA")  # P001 walk-in, oldest
    _issue("RP", priority=True, actor=clerk)  # R001 priority
    _issue("AN", kind="appointment", due_at=now + timedelta(minutes=3))  # M001 due at 10:03
    _issue("KID", kind="appointment", due_at=now + timedelta(hours=2))  # K001 not due yet
    _issue("VD")  # V001 walk-in
    # it is now 10:05: M001 is due, K001 is not (and counts as waiting from 12:00)
    assert _drain(1, clerk) == ["M001", "R001", "P001", "V001", "K001"]


def test_a_ticket_placed_at_the_front_comes_before_everything_else(clerk):
    now = clock.now()
    _issue("AN", kind="appointment", due_at=now)
    _issue("RP", priority=True, actor=clerk)
    parked = _issue("PA")
    q.park_ticket(parked["token"], actor=clerk)
    q.unpark_ticket(parked["token"], actor=clerk, position="front")
    assert _drain(1, clerk) == ["P001", "M001", "R001"]


def test_an_appointment_transferred_to_the_back_loses_its_appointment_rank(clerk):
    now = clock.now()
    appointment = _issue("AN", kind="appointment", due_at=now)
    _issue("PA", minutes_later=2)
    q.transfer_ticket(appointment["token"], actor=clerk, service_code="MB", position="back")
    assert _drain(1, clerk) == ["P001", "M001"]


def test_ageing_weights_let_a_service_overtake_but_never_starve_the_others(app, clerk):
    app.config["QUEUE_AGEING_WEIGHTS"] = {"AB": 3.0}
    _issue("PA", minutes_later=4)  # P001 has waited 10 min at the first call
    _issue("AB", minutes_later=6)  # H001 has waited 6 min, weighted 18
    assert _drain(1, clerk)[:2] == ["H001", "P001"]

    _issue("PA", minutes_later=30)  # P002: 30 min, weight 1
    _issue("AB", minutes_later=5)  # H002: 5 min, weighted 15
    assert _drain(1, clerk) == ["P002", "H002"]


def test_equal_weights_mean_first_come_first_served_across_services(clerk):
    for code in ("PA", "AB", "RP", "MB", "AN"):
        _issue(code)
    assert _drain(2, clerk) == ["P001", "H001", "R001", "B001", "M001"]


def test_a_counter_calls_only_the_services_it_can_serve(clerk):
    _issue("PA")
    _issue("AB")
    _issue("RP")
    # counter 13 at Aegi serves short matters only (AB, EID, MB, BG)
    assert _drain(13, clerk) == ["H001"]
    assert q.call_next("aegi", 13, actor=clerk) is None
    assert _drain(1, clerk) == ["P001", "R001"]


def test_a_counter_calls_by_its_services_and_state_as_changed_just_before(clerk):
    """The counter and what it serves are kept per process under the catalogue revision: a
    change committed a moment ago is what the next call goes by."""
    import pytest
    from sqlalchemy import select

    from queue_service.db import unit_of_work
    from queue_service.errors import NotFound
    from queue_service.offices.models import Counter
    from queue_service.offices.services import get_office, get_service

    from .conftest import add_counters

    def counter_20(session) -> Counter:
        office_id = get_office("aegi").id
        return session.scalar(
            select(Counter).where(Counter.office_id == office_id, Counter.number == 20)
        )

    _issue("PA")
    _issue("AB")
    add_counters("aegi", range(20, 21), ["AB"])
    assert _drain(20, clerk) == ["H001"]  # kept from here on
    with unit_of_work() as session:
        counter_20(session).services = [get_service("PA")]
    assert _drain(20, clerk) == ["P001"]
    _issue("PA")
    with unit_of_work() as session:
        counter_20(session).active = False
    with pytest.raises(NotFound):
        q.call_next("aegi", 20, actor=clerk)
