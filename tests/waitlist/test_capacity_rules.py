"""The capacity rules a manager sets per office (docs/walk-in-forecast.md): a share of each
appointment window kept back from online booking for walk-ins, and online booking of a day
closing at a set time before it, its unbooked capacity going to the waitlist first and otherwise
to walk-ins. Bookings never exceed the online capacity, also under concurrent bookings (real
threads, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from sqlalchemy import func, select

from queue_service import clock
from queue_service.audit.models import AuditEntry
from queue_service.auth.services import create_user
from queue_service.booking import services as booking
from queue_service.booking import slots
from queue_service.booking.models import SlotSeat
from queue_service.db import unit_of_work
from queue_service.errors import Forbidden, SlotTaken, ValidationFailed
from queue_service.extensions import db
from queue_service.management.capacity_rules import set_capacity_rules
from queue_service.offices.services import get_office
from queue_service.waitlist import services as waitlist

from .conftest import THURSDAY, at, book
from .test_waitlist_concurrency import in_threads

BERLIN = clock.LOCAL_TZ
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=BERLIN)


def _rules(office: str = "linden", **values) -> None:
    with unit_of_work():
        row = get_office(office)
        for name, value in values.items():
            setattr(row, name, value)


@pytest.fixture
def rules(mails):
    """Linden with its rules reset afterwards (the catalogue app is shared by the module)."""
    yield _rules
    _rules(walkin_share_percent=0, online_closes_days_before=None, online_closes_at=None)


def _free_at(start, office="linden", **search) -> list[slots.Slot]:
    row = get_office(office)
    request = slots.resolve_request("PA", 1, row)
    free = slots.free_slots_many([row], request, THURSDAY, THURSDAY, **search)[row.id]
    return [s for s in free if s.start == start]


def _manager():
    from queue_service.auth.models import User

    found = db.session.scalar(select(User).where(User.username == "capacity-manager"))
    if found is None:
        found = create_user("capacity-manager", "manager", ["linden"])
    return found


def test_the_walkin_share_is_kept_back_from_online_booking(rules):
    start = at(THURSDAY, 8)  # Linden, Thursday: 2 parallel appointments
    assert [s.capacity for s in _free_at(start)] == [2]
    rules(walkin_share_percent=50)  # one of the two seats stays with walk-ins
    assert [s.capacity for s in _free_at(start)] == [1]
    book(start=start)
    assert _free_at(start) == []  # the walk-in seat is not offered online
    with pytest.raises(SlotTaken):
        book(start=start)
    rules(walkin_share_percent=0)
    assert [s.capacity for s in _free_at(start)] == [2]
    book(start=start)  # without the share the second seat is bookable again


def test_the_share_is_rounded_to_the_nearest_seat():
    assert [slots.held_back(2, p) for p in (0, 20, 25, 50, 74, 75, 90)] == [0, 0, 1, 1, 1, 2, 2]
    assert (
        slots.held_back(6, 30) == 2 and slots.held_back(6, 10) == 1 and slots.held_back(1, 49) == 0
    )


def test_online_booking_closes_the_day_before_and_the_waitlist_gets_the_time_first(rules):
    start = at(THURSDAY, 9)
    rules(online_closes_days_before=1, online_closes_at=time(12, 0))
    clock.freeze(datetime(2026, 11, 25, 11, 59, tzinfo=BERLIN))
    assert _free_at(start)  # still bookable online on Wednesday before noon
    clock.freeze(WEDNESDAY_NOON)
    assert _free_at(start) == []  # closed online
    assert _free_at(start, waitlist=True)  # ... but the waitlist is offered it
    with pytest.raises(SlotTaken):
        book(start=start)
    office = get_office("linden")
    request = slots.resolve_request("PA", 1, office)
    next_free = {s.start.astimezone(BERLIN).date() for s in slots.earliest_slots(request, [office])}
    assert THURSDAY not in next_free  # the next free appointment skips the closed day
    wish = waitlist.request_waitlist(
        service_codes="PA",
        offices=["linden"],
        first_day=THURSDAY,
        last_day=THURSDAY,
        earliest="09:00",
        latest="09:00",
        name="Wartende Person",
        email="released@example.org",
    )
    assert waitlist.offer_free_capacity() == 1
    offer = waitlist.get_waitlist(wish.token).open_offer
    assert offer.start == start
    booked = waitlist.accept_offer(offer.token)
    assert booked.status == "confirmed" and booked.start == start


def test_bookings_never_exceed_the_online_capacity_under_concurrent_bookings(rules, catalogue_app):
    catalogue_app.config["SQLITE_WRITER_LOCK"] = False  # the database alone must keep the cap
    start = at(THURSDAY, 10)
    rules(office="aegi", walkin_share_percent=50)  # Aegi, Thursday: 6 seats, 3 online
    try:

        def attempt(i: int) -> str:
            try:
                booking.book_appointment(
                    "aegi", "PA", 1, start, f"Person {i}", f"storm{i}@example.org"
                )
            except SlotTaken:
                return "taken"
            return "booked"

        results = in_threads(catalogue_app, 12, attempt)
        assert results.count("booked") == 3 and results.count("taken") == 9
        db.session.rollback()
        office = get_office("aegi")
        live = (SlotSeat.occupied_until.is_(None)) | (SlotSeat.occupied_until > clock.now())
        per_unit = db.session.execute(
            select(func.count())
            .select_from(SlotSeat)
            .where(SlotSeat.office_id == office.id, live)
            .group_by(SlotSeat.unit_start)
        ).all()
        assert max(c for (c,) in per_unit) == 3
    finally:
        rules(office="aegi", walkin_share_percent=0)


def test_a_manager_sets_the_rules_validated_and_audited(rules):
    manager = _manager()
    set_capacity_rules("linden", 30, 1, time(12, 0), actor=manager)
    office = get_office("linden")
    assert (office.walkin_share_percent, office.online_closes_days_before) == (30, 1)
    assert office.online_closes_at == time(12, 0)
    entry = db.session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "office.capacity_rules")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.office_id == office.id
    assert entry.details["after"] == {
        "walkin_share_percent": 30,
        "online_closes_days_before": 1,
        "online_closes_at": "12:00",
    }
    with pytest.raises(ValidationFailed) as too_much:
        set_capacity_rules("linden", 95, None, None, actor=manager)
    assert too_much.value.field == "walkin_share_percent"
    with pytest.raises(ValidationFailed) as half:
        set_capacity_rules("linden", 0, 1, None, actor=manager)
    assert half.value.field == "online_closes_days_before"
    with pytest.raises(Forbidden):
        set_capacity_rules("aegi", 10, None, None, actor=manager)  # not this manager's office
    assert get_office("linden").walkin_share_percent == 30  # refused changes change nothing
