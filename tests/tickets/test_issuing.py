"""Issuing: numbers per office, prefix and day; caps, walk-in hours, closures, the services an
office offers; idempotency; appointment tickets; who may issue."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select

from queue_service import clock
from queue_service.auth.services import create_device, device_for_token
from queue_service.db import unit_of_work
from queue_service.errors import Conflict, Forbidden, Refused, ValidationFailed
from queue_service.extensions import db
from queue_service.offices.models import Closure
from queue_service.offices.services import get_office
from queue_service.tickets import issuing
from queue_service.tickets import services as q
from queue_service.tickets.models import DayCounter, Ticket

from .conftest import set_office, set_office_service, set_service

BERLIN = clock.LOCAL_TZ


def test_numbers_are_prefix_plus_three_digits_counted_per_prefix(aegi):
    numbers = [
        q.issue_ticket("aegi", code)["number"] for code in ("PA", "PA", "RP", "AN", "ABM", "PA")
    ]
    # AN and ABM share the prefix M, so they share one sequence
    assert numbers == ["P001", "P002", "R001", "M001", "M002", "P003"]
    assert q.issue_ticket("linden", "PA")["number"] == "P001"  # every office counts on its own


def test_numbers_start_again_on_the_next_local_day(aegi):
    assert q.issue_ticket("aegi", "PA")["number"] == "P001"
    clock.freeze(datetime(2026, 11, 27, 8, 0, tzinfo=BERLIN))  # Friday 08:00 local
    view = q.issue_ticket("aegi", "PA")
    assert view["number"] == "P001" and view["business_date"] == "2026-11-27"


def test_the_token_is_long_random_and_unique(aegi):
    tokens = {q.issue_ticket("aegi", "MB")["token"] for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(t) >= 32 for t in tokens)  # 24 random bytes = 192 bits, url-safe


def test_walkins_are_refused_outside_walkin_hours_with_the_next_window(aegi):
    clock.freeze(datetime(2026, 11, 26, 13, 30, tzinfo=BERLIN))  # Thursday lunch break
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "PA")
    assert info.value.extra["reason"] == "outside_walkin_hours"
    assert info.value.extra["next_walkin_window"] == "2026-11-26T14:00+01:00"
    clock.freeze(datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN))
    with pytest.raises(Refused) as info:
        q.issue_ticket("schuetzenplatz", "PA")  # no walk-ins at all
    assert info.value.extra["reason"] == "outside_walkin_hours"
    clock.freeze(datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN))  # Friday: walk-ins at Aegi only
    assert q.issue_ticket("aegi", "PA")["number"] == "P001"
    with pytest.raises(Refused):
        q.issue_ticket("linden", "PA")


def test_walkins_are_refused_on_holidays_and_closure_days_naming_the_reason(aegi):
    clock.freeze(datetime(2026, 12, 24, 10, 0, tzinfo=BERLIN))  # a Thursday, recurring closure
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "PA")
    assert info.value.extra["reason"] == "closed" and "Heiligabend" in info.value.detail
    clock.freeze(datetime(2026, 12, 25, 10, 0, tzinfo=BERLIN))  # a Friday and a public holiday
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "PA")
    assert info.value.extra["reason"] == "closed" and "Weihnachtstag" in info.value.detail
    clock.freeze(datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN))
    with unit_of_work() as session:
        session.add(
            Closure(office_id=get_office("linden").id, day=clock.today(), reason="Wasserschaden")
        )
    with pytest.raises(Refused) as info:
        q.issue_ticket("linden", "PA")
    assert "Wasserschaden" in info.value.detail
    assert q.issue_ticket("aegi", "PA")["number"] == "P001"


def test_services_the_office_does_not_offer_or_that_need_an_appointment_are_refused(aegi):
    with pytest.raises(Refused) as info:
        q.issue_ticket("linden", "BPA")  # resident parking: Aegi only
    assert info.value.extra["reason"] == "service_not_offered" and info.value.field == "service"
    set_service("FS", walk_in_allowed=False)
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "FS")
    assert info.value.extra["reason"] == "walkin_not_allowed"
    with pytest.raises(ValidationFailed) as info:
        q.issue_ticket("aegi", "XYZ")
    assert info.value.field == "service" and "XYZ" in info.value.detail
    assert db.session.scalar(select(Ticket.id)) is None


def test_the_mobile_office_takes_walkins_at_its_stops_for_the_services_listed_there(aegi):
    with pytest.raises(Refused) as info:
        q.issue_ticket("mobil", "PA")  # no stop on Thursday 26 November
    assert info.value.extra["reason"] == "outside_walkin_hours"
    assert info.value.extra["next_walkin_window"] == "2026-12-03T10:00+01:00"
    clock.freeze(datetime(2026, 12, 3, 11, 0, tzinfo=BERLIN))  # Martinshof: PA, RP, BEF, AN
    assert q.issue_ticket("mobil", "PA")["number"] == "P001"
    with pytest.raises(Refused) as info:
        q.issue_ticket("mobil", "MB")
    assert info.value.extra["reason"] == "service_not_offered" and "Martinshof" in info.value.detail


def test_the_office_cap_refuses_walkins_past_it_but_not_appointments(aegi):
    set_office("aegi", walkin_daily_cap=2)
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "AB")
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "RP")
    assert info.value.extra["reason"] == "cap_reached" and info.value.extra["cap"] == 2
    appointment = q.issue_ticket("aegi", "RP", kind="appointment", due_at=clock.now())
    assert appointment["number"] == "R001" and appointment["kind"] == "appointment"
    with pytest.raises(Refused):  # the refusal did not count towards anything
        q.issue_ticket("aegi", "RP")


def test_the_service_cap_counts_walkins_of_that_service_only(aegi):
    set_office_service("aegi", "PA", walkin_daily_cap=1)
    q.issue_ticket("aegi", "PA")
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "PA")
    assert (
        info.value.extra["reason"] == "cap_reached"
        # each language names the service by its own name
        and "Personalausweis beantragen" in info.value.detail
        and "Apply for an identity card" in str(info.value)
    )
    assert q.issue_ticket("aegi", "RP")["number"] == "R001"


def test_appointment_tickets_skip_walkin_hours_but_need_their_time(aegi):
    clock.freeze(datetime(2026, 11, 26, 19, 0, tzinfo=BERLIN))
    due = clock.now() + timedelta(minutes=10)
    view = q.issue_ticket("schuetzenplatz", "PA", kind="appointment", due_at=due, prefix="T")
    assert view["number"] == "T001" and view["due_at"] == "2026-11-26T19:10:00+01:00"
    with pytest.raises(ValidationFailed) as info:
        q.issue_ticket("aegi", "PA", kind="appointment")
    assert info.value.field == "due_at"


def test_the_number_range_ends_at_999_and_a_refusal_leaves_no_gap(aegi):
    office_id = get_office("aegi").id
    with unit_of_work() as session:
        session.add(
            DayCounter(office_id=office_id, business_date=clock.today(), name="number:P", value=998)
        )
    assert q.issue_ticket("aegi", "PA")["number"] == "P999"
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "PA")
    assert info.value.extra["reason"] == "numbers_exhausted"
    counter = db.session.get(DayCounter, (office_id, clock.today(), "number:P"))
    db.session.refresh(counter)
    assert counter.value == 999  # the refused increment was rolled back
    assert q.issue_ticket("aegi", "RP")["number"] == "R001"


def test_a_repeated_idempotency_key_returns_the_same_ticket_and_uses_no_number(aegi):
    first = q.issue_ticket("aegi", "PA", idempotency_key="tap-1")
    again = q.issue_ticket("aegi", "PA", idempotency_key="tap-1")
    assert again["token"] == first["token"] and again["number"] == "P001"
    assert q.issue_ticket("aegi", "PA", idempotency_key="tap-2")["number"] == "P002"
    assert q.issue_ticket("linden", "PA", idempotency_key="tap-1")["number"] == "P001"  # per office
    with pytest.raises(Conflict) as info:
        q.issue_ticket("aegi", "RP", idempotency_key="tap-1")
    assert info.value.extra["reason"] == "idempotency_key_reused"
    assert db.session.query(Ticket).filter(Ticket.office_id == get_office("aegi").id).count() == 2


def test_a_repeat_gets_its_ticket_even_where_the_office_would_refuse_it_now(aegi):
    set_office("aegi", walkin_daily_cap=1)
    first = q.issue_ticket("aegi", "PA", idempotency_key="tap-1")
    # the cap is reached: a new walk-in is refused, the repeat of the admitted one is not
    again = q.issue_ticket("aegi", "PA", idempotency_key="tap-1")
    assert again["token"] == first["token"] and again["number"] == "P001"
    with pytest.raises(Refused) as info:
        q.issue_ticket("aegi", "PA", idempotency_key="tap-2")
    assert info.value.extra["reason"] == "cap_reached"
    with pytest.raises(Conflict):  # a repeat asking for another service is still a conflict
        q.issue_ticket("aegi", "RP", idempotency_key="tap-1")
    office_id = get_office("aegi").id
    counted = db.session.get(DayCounter, (office_id, clock.today(), "walkins"))
    db.session.refresh(counted)
    assert counted.value == 1  # neither the repeats nor the refusal counted
    assert db.session.query(Ticket).filter(Ticket.office_id == office_id).count() == 1


def test_a_new_idempotency_key_costs_no_lookup_of_its_own(aegi):
    """The key is checked by its unique constraint at the INSERT, not by a read before it."""
    sent: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        q.issue_ticket("aegi", "PA", idempotency_key="tap-new")
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    lookups = [s for s in sent if s.lstrip().startswith("SELECT") and "idempotency_key" in s]
    assert sent and not lookups


def test_kiosks_issue_only_for_their_own_office_and_never_with_priority(aegi, clerk, other_clerk):
    kiosk = device_for_token(create_device("aegi", "kiosk"))
    display = device_for_token(create_device("aegi", "display"))
    elsewhere = device_for_token(create_device("linden", "kiosk"))
    assert q.issue_ticket("aegi", "PA", device=kiosk)["number"] == "P001"
    for device in (display, elsewhere):
        with pytest.raises(Forbidden):
            q.issue_ticket("aegi", "PA", device=device)
    with pytest.raises(Forbidden) as info:
        q.issue_ticket("aegi", "PA", device=kiosk, priority=True)
    assert info.value.field == "priority"
    assert q.issue_ticket("aegi", "PA", actor=clerk, priority=True)["priority"] is True
    with pytest.raises(Forbidden):
        q.issue_ticket("aegi", "PA", actor=other_clerk)


def test_an_offices_walk_ins_queue_in_the_process_not_in_the_database(app, aegi):
    """While a walk-in of Aegi is being admitted, the next one of Aegi waits in the process
    (holding no connection) instead of waiting in the database for the walk-in counter's row
    lock; another office's walk-in is not held up."""
    db.session.remove()
    issued: dict[str, str] = {}

    def issue(slug: str) -> None:
        with app.app_context():
            try:
                issued[slug] = q.issue_ticket(slug, "PA")["number"]
            finally:
                db.session.remove()

    with issuing.admitting_walkins("aegi"):  # an Aegi walk-in being admitted
        held = threading.Thread(target=issue, args=("aegi",))
        held.start()
        other = threading.Thread(target=issue, args=("linden",))
        other.start()
        other.join(30)
        assert issued.get("linden") == "P001"
        held.join(1)  # as long again as Linden's took: Aegi's still waits for the admission
        assert held.is_alive() and "aegi" not in issued
    held.join(30)
    assert issued["aegi"] == "P001"
