"""The queue test fixtures (prepared catalogue and staff, one app per database), the statistics
tables emptied after each test, and a generated day of traffic."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import delete

from queue_service import clock
from queue_service.booking import services as booking
from queue_service.booking import slots
from queue_service.booking.models import Appointment, SlotSeat
from queue_service.errors import Refused
from queue_service.extensions import db
from queue_service.offices.services import get_office
from queue_service.scheduler.models import JobRun
from queue_service.stats import live
from queue_service.stats.models import RatedTicket, Rating, StatsRollup
from queue_service.tickets import services as queue

from ..tickets.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    _queue_apps,
    admin,
    aegi,
    app,
    catalogue,
    clerk,
    client,
    db_url,
    manager,
    other_clerk,
    pg_queue_database,
    pytest_generate_tests,
    sqlite_template,
    staff,
)

__all__ = ["PASSWORD", "staff"]
THURSDAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def _empty_stats_tables(request):
    uses_app = "app" in request.fixturenames
    if uses_app:
        request.getfixturevalue("app")  # set up first, so torn down after this
    yield
    if uses_app:
        db.session.rollback()
        for model in (RatedTicket, Rating, StatsRollup, JobRun, SlotSeat, Appointment):
            db.session.execute(delete(model))
        db.session.commit()
    live.clear_cache()


@dataclass
class Traffic:
    """What the generator did, for checks that do not read the statistics code."""

    day: date
    tokens: list[str] = field(default_factory=list)
    due: dict[str, datetime] = field(default_factory=dict)
    # bookings made by generate_bookings: (first service code, start, booked at, standing at its time)
    bookings: list[tuple[str, datetime, datetime, bool]] = field(default_factory=list)


def at(day: date, hhmm: str) -> datetime:
    return clock.local_to_utc(day, time.fromisoformat(hhmm))


def generate_day(
    office: str, clerk_user, day: date = THURSDAY, seed: int = 7, visitors: int = 40
) -> Traffic:
    """A day at ``office``: walk-ins and appointment check-ins from 08:00, two counters calling,
    serving, missing (after two recalls) and cancelling with the clock moving; the rest is
    closed as not served at 18:05."""
    rng = random.Random(seed)
    traffic = Traffic(day)
    clock.freeze(at(day, "08:00"))
    for number in (1, 2):
        queue.open_counter(office, number, actor=clerk_user)
    waiting: list[str] = []
    issued = 0
    while clock.now() < at(day, "17:30"):
        clock.advance(timedelta(minutes=rng.randint(1, 9), seconds=rng.randint(0, 59)))
        if issued < visitors and rng.random() < 0.65:
            if rng.random() < 0.3:
                due = clock.now() + timedelta(minutes=rng.randint(-12, 15))
                view = queue.issue_ticket(
                    office, rng.choice(["PA", "RP"]), kind="appointment", due_at=due
                )
                traffic.due[view["token"]] = due
            else:
                try:
                    view = queue.issue_ticket(office, rng.choice(["PA", "RP"]))
                except Refused:  # the lunch break between the walk-in windows
                    continue
            traffic.tokens.append(view["token"])
            waiting.append(view["token"])
            issued += 1
            continue
        if waiting and rng.random() < 0.1:  # someone gives up
            queue.cancel_ticket(waiting.pop(rng.randrange(len(waiting))))
            continue
        called = queue.call_next(office, rng.choice([1, 2]), actor=clerk_user)
        if called is None:
            continue
        waiting.remove(called["token"])
        clock.advance(timedelta(seconds=rng.randint(20, 120)))
        if rng.random() < 0.15:
            for _ in range(2):
                queue.recall_ticket(called["token"], actor=clerk_user)
            queue.mark_no_show(called["token"], actor=clerk_user)
            continue
        queue.start_serving(called["token"], actor=clerk_user)
        clock.advance(timedelta(minutes=rng.randint(3, 20), seconds=rng.randint(0, 59)))
        queue.finish_ticket(called["token"], actor=clerk_user)
    clock.freeze(at(day, "18:05"))
    queue.close_day(office)
    return traffic


def generate_bookings(office: str, traffic: Traffic, seed: int = 11, count: int = 24) -> Traffic:
    """Online bookings for ``traffic.day`` made 1 to 40 days ahead at random times of day; some
    are cancelled again (they must not count). Recorded in ``traffic.bookings`` from the clock."""
    rng = random.Random(seed)
    place = get_office(office)
    for i in range(count):
        clock.freeze(
            at(
                traffic.day - timedelta(days=rng.randint(1, 40)),
                f"{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}",
            )
        )
        codes = rng.choice([["PA"], ["RP"], ["PA", "RP"]])
        request = slots.resolve_request(codes, 1, place)
        free = slots.free_slots(place, request, traffic.day, traffic.day)
        if not free:
            continue
        start = rng.choice(free).start
        view = booking.book_appointment(
            office, codes, 1, start, "Erika Mustermann", f"lead{i}@example.org"
        )
        standing = rng.random() > 0.2
        if not standing:
            booking.cancel_appointment(view.token)
        traffic.bookings.append((codes[0], start, clock.now(), standing))
    return traffic
