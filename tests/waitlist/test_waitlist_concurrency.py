"""Fairness under concurrency, with real threads on SQLite and PostgreSQL: six appointments at one
time are cancelled at once, then offers are accepted and declined at once. The six oldest
requests get exactly one offer each, in queue order; declined seats go to the next oldest; no
seat is ever offered or booked twice, and no unit holds more than its capacity."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_service import clock
from queue_service.booking import services as booking
from queue_service.booking.models import Appointment, AppointmentStatus, SlotSeat
from queue_service.extensions import db
from queue_service.waitlist import services as waitlist
from queue_service.waitlist.models import OfferStatus, WaitlistOffer, WaitlistRequest

from .conftest import THURSDAY, at, book

pytestmark = pytest.mark.slow
CAPACITY = 6  # Aegi, Thursday: six parallel appointments


def in_threads(app, count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[i] = work(i)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def _open_offers() -> dict[int, WaitlistOffer]:
    db.session.rollback()  # end this thread's read snapshot (SQLite WAL) to see the others' work
    offers = db.session.scalars(
        select(WaitlistOffer).where(WaitlistOffer.status == OfferStatus.OPEN)
    ).all()
    return {o.request_id: o for o in offers}


def _max_per_unit() -> int:
    now = clock.now()
    live = (SlotSeat.occupied_until.is_(None)) | (SlotSeat.occupied_until > now)
    counts = db.session.execute(
        select(func.count()).select_from(SlotSeat).where(live).group_by(SlotSeat.unit_start)
    ).all()
    return max((c for (c,) in counts), default=0)


def test_concurrent_cancellations_and_answers_keep_the_queue_order(mails, catalogue_app):
    catalogue_app.config["SQLITE_WRITER_LOCK"] = False  # the database alone must keep order
    start = at(THURSDAY, 8)
    booked = [book(office="aegi", start=start) for _ in range(CAPACITY)]
    requests = []
    for i in range(CAPACITY + 2):
        clock.freeze(clock.now() + timedelta(seconds=1))
        requests.append(
            waitlist.request_waitlist(
                "PA",
                offices=["aegi"],
                first_day=THURSDAY,
                last_day=THURSDAY,
                earliest="08:00",
                latest="08:00",
                name=f"Person {i}",
                email=f"wait{i}@example.org",
            )
        )
    ids_in_order = [
        r.id
        for r in db.session.scalars(
            select(WaitlistRequest).order_by(WaitlistRequest.queued_at, WaitlistRequest.id)
        )
    ]

    in_threads(catalogue_app, CAPACITY, lambda i: booking.cancel_appointment(booked[i].token))

    offers = _open_offers()
    assert sorted(offers) == sorted(ids_in_order[:CAPACITY])  # the six oldest, one each
    holds = [o.appointment_id for o in offers.values()]
    assert len(set(holds)) == CAPACITY
    assert _max_per_unit() <= CAPACITY
    seat_owners = db.session.scalars(
        select(SlotSeat.appointment_id).where(SlotSeat.unit_start == start)
    ).all()
    assert sorted(seat_owners) == sorted(holds)  # every freed seat is in exactly one offer

    tokens = {
        rid: waitlist.get_waitlist(r.token).open_offer.token
        for rid, r in zip(ids_in_order, requests, strict=True)
        if rid in offers
    }
    accept, decline = ids_in_order[:3], ids_in_order[3:CAPACITY]

    def answer(i: int):
        rid = (accept + decline)[i]
        if rid in accept:
            return waitlist.accept_offer(tokens[rid])
        return waitlist.decline_offer(tokens[rid])

    in_threads(catalogue_app, CAPACITY, answer)

    offers = _open_offers()
    # the three declined seats: two to the two requests still waiting, one back to the public
    assert sorted(offers) == sorted(ids_in_order[CAPACITY:])
    confirmed = db.session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(Appointment.status == AppointmentStatus.CONFIRMED, Appointment.start == start)
    )
    assert confirmed == 3
    assert _max_per_unit() <= CAPACITY
    declined = db.session.scalars(
        select(WaitlistRequest.status).where(WaitlistRequest.id.in_(decline))
    ).all()
    assert set(declined) == {"active"}  # still waiting, never offered the same time again
