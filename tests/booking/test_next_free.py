"""The next free appointment per office: the slot engine's earliest slot, memoised, public."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from queue_service import clock
from queue_service.booking import next_free, slots
from queue_service.extensions import db
from queue_service.offices.services import get_office, list_offices

from .conftest import MONDAY_9, at, book, wipe_bookings


@pytest.fixture
def app_config():
    return {
        "MAIL_BACKEND": "memory",
        "MAIL_ASYNC": False,
        "STATUS_CACHE_SECONDS": 0,
        "NEXT_FREE_CACHE_SECONDS": 0,
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    next_free.clear_cache()
    yield
    next_free.clear_cache()


def test_the_next_free_appointment_is_the_earliest_slot_of_any_service(app, catalogue):
    clock.freeze(MONDAY_9)
    linden = get_office("linden")
    found = next_free.next_free_appointments([linden])[linden.id]
    # independently: the engine's earliest slot for each service Linden offers online
    expected = {}
    for offer in linden.services:
        if offer.service.online_bookable:
            request = slots.resolve_request([offer.service.code], 1)
            first = slots.earliest_slots(request, [linden])
            if first:
                expected[offer.service.code] = first[0].start
    assert expected and found["services"] == expected
    assert found["start"] == min(expected.values())


def test_booking_the_earliest_slot_moves_the_next_free_appointment(app, catalogue):
    clock.freeze(MONDAY_9)
    linden = get_office("linden")
    before = next_free.next_free_appointments([linden])[linden.id]
    request = slots.resolve_request(["PA"], 1)
    first = before["services"]["PA"]
    # fill every parallel seat of the first PA slot
    capacity = slots.check_slot(linden, request, first).capacity
    for _ in range(capacity):
        book(office="linden", services="PA", start=first)
    after = next_free.next_free_appointments([linden])[linden.id]
    assert after["services"]["PA"] > first
    wipe_bookings()


def test_the_answer_is_memoised_per_office_for_a_short_time(app, catalogue):
    app.config["NEXT_FREE_CACHE_SECONDS"] = 60
    clock.freeze(MONDAY_9)
    linden = get_office("linden")
    first = next_free.next_free_appointments([linden])[linden.id]["services"]["PA"]
    capacity = slots.check_slot(linden, slots.resolve_request(["PA"], 1), first).capacity
    for _ in range(capacity):
        book(office="linden", services="PA", start=first)
    assert (
        next_free.next_free_appointments([linden])[linden.id]["services"]["PA"] == first
    )  # memoised
    next_free.clear_cache()
    assert next_free.next_free_appointments([linden])[linden.id]["services"]["PA"] > first
    wipe_bookings()


def test_under_a_compressed_clock_the_memo_lasts_its_seconds_of_real_time(
    app, catalogue, monkeypatch
):
    app.config["NEXT_FREE_CACHE_SECONDS"] = 60
    clock.freeze(MONDAY_9)
    linden = get_office("linden")
    first = next_free.next_free_appointments([linden])[linden.id]["start"]
    calls = []
    monkeypatch.setattr(next_free, "_compute", lambda offices, now: calls.append(now) or {})
    clock.advance(timedelta(minutes=10))  # at 1x: ten minutes of application time are stale
    next_free.next_free_appointments([linden])
    assert len(calls) == 1
    next_free.clear_cache()
    monkeypatch.undo()
    app.config["NEXT_FREE_CACHE_SECONDS"] = 60
    clock.freeze(MONDAY_9)
    assert next_free.next_free_appointments([linden])[linden.id]["start"] == first
    monkeypatch.setattr(next_free.clock, "speed", lambda: 480.0)
    monkeypatch.setattr(next_free, "_compute", lambda offices, now: calls.append(now) or {})
    clock.advance(timedelta(minutes=10))  # 1.25 s of real time at 480x: still memoised
    assert next_free.next_free_appointments([linden])[linden.id]["start"] == first
    assert len(calls) == 1
    clock.freeze(first + timedelta(minutes=1))  # its time has passed: computed again
    next_free.next_free_appointments([linden])
    assert len(calls) == 2


def test_requests_asking_at_once_share_one_computation_per_office(app, catalogue, monkeypatch):
    """Every walk-in refused at a served-out office asks at once: one computes, the rest wait
    for its answer instead of running the same slot searches again."""
    app.config["NEXT_FREE_CACHE_SECONDS"] = 60
    clock.freeze(MONDAY_9)
    computed, original, release = [], next_free._compute, threading.Event()

    def slow(offices, now):
        computed.append([o.slug for o in offices])
        release.wait(10)
        return original(offices, now)

    monkeypatch.setattr(next_free, "_compute", slow)
    answers = []

    def ask() -> None:
        with app.app_context():
            linden = get_office("linden")
            answers.append(next_free.next_free_appointments([linden])[linden.id])
            db.session.remove()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while not computed and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the others arrive while the first computes
    release.set()
    for thread in threads:
        thread.join(20)
    assert computed == [["linden"]]
    assert len(answers) == 4 and all(answer == answers[0] for answer in answers)
    assert answers[0]["services"]["PA"] is not None
    assert not next_free._computing


def test_the_public_status_shows_the_next_free_appointment_without_personal_data(
    app, catalogue, client
):
    clock.freeze(MONDAY_9)
    linden = get_office("linden")
    booked = book(
        office="linden",
        services="PA",
        start=at(MONDAY_9.date() + timedelta(days=3), 8),
        name="Erika Mustermann",
        email="erika@example.org",
        phone="0511 123456",
    )
    expected = next_free.next_free_appointments([linden])[linden.id]
    city = client.get("/api/v1/status")
    assert city.status_code == 200 and city.headers["ETag"]
    row = next(o for o in city.get_json()["offices"] if o["office"]["slug"] == "linden")
    local = expected["start"].astimezone(clock.LOCAL_TZ).isoformat(timespec="seconds")
    assert row["next_free_appointment"] == local
    pa = next(s for s in row["services"] if s["code"] == "PA")
    assert pa["next_free_appointment"] == expected["services"]["PA"].astimezone(
        clock.LOCAL_TZ
    ).isoformat(timespec="seconds")
    one = client.get("/api/v1/offices/linden/status").get_json()
    assert one["next_free_appointment"] == local
    for text in (
        city.get_data(as_text=True),
        client.get("/api/v1/offices/linden/status").get_data(as_text=True),
    ):
        for secret in ("Erika", "erika@example.org", "123456", booked.code or "no-code"):
            assert secret not in text
    # every active office carries the field (the mobile office may have none: null)
    assert len(city.get_json()["offices"]) == len(list_offices())
    assert all("next_free_appointment" in o for o in city.get_json()["offices"])
    wipe_bookings()
