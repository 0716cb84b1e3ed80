"""What a search and a booking cost in Python: the search's seat count and the booking's read of
its live seats with the address's count are statements built once, and they answer what the
queries they replaced answered (counted here row by row)."""

from __future__ import annotations

import cProfile
import pstats
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.booking import payloads, seats, slots
from queue_service.booking import services as booking
from queue_service.booking import settings as booking_settings
from queue_service.booking.models import Appointment, SlotSeat
from queue_service.errors import Refused, SlotTaken
from queue_service.extensions import db
from queue_service.notify.models import OutboxMail, OutboxStatus
from queue_service.offices.services import get_office

from ..support.sql import statements_sent
from .conftest import MONDAY_9, THURSDAY, at, book

LO, HI = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
# both DST switches of 2026 in UTC: 29 March 01:00, 25 October 01:00
DST_UNITS = [
    datetime(2026, 3, 29, 0, 55, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 55, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
]


def _python_calls(function) -> tuple[int, object]:
    profile = cProfile.Profile()
    profile.enable()
    try:
        result = function()
    finally:
        profile.disable()
    return pstats.Stats(profile).total_calls, result  # type: ignore[attr-defined]


def _live_rows(now: datetime) -> list[SlotSeat]:
    db.session.expire_all()
    return [
        seat
        for seat in db.session.scalars(select(SlotSeat))
        if seat.occupied_until is None or seat.occupied_until > now
    ]


def _counted(at_least: dict[int, int], now: datetime) -> dict[int, slots.FullUnits]:
    """``slots._occupied``'s answer, counted seat by seat in Python (with the earliest moment a
    seat of the units it returns becomes free)."""
    live = [
        seat
        for seat in _live_rows(now)
        if seat.office_id in at_least and LO <= seat.unit_start < HI
    ]
    per_unit = Counter((seat.office_id, seat.unit_start) for seat in live)
    result = {office_id: slots.FullUnits([], []) for office_id in at_least}
    for (office_id, unit), n in sorted(per_unit.items()):
        if n >= at_least[office_id]:
            result[office_id].starts.append(int(unit.timestamp()))
            result[office_id].seats.append(n)
    for office_id, full in result.items():
        frees = [
            seat.occupied_until
            for seat in live
            if seat.office_id == office_id
            and int(seat.unit_start.timestamp()) in full.starts
            and seat.occupied_until is not None
        ]
        result[office_id] = slots.FullUnits(full.starts, full.seats, min(frees, default=None))
    return result


@pytest.fixture
def seated(bookings):
    """Seats at Linden and Aegi: bookings, a hold that runs out at 09:10, and one booking's
    seats on both DST switches, one of them free again already."""
    linden, aegi = get_office("linden"), get_office("aegi")
    first = book(office="linden", services="PA", start=at(THURSDAY, 8))
    book(office="linden", services="MB", start=at(THURSDAY, 8, 5))
    book(office="aegi", services="PA", start=at(THURSDAY, 9))
    booking.hold_slot("aegi", "MB", 1, at(THURSDAY, 9, 5))
    for n, unit in enumerate(DST_UNITS):
        for seat_no in range(n % 2 + 1):
            db.session.add(
                SlotSeat(
                    office_id=linden.id,
                    unit_start=unit,
                    seat_no=seat_no,
                    appointment_id=first.id,
                    occupied_until=MONDAY_9 - timedelta(hours=1) if n == 3 else None,
                )
            )
    db.session.commit()
    return linden.id, aegi.id


def test_the_search_counts_the_live_seats_of_each_unit_as_before(seated):
    linden, aegi = seated
    after_hold = MONDAY_9 + booking_settings.current().hold + timedelta(minutes=1)
    for now in (MONDAY_9, after_hold):
        for at_least in (
            {linden: 1},
            {linden: 2},
            {aegi: 1},
            {linden: 1, aegi: 1},
            {aegi: 1, linden: 2},
        ):
            assert slots._occupied(at_least, LO, HI, now) == _counted(at_least, now)
    assert _counted({aegi: 1}, MONDAY_9) != _counted({aegi: 1}, after_hold)  # the hold ran out
    assert _counted({aegi: 1}, MONDAY_9)[aegi].frees == MONDAY_9 + booking_settings.current().hold


def test_the_address_count_read_with_the_seats_is_the_count_of_the_address(bookings, catalogue_app):
    email = "count@example.org"
    book(office="aegi", services="PA", start=at(THURSDAY, 8), email=email)
    cancelled = book(office="aegi", services="MB", start=at(THURSDAY, 10), email=email)
    booking.cancel_appointment(cancelled.token)
    catalogue_app.config["BOOKING_DOUBLE_OPT_IN"] = True
    book(office="aegi", services="PA", start=at(THURSDAY, 11), email=email)  # pending
    aegi = get_office("aegi")
    s = booking_settings.current()
    for now in (MONDAY_9, MONDAY_9 + s.confirm + timedelta(minutes=1), at(THURSDAY, 9)):
        for start in (at(THURSDAY, 8), at(THURSDAY, 8, 5), at(THURSDAY, 11), at(THURSDAY, 12)):
            for units in (1, 3):
                wanted = seats.SeatRequest(aegi.id, start, units, s.unit, 6, now)
                live, active = seats.read_live_seats(
                    db.session, wanted, along=booking._active_count_along(email, now)
                )
                assert active == db.session.scalar(booking._active_count(email, now))
                assert live == seats.read_live_seats(db.session, wanted)[0]
                expected = {u: set() for u in wanted.unit_starts}
                for seat in _live_rows(now):
                    if seat.office_id == aegi.id and seat.unit_start in expected:
                        expected[seat.unit_start].add(seat.seat_no)
                assert live == expected
        db.session.rollback()


def test_a_search_counts_its_seats_without_building_a_query(seated):
    """The seat count was a select built per search: ~1,000 Python calls to build and execute
    it (SQLite 998, PostgreSQL 1,024), as text built once 182 and 275."""
    linden, aegi = seated
    slots._occupied({linden: 1, aegi: 1}, LO, HI, MONDAY_9)  # built once per number of offices
    calls, _ = _python_calls(lambda: slots._occupied({linden: 1, aegi: 2}, LO, HI, MONDAY_9))
    assert calls < 450


def test_a_booking_reads_its_seats_and_the_address_count_without_building_a_query(bookings):
    """The booking's read was a select built per booking: 1,215 Python calls to build and
    execute it on SQLite (PostgreSQL 1,300), as text built once 222 and 311."""
    aegi = get_office("aegi")
    s = booking_settings.current()
    wanted = seats.SeatRequest(aegi.id, at(THURSDAY, 8), 3, s.unit, 6, clock.now())

    def read():
        along = booking._active_count_along("calls@example.org", clock.now())
        return seats.read_live_seats(db.session, wanted, along=along)

    read()
    calls, (live, active) = _python_calls(read)  # type: ignore[misc]
    assert active == 0 and live == {u: set() for u in wanted.unit_starts}
    assert calls < 500


def test_a_six_week_search_works_out_each_day_and_capacity_once(seated):
    """Per window, the search asked whether its day had closed for online booking and what its
    online capacity was, and read the unit and grid again: 1,476 Python calls for Aegi's six
    weeks on SQLite (PostgreSQL 1,569), now 1,108 and 1,201 (once per day and capacity)."""
    office = get_office("aegi")
    request = slots.resolve_request("PA", 1, office)
    slots.free_runs(office, request)  # the catalogue kept, the statement built
    calls, runs = _python_calls(lambda: slots.free_runs(office, request))
    assert len(runs) == 31  # type: ignore[arg-type]
    assert calls < 1300


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith(("INSERT", "WITH", "UPDATE", "DELETE"))]


def test_a_booking_writes_its_appointment_mail_and_seats_in_one_statement_on_postgresql(
    bookings, catalogue_app
):
    """A booking wrote its appointment, its mail's outbox row and its seats in three statements
    (two ORM flushes, then the seats); on PostgreSQL they are one round trip now (the
    appointment and the row as data-modifying CTEs ahead of the seats), on SQLite three plain
    INSERTs. Either way all three are there, and nothing is written after the seats."""
    catalogue_app.config["MAIL_SENT_BY"] = "scheduler"  # the row stays as written
    with statements_sent() as sent:
        view = book(office="linden", services="PA", start=at(THURSDAY, 8))
    writes = _writes(sent)
    postgresql = db.engine.dialect.name == "postgresql"
    assert len(writes) == (1 if postgresql else 3)
    assert "INSERT INTO slot_seats" in writes[-1]
    db.session.expire_all()
    assert db.session.get(Appointment, view.id) is not None
    rows = [
        r for r in db.session.scalars(select(OutboxMail)) if r.draft and view.public_id in r.draft
    ]
    assert [(r.kind, r.status, r.attempts, r.claimed_until) for r in rows] == [
        ("booked", OutboxStatus.PENDING, 0, None)
    ]
    seat_rows = db.session.scalars(select(SlotSeat).where(SlotSeat.appointment_id == view.id))
    assert sorted(s.unit_start for s in seat_rows) == [at(THURSDAY, 8, m) for m in (0, 5, 10)]


@pytest.mark.parametrize("double_opt_in", [False, True])
def test_a_booking_answers_with_the_view_of_the_appointment_it_stored(
    bookings, catalogue_app, double_opt_in
):
    """The view is built from the values inserted (no ORM object, no reload): it equals the
    view of the stored row, and its mail (sent after the commit by the committer) is the
    booking's."""
    catalogue_app.config["BOOKING_DOUBLE_OPT_IN"] = double_opt_in
    view = book(
        office="aegi", services="PA,MB", start=at(THURSDAY, 9), phone="0511 168-0", lang="en"
    )
    db.session.expire_all()
    stored = db.session.get_one(Appointment, view.id)
    assert view == payloads.build(stored, view.office, view.services, clock.now())
    assert view.status == ("pending" if double_opt_in else "confirmed")
    assert (stored.service_codes, stored.phone, stored.lang) == (["PA", "MB"], "0511 168-0", "en")
    (message,) = bookings
    assert message["To"] == view.email
    assert view.token in message.get_body(("plain",)).get_content()
    row = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(1)).one()
    kind = "confirm_request" if double_opt_in else "booked"
    assert (row.kind, row.status, row.draft, row.message) == (kind, OutboxStatus.SENT, None, None)


def test_a_booking_writes_its_rows_without_the_orm(bookings, catalogue_app):
    """The appointment and its outbox row were ORM objects flushed inside the transaction:
    book_appointment took 3,042 Python calls on SQLite (PostgreSQL 3,459), with plain INSERTs
    built once 2,083 (PostgreSQL: one statement with the seats) 2,151."""
    catalogue_app.config["MAIL_SENT_BY"] = "scheduler"  # the mail is the scheduler's work
    book(office="aegi", services="PA", start=at(THURSDAY, 8))  # statements built
    calls, view = _python_calls(lambda: book(office="aegi", services="PA", start=at(THURSDAY, 9)))
    assert view.status == "confirmed"  # type: ignore[attr-defined]
    assert calls < 2600


def test_a_booking_on_postgresql_takes_the_address_lock_in_its_read(bookings, catalogue_app):
    """The address's advisory lock was a statement of its own before the read: a refused
    attempt on a full time sent two statements (the lock, the read), a booking five (then the
    appointment, its mail and its seats, since one). The read takes the lock now: one and two
    on PostgreSQL; SQLite (no lock: one writer at a time) one and four."""
    catalogue_app.config["MAIL_SENT_BY"] = "scheduler"
    start = at(THURSDAY, 8)
    postgresql = db.engine.dialect.name == "postgresql"
    book(office="linden", services="PA", start=at(THURSDAY, 12))  # the catalogue kept
    with statements_sent() as sent:
        book(office="linden", services="PA", start=start)
    own = _own(sent)
    assert len(own) == (2 if postgresql else 4)
    assert ("pg_advisory_xact_lock" in own[0]) == postgresql and "slot_seats" in own[0]
    book(office="linden", services="PA", start=start)  # Linden: two at a time
    with statements_sent() as sent, pytest.raises(SlotTaken):
        book(office="linden", services="PA", start=start)
    assert len(_own(sent)) == 1


def _own(statements: list[str]) -> list[str]:
    """A booking's own statements: not the catalogue's revision, not BEGIN."""
    return [s for s in statements if not s.startswith("BEGIN") and "catalogue_revisions" not in s]


def test_two_bookings_of_one_address_at_its_limit_never_both_succeed(
    bookings, catalogue_app, monkeypatch
):
    """The address's third booking is paused before its commit while a fourth one of the same
    address starts (on PostgreSQL its read waits for the address's lock; on SQLite for the
    writer): once the third commits, the fourth is refused, though its read's count may
    predate the third's commit (PostgreSQL takes the read's snapshot before the lock)."""
    import threading

    from queue_service.notify import outbox

    email = "limit@example.org"
    book(start=at(THURSDAY, 8), email=email)
    book(start=at(THURSDAY, 9), email=email)
    written, go_on = threading.Event(), threading.Event()
    real_written = outbox.written

    def pause_the_third(*args, **kwargs):
        real_written(*args, **kwargs)
        if threading.current_thread().name == "third":
            written.set()
            assert go_on.wait(20)

    monkeypatch.setattr(outbox, "written", pause_the_third)
    outcomes: dict[str, object] = {}

    def attempt(hour: int) -> None:
        with catalogue_app.app_context():
            try:
                outcomes[threading.current_thread().name] = book(
                    start=at(THURSDAY, hour), email=email
                )
            except Exception as exc:  # the outcome is the test's
                outcomes[threading.current_thread().name] = exc
            finally:
                db.session.remove()

    third = threading.Thread(target=attempt, args=(10,), name="third")
    fourth = threading.Thread(target=attempt, args=(11,), name="fourth")
    third.start()
    assert written.wait(20)
    fourth.start()
    _wait_until_blocked(fourth, outcomes)
    go_on.set()
    third.join(20)
    fourth.join(20)
    assert getattr(outcomes["third"], "email", None) == email
    assert isinstance(outcomes["fourth"], Refused) and outcomes["fourth"].field == "email"
    db.session.expire_all()
    active = db.session.scalars(select(Appointment).where(Appointment.email == email)).all()
    assert len(active) == 3


def _wait_until_blocked(thread, outcomes) -> None:
    """Until the thread's booking waits for the address's lock (PostgreSQL) or, on SQLite, a
    moment (it waits for the one writer)."""
    import time

    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 20
    with db.engine.connect() as conn:
        while time.monotonic() < deadline and thread.is_alive():
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event = 'advisory' AND query LIKE '%pg_advisory_xact_lock%'"
                )
            ).scalar()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError(f"the fourth booking never waited for the address's lock: {outcomes}")
