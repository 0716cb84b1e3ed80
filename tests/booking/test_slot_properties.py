"""Property tests of the slot engine against independent oracles.

1. On an empty calendar the engine offers exactly the grid of each appointment window of the
   day-by-day calendar (``offices.calendar.windows``), within lead time and release horizon,
   with the summed duration, and nothing on a Lower Saxony holiday or closure day.
2. Under any sequence of bookings, cancellations and elapsed time, a booking succeeds exactly
   when the engine offers the slot, and no 5-minute unit ever holds more appointments than its
   capacity (counted from the appointments themselves, not from the seat rows).
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from queue_service import clock
from queue_service.booking import services as booking
from queue_service.booking import slots
from queue_service.booking.models import Appointment, AppointmentStatus, SlotSeat
from queue_service.errors import SlotTaken
from queue_service.extensions import db
from queue_service.offices import calendar
from queue_service.offices.models import WindowKind
from queue_service.offices.services import get_office, office_services

from .conftest import BERLIN, MONDAY_9, THURSDAY, at, book, wipe_bookings

STATIONARY = [
    "aegi",
    "bemerode",
    "doehren",
    "herrenhausen",
    "linden",
    "podbi",
    "ricklingen",
    "sahlkamp",
    "schuetzenplatz",
]
NI = holidays.country_holidays("DE", subdiv="NI", years=range(2026, 2029), language="de")
FIVE = timedelta(minutes=5)

_windows_cache: dict = {}


def _day_windows(office, day):
    """calendar.windows, remembered per database (the catalogue does not change in this module)."""
    key = (str(db.engine.url), office.id, day)
    if key not in _windows_cache:
        _windows_cache[key] = calendar.windows(office, day, WindowKind.APPOINTMENT)
    return _windows_cache[key]


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30)).map(
    lambda naive: naive.replace(tzinfo=BERLIN)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slug=st.sampled_from(STATIONARY), moment=moments, data=st.data())
def test_on_an_empty_calendar_the_engine_offers_exactly_the_window_grid(
    catalogue_app, slug, moment, data
):
    clock.freeze(moment)
    office = get_office(slug)
    offered = sorted(s.code for s in office_services(office) if s.online_bookable)
    codes = data.draw(st.lists(st.sampled_from(offered), min_size=1, max_size=3, unique=True))
    persons = data.draw(st.integers(1, 5))
    req = slots.resolve_request(codes, persons, office)
    found = slots.free_slots(office, req)

    now = clock.now()
    local = now.astimezone(BERLIN)
    last_day = local.date() + timedelta(days=42 if local.time() >= time(8) else 41)
    minutes = sum(s.duration_for(persons) for s in req.services)
    duration = timedelta(minutes=5 * math.ceil(minutes / 5))
    expected = set()
    day = local.date()
    while day <= last_day:
        day_windows = _day_windows(office, day)
        if day in NI or (day.month, day.day) in {(12, 24), (12, 31)}:
            assert day_windows == []
        for window in day_windows:
            start = window.start
            while start + duration <= window.end:
                if start >= now + timedelta(minutes=60):
                    expected.add((start, start + duration))
                start += FIVE
        day += timedelta(days=1)
    got = {(s.start, s.end) for s in found}
    assert got == expected
    assert not any(s.start.astimezone(BERLIN).date() in NI for s in found)
    assert all(s.end - s.start == duration for s in found)


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("book"),
            st.sampled_from(["PA", "MB", "AN", "FZ", "PA,MB"]),
            st.integers(1, 3),
            st.integers(0, 11),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.sampled_from([10, 61])),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=operations)
def test_bookings_succeed_exactly_when_offered_and_never_exceed_capacity(catalogue_app, ops):
    wipe_bookings()
    clock.freeze(MONDAY_9)
    linden = get_office("linden")
    booked: list = []
    try:
        for op in ops:
            if op[0] == "wait":
                clock.advance(timedelta(minutes=op[1]))
                continue
            if op[0] == "cancel":
                if booked:
                    view = booked.pop(op[1] % len(booked))
                    booking.cancel_appointment(view.token)
                continue
            _, codes, persons, k = op
            req = slots.resolve_request(codes, persons, linden)
            start = at(THURSDAY, 8) + FIVE * k
            offered = start in {s.start for s in slots.free_slots(linden, req, THURSDAY, THURSDAY)}
            try:
                booked.append(book("linden", codes, start, persons))
                succeeded = True
            except SlotTaken:
                succeeded = False
            assert succeeded == offered, (codes, persons, start)
        _assert_within_capacity(linden.id, capacity=2)
    finally:
        wipe_bookings()


def _assert_within_capacity(office_id: int, capacity: int) -> None:
    now = clock.now()
    appointments = db.session.scalars(
        select(Appointment).where(
            Appointment.office_id == office_id, Appointment.status == AppointmentStatus.CONFIRMED
        )
    ).all()
    unit = at(THURSDAY, 8)
    while unit < at(THURSDAY, 13):
        overlapping = sum(1 for a in appointments if a.start <= unit < a.end)
        assert overlapping <= capacity, unit
        live = db.session.scalar(
            select(func.count())
            .select_from(SlotSeat)
            .where(
                SlotSeat.office_id == office_id,
                SlotSeat.unit_start == unit,
                (SlotSeat.occupied_until.is_(None)) | (SlotSeat.occupied_until > now),
            )
        )
        assert live <= capacity
        assert overlapping <= live  # every booked appointment holds its seat
        unit += FIVE
