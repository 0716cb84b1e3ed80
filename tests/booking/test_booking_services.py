"""Booking services: codes and tokens, capacity, holds, double opt-in, limits, cancel and move,
check-in hand-over and the scheduler's jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from queue_service import clock
from queue_service.booking import jobs as booking_jobs
from queue_service.booking import services as booking
from queue_service.booking import slots, tokens
from queue_service.booking.models import Appointment, AppointmentStatus
from queue_service.errors import InvalidTransition, NotFound, Refused, SlotTaken, ValidationFailed
from queue_service.extensions import db
from queue_service.offices.services import get_office

from ..support.sql import statements_sent
from .conftest import MONDAY_9, THURSDAY, at, book

EIGHT = at(THURSDAY, 8)


def _offered(start, codes="PA", office="linden") -> bool:
    req = slots.resolve_request(codes, 1, get_office(office))
    day = start.date()
    return start in {s.start for s in slots.free_slots(get_office(office), req, day, day)}


def _row(view) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, view.id)


def test_a_booking_has_a_readable_code_and_a_secret_manage_token(bookings):
    view = book(email="Erika@Example.org ")
    assert len(view.code) == 6 and set(view.code) <= set(tokens.CODE_ALPHABET)
    assert view.display_code == f"{view.code[:3]}-{view.code[3:]}"
    assert len(view.token) >= 43  # 256 bits, url-safe
    row = _row(view)
    assert row.email == "erika@example.org" and row.status == AppointmentStatus.CONFIRMED
    assert view.token not in (row.token_hash, row.token_salt)  # only a hash and a salt are stored
    assert booking.get_appointment(view.token).id == view.id
    with pytest.raises(NotFound):
        booking.get_appointment(view.token[:-2] + "xx")
    with pytest.raises(NotFound):
        booking.get_appointment(view.code)  # the short code never opens the manage functions
    assert [m["Subject"] for m in bookings] == [
        "Ihr Termin am Donnerstag, 26. November 2026, 08:00, Bürgeramt Linden"
    ]


def test_only_the_data_the_privacy_notice_names_is_stored(bookings):
    columns = {c.key for c in inspect(Appointment).columns}
    personal = {"name", "email", "phone"}
    assert personal <= columns
    assert not {c for c in columns if "ip" in c.split("_") or "address" in c or "agent" in c}


def test_a_full_slot_is_refused_and_a_cancelled_one_returns_only_after_the_delay(bookings):
    first, _second = book(start=EIGHT), book(start=EIGHT)  # Linden, Thursday: 2 in parallel
    assert not _offered(EIGHT)
    with pytest.raises(SlotTaken):
        book(start=EIGHT)
    booking.cancel_appointment(first.token)
    assert "abgesagt" in bookings[-1]["Subject"]
    clock.advance(timedelta(minutes=59))
    assert not _offered(EIGHT)
    with pytest.raises(SlotTaken):
        book(start=EIGHT)
    clock.advance(timedelta(minutes=1))  # RELEASE_DELAY_MINUTES = 60
    assert _offered(EIGHT)
    book(start=EIGHT)
    with pytest.raises(InvalidTransition):
        booking.cancel_appointment(first.token)  # cancelling twice


def test_an_overlapping_longer_appointment_needs_every_unit_free(bookings):
    book(start=at(THURSDAY, 8, 20))
    book(start=at(THURSDAY, 8, 20))  # 08:20-08:35 is full
    assert _offered(at(THURSDAY, 8, 5))  # 08:05-08:20 ends where the full block begins
    assert not _offered(at(THURSDAY, 8, 10))  # 08:10-08:25 would overlap it
    with pytest.raises(SlotTaken):
        book(start=at(THURSDAY, 8, 10))
    with pytest.raises(SlotTaken):
        book("linden", "MB", at(THURSDAY, 8, 30))  # a 5-minute service inside the full block


def test_holds_count_as_taken_and_expire_by_themselves(bookings):
    first = booking.hold_slot("linden", "PA", 1, EIGHT)
    booking.hold_slot("linden", "PA", 1, EIGHT)
    assert first.status == "held" and first.expires_at == MONDAY_9 + timedelta(minutes=10)
    assert not _offered(EIGHT)
    with pytest.raises(SlotTaken):
        booking.hold_slot("linden", "PA", 1, EIGHT)
    clock.advance(timedelta(minutes=10))  # no job runs: the holds are simply stale now
    assert _offered(EIGHT)
    taker = book(start=EIGHT)
    assert taker.status == "confirmed"
    # the first hold can still be completed if a seat is free (one is) ...
    completed = booking.complete_hold(first.token, "Hans Hold", "hans@example.org", None, "en")
    assert (completed.status, completed.name, completed.lang) == ("confirmed", "Hans Hold", "en")
    assert completed.start == EIGHT and completed.code
    # ... but not twice
    with pytest.raises(InvalidTransition):
        booking.complete_hold(first.token, "Hans Hold", "hans@example.org")


def test_an_expired_hold_whose_seat_was_taken_cannot_be_completed(bookings):
    stale = booking.hold_slot("linden", "PA", 1, EIGHT)
    book(start=EIGHT)
    clock.advance(timedelta(minutes=11))
    book(start=EIGHT)  # takes over the stale hold's seat
    with pytest.raises(SlotTaken):
        booking.complete_hold(stale.token, "Too Late", "late@example.org")
    assert _row(stale).status == AppointmentStatus.HELD and _row(stale).name is None


def test_double_opt_in_counts_a_booking_only_once_confirmed(bookings, catalogue_app):
    catalogue_app.config["BOOKING_DOUBLE_OPT_IN"] = True
    pending = book(start=EIGHT)
    assert pending.status == "pending" and pending.expires_at == MONDAY_9 + timedelta(minutes=30)
    assert bookings[-1]["Subject"].startswith("Bitte bestätigen Sie Ihren Termin")
    confirmed = booking.confirm_appointment(pending.token)
    assert confirmed.status == "confirmed" and confirmed.expires_at is None
    assert bookings[-1]["Subject"].startswith("Ihr Termin am")
    assert booking.confirm_appointment(pending.token).status == "confirmed"  # harmless twice
    lapsing = book(start=EIGHT)
    assert not _offered(EIGHT)
    clock.advance(timedelta(minutes=30))
    assert booking.get_appointment(lapsing.token).status == "expired"
    assert _offered(EIGHT)  # free again without any job
    with pytest.raises(InvalidTransition):
        booking.confirm_appointment(lapsing.token)


def test_an_email_address_holds_at_most_three_active_appointments(bookings):
    views = [book(start=at(THURSDAY, 8 + i), email="same@example.org") for i in range(3)]
    with pytest.raises(Refused) as refused:
        book(start=at(THURSDAY, 12), email="SAME@example.org")
    assert refused.value.field == "email"
    booking.cancel_appointment(views[0].token)
    book(start=at(THURSDAY, 12), email="same@example.org")


def test_moving_keeps_name_and_services_and_frees_the_old_time_only_after_the_delay(bookings):
    view = book(start=EIGHT, name="Erika Mustermann")
    book(start=EIGHT)
    moved = booking.reschedule_appointment(view.token, at(THURSDAY, 9))
    assert (moved.start, moved.name, moved.service_codes, moved.revision) == (
        at(THURSDAY, 9),
        "Erika Mustermann",
        ["PA"],
        1,
    )
    assert "verschoben" in bookings[-1]["Subject"]
    assert not _offered(EIGHT)  # the old time is not handed to a waiting buyer at once
    clock.advance(timedelta(minutes=60))
    assert _offered(EIGHT)
    book(start=at(THURSDAY, 9))  # 09:00 is now full (2 of 2)
    other = book(start=at(THURSDAY, 10))
    with pytest.raises(SlotTaken):
        booking.reschedule_appointment(other.token, at(THURSDAY, 9))
    assert booking.get_appointment(other.token).start == at(THURSDAY, 10)  # unchanged


def test_contact_details_are_checked_field_by_field(bookings):
    for kwargs, field in [
        ({"name": ""}, "name"),
        ({"name": "X"}, "name"),
        ({"name": "1234"}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"phone": "call me"}, "phone"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            book(**kwargs)
        assert caught.value.field == field, kwargs
    assert book(phone=" +49 511  168-32000 ").phone == "+49 511 168-32000"


def test_check_in_lookup_tells_early_due_and_late_and_checks_in_once(bookings):
    view = book(start=EIGHT)
    lookup = booking.find_appointment_for_check_in(
        "linden", view.code.lower()[:3] + " " + view.code[3:]
    )
    assert (lookup.appointment.id, lookup.timing) == (view.id, "early")
    assert (
        booking.find_appointment_for_check_in(
            "linden", view.code, now=EIGHT - timedelta(minutes=30)
        ).timing
        == "due"
    )
    assert booking.find_appointment_for_check_in(
        "linden", view.code, now=EIGHT + timedelta(minutes=15)
    ).is_due
    assert (
        booking.find_appointment_for_check_in(
            "linden", view.code, now=EIGHT + timedelta(minutes=16)
        ).timing
        == "late"
    )
    with pytest.raises(Refused) as elsewhere:
        booking.find_appointment_for_check_in("aegi", view.code)
    assert elsewhere.value.extra["office"] == "linden"
    with pytest.raises(NotFound):
        booking.find_appointment_for_check_in("linden", "AAAAAA")
    with pytest.raises(ValidationFailed):
        booking.find_appointment_for_check_in("linden", "12")
    assert booking.mark_checked_in(view.id, ticket_id=4711).status == "checked_in"
    with pytest.raises(InvalidTransition):
        booking.mark_checked_in(view.id, ticket_id=4712)
    with pytest.raises(InvalidTransition):
        booking.find_appointment_for_check_in("linden", view.code)
    assert _row(view).ticket_id == 4711


def test_no_show_only_after_the_check_in_window(bookings):
    view = book(start=EIGHT)
    clock.freeze(EIGHT + timedelta(minutes=15))
    with pytest.raises(InvalidTransition):
        booking.mark_no_show(view.id)
    clock.advance(timedelta(minutes=1))
    assert booking.mark_no_show(view.id).status == "no_show"


def test_jobs_expire_remind_mark_no_shows_and_anonymise(bookings):
    hold = booking.hold_slot("linden", "PA", 1, at(THURSDAY, 11))
    english = book(start=EIGHT, lang="en")
    cancelled = book(start=at(THURSDAY, 9))
    booking.cancel_appointment(cancelled.token)
    assert booking_jobs.expire_holds() == 0
    clock.advance(timedelta(minutes=10))
    assert booking_jobs.expire_holds() == 1 and booking_jobs.expire_holds() == 0
    assert _row(hold).status == AppointmentStatus.EXPIRED
    # reminders: the day before, once, in the booking's language
    bookings.clear()
    clock.freeze(at(THURSDAY.replace(day=25), 18))
    assert booking_jobs.send_reminders_for(THURSDAY) == 1
    assert booking_jobs.send_reminders_for(THURSDAY) == 0
    assert [m["Subject"] for m in bookings] == [
        "Reminder: your appointment on Thursday, 26 November 2026, 08:00 at Bürgeramt Linden"
    ]
    # no-shows once the check-in window closed
    clock.freeze(EIGHT + timedelta(minutes=16))
    assert booking_jobs.mark_overdue_no_shows() == 1
    assert _row(english).status == AppointmentStatus.NO_SHOW
    # personal data goes; office, services, time and outcome stay for statistics
    assert booking_jobs.anonymise_appointments_before(at(THURSDAY, 12)) == 2
    row = _row(english)
    assert (row.name, row.email, row.phone, row.code, row.token_hash) == (None,) * 5
    assert (row.service_codes, row.start, row.status) == (["PA"], EIGHT, AppointmentStatus.NO_SHOW)
    assert db.session.scalar(select(Appointment).where(Appointment.id == hold.id)) is None
    with pytest.raises(NotFound):
        booking.get_appointment(english.token)


def test_a_colliding_booking_code_is_replaced_by_the_database_check(bookings, monkeypatch):
    first = book(start=EIGHT)
    codes = iter([first.code, "XXXXXX"])
    monkeypatch.setattr(tokens, "new_code", lambda: next(codes))
    second = book(start=at(THURSDAY, 9))
    assert second.code == "XXXXXX" and _row(second).code == "XXXXXX"


def test_a_booking_reads_its_services_once_not_again_inside_its_transaction(bookings):
    with statements_sent() as sent:
        view = book(services="PA,MB", start=at(THURSDAY, 9))
    statements = [s for s in sent if "FROM services" in s]
    assert view.service_codes == ["PA", "MB"]
    assert len(statements) == 1  # resolving the request; the contended transaction reads none


def _until_commit(statements: list[str]) -> list[str]:
    """The statements of the first transaction that wrote seats, from its first seat on."""
    first = next(i for i, s in enumerate(statements) if "INSERT INTO slot_seats" in s)
    end = statements.index("COMMIT", first)
    return statements[first:end]


@pytest.mark.parametrize("services", ["MB", "PA"])  # one unit, three units
def test_a_booking_claims_its_seats_last_so_their_locks_end_with_the_commit(bookings, services):
    from sqlalchemy import event

    def committed(conn) -> None:
        sent.append("COMMIT")

    with statements_sent() as sent:
        event.listen(db.engine, "commit", committed)
        try:
            book(office="linden", services=services, start=at(THURSDAY, 8))
            held = booking.hold_slot("linden", services, 1, at(THURSDAY, 9))
            booking.complete_hold(held.token, "Max Mustermann", "max@example.org")
        finally:
            event.remove(db.engine, "commit", committed)
    seats = _until_commit(sent)
    # nothing between the first seat (its row lock) and the commit but the other seats (on
    # PostgreSQL the appointment and its mail are written in the seats' statement, ahead of them)
    assert seats and all("INSERT INTO slot_seats" in s for s in seats)
    completion = sent[sent.index("COMMIT", sent.index(seats[-1])) + 1 :]
    locked = _until_commit(
        [s.replace("UPDATE slot_seats", "INSERT INTO slot_seats", 1) for s in completion]
    )
    assert locked and all("slot_seats" in s for s in locked)  # the hold's seats, kept


def test_a_booking_of_a_full_time_is_refused_before_anything_is_written(bookings):
    start = at(THURSDAY, 8)
    with pytest.raises(SlotTaken):
        for _ in range(50):  # Linden's counters, one booking each
            book(office="linden", services="MB", start=start)
    with statements_sent() as sent, pytest.raises(SlotTaken):
        book(office="linden", services="MB", start=start)
    assert not [s for s in sent if s.startswith(("INSERT", "UPDATE", "DELETE"))]


def test_a_booking_claims_the_seats_of_all_its_units_in_one_statement(bookings):
    with statements_sent() as sent:
        view = book(office="linden", services="PA", start=at(THURSDAY, 8))  # three units
    claims = [s for s in sent if "INSERT INTO slot_seats" in s]
    assert len(claims) == 1 and view.status == "confirmed"
    assert _seats_of(view) == [(at(THURSDAY, 8, m), 0) for m in (0, 5, 10)]


def test_a_booking_reads_the_address_count_and_the_live_seats_in_one_statement(bookings):
    with statements_sent() as sent:
        book(office="linden", services="PA", start=at(THURSDAY, 8), email="one@example.org")
    reads = [s for s in sent if s.startswith("SELECT") and "slot_seats" in s]
    counts = [s for s in sent if s.startswith("SELECT") and "count(appointments.id)" in s]
    assert len(reads) == 1 and counts == reads  # (PostgreSQL's write counts again: its own test)


@pytest.mark.parametrize("minute", [0, 5, 10])  # the first, a middle and the last unit
def test_a_seat_taken_between_the_read_and_the_claim_costs_the_next_number(
    bookings, monkeypatch, minute
):
    from queue_service.booking import seats

    other = book(office="linden", services="MB", start=at(THURSDAY, 8, minute))  # seat 0 there
    stale = seats.read_live_seats

    def read_before_the_other_booking(session, wanted, **kwargs):
        live, value = stale(session, wanted, **kwargs)
        return {unit: numbers - {0} for unit, numbers in live.items()}, value

    monkeypatch.setattr(seats, "read_live_seats", read_before_the_other_booking)
    view = book(office="linden", services="PA", start=at(THURSDAY, 8))
    expected = [(at(THURSDAY, 8, m), 1 if m == minute else 0) for m in (0, 5, 10)]
    assert _seats_of(view) == expected
    assert _seats_of(other) == [(at(THURSDAY, 8, minute), 0)]


def _seats_of(view) -> list:
    from queue_service.booking.models import SlotSeat

    db.session.expire_all()
    rows = db.session.execute(
        select(SlotSeat.unit_start, SlotSeat.seat_no)
        .where(SlotSeat.appointment_id == view.id)
        .order_by(SlotSeat.unit_start)
    )
    return [(unit_start, seat_no) for unit_start, seat_no in rows]
