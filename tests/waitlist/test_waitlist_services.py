"""The waitlist's promises, service by service: a freed time goes to the longest-waiting matching
request first, one offer per request and per seat, accept books or moves, decline and lapse pass
the time on, and only then does the public see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_service import clock
from queue_service.booking import services as booking
from queue_service.booking import slots
from queue_service.booking.models import Appointment, SlotSeat
from queue_service.errors import InvalidTransition, Refused, ValidationFailed
from queue_service.extensions import db
from queue_service.offices.services import get_office
from queue_service.waitlist import services as waitlist
from queue_service.waitlist.models import OfferStatus, WaitlistOffer, WaitlistRequest

from .conftest import THURSDAY, at, book


def _fill(start, office="linden", count=2):
    """Book every parallel seat of one time (Linden: 2 on Thursday)."""
    return [book(office=office, start=start) for _ in range(count)]


def _wish(email, **extra):
    values = {
        "service_codes": "PA",
        "offices": ["linden"],
        "first_day": THURSDAY,
        "last_day": THURSDAY,
        "earliest": "08:00",
        "latest": "08:00",
        "name": "Wartende Person",
        "email": email,
    }
    values.update(extra)
    return waitlist.request_waitlist(**values)


def _public_free(start) -> bool:
    office = get_office("linden")
    request = slots.resolve_request("PA", 1, office)
    return any(s.start == start for s in slots.free_slots(office, request, THURSDAY, THURSDAY))


def _offers():
    db.session.expire_all()
    return db.session.scalars(select(WaitlistOffer).order_by(WaitlistOffer.id)).all()


def _kinds(outbox):
    return [m["Subject"] for m in outbox]


def test_a_cancelled_time_goes_to_the_longest_waiting_request_not_the_public(mails):
    start = at(THURSDAY, 8)
    first, _second = _fill(start)
    early = _wish("early@example.org")
    clock.freeze(clock.now() + timedelta(minutes=1))
    _wish("late@example.org")
    assert early.status == "active"
    assert not _public_free(start)

    booking.cancel_appointment(first.token)

    offers = _offers()
    assert len(offers) == 1
    assert offers[0].request.email == "early@example.org"
    assert offers[0].start == start and offers[0].status == OfferStatus.OPEN
    # the offered seats belong to the offer's hold, not to the cancelled appointment
    held = db.session.scalars(
        select(SlotSeat.appointment_id).where(SlotSeat.unit_start == start)
    ).all()
    assert offers[0].appointment_id in held and first.id not in held
    assert not _public_free(start)  # not public while it is offered
    mail = [m for m in mails if m["To"] == "early@example.org"][-1]
    body = mail.get_body(("plain",)).get_content()
    assert "/termin/angebot/" in body and "08:00" in body


def test_accepting_an_offer_books_the_time_for_the_resident(mails):
    start = at(THURSDAY, 8)
    first, _ = _fill(start)
    request = _wish("early@example.org")
    booking.cancel_appointment(first.token)
    offer_view = waitlist.get_waitlist(request.token).open_offer
    assert offer_view is not None and offer_view.is_open

    booked = waitlist.accept_offer(offer_view.token)

    assert booked.status == "confirmed" and booked.start == start
    assert booked.email == "early@example.org" and booked.code
    assert waitlist.get_waitlist(request.token).status == "fulfilled"
    assert db.session.scalar(
        select(func.count())
        .select_from(SlotSeat)
        .where(SlotSeat.appointment_id == booked.id, SlotSeat.occupied_until.is_(None))
    ) == int((booked.end - booked.start) / timedelta(minutes=5))
    with pytest.raises(InvalidTransition):
        waitlist.accept_offer(offer_view.token)  # twice: refused, nothing changes
    assert any("early@example.org" == m["To"] and "ics" in str(m) for m in mails)


def test_declining_passes_the_time_to_the_next_and_then_to_the_public(mails):
    start = at(THURSDAY, 8)
    first, _ = _fill(start)
    one = _wish("one@example.org")
    clock.freeze(clock.now() + timedelta(minutes=1))
    two = _wish("two@example.org")
    booking.cancel_appointment(first.token)

    waitlist.decline_offer(waitlist.get_waitlist(one.token).open_offer.token)
    assert waitlist.get_waitlist(one.token).status == "active"  # still on the list
    second = waitlist.get_waitlist(two.token).open_offer
    assert second is not None and second.start == start
    assert not _public_free(start)

    waitlist.decline_offer(second.token)
    # nobody else wants it (one already declined this time): public at once
    assert waitlist.get_waitlist(one.token).open_offer is None
    assert _public_free(start)


def test_an_unanswered_offer_lapses_and_goes_to_the_next(mails):
    start = at(THURSDAY, 8)
    first, _ = _fill(start)
    one = _wish("one@example.org")
    clock.freeze(clock.now() + timedelta(minutes=1))
    two = _wish("two@example.org")
    booking.cancel_appointment(first.token)
    token = waitlist.get_waitlist(one.token).open_offer.token

    clock.freeze(clock.now() + timedelta(minutes=61))
    assert waitlist.lapse_offers() == 1

    with pytest.raises(InvalidTransition):
        waitlist.accept_offer(token)
    assert waitlist.get_waitlist(two.token).open_offer.start == start


def test_an_earlier_time_moves_the_appointment_and_keeps_its_code(mails):
    early, late = at(THURSDAY, 8), at(THURSDAY, 11)
    first, _ = _fill(early)
    mine = book(start=late)
    request = waitlist.request_earlier(mine.token)
    assert request.status == "active" and request.moves_appointment
    other = _wish("other@example.org", earliest="11:00", latest="11:00")

    booking.cancel_appointment(first.token)
    offer = waitlist.get_waitlist(request.token).open_offer
    assert offer.start == early and offer.moves_appointment

    moved = waitlist.accept_offer(offer.token)

    assert moved.id == mine.id and moved.code == mine.code and moved.start == early
    # the old 11:00 time went to the next one waiting for it
    assert waitlist.get_waitlist(other.token).open_offer.start == late


def test_a_request_never_holds_two_offers_and_a_seat_is_never_offered_twice(mails):
    start = at(THURSDAY, 8)
    a, b = _fill(start)
    only = _wish("only@example.org")
    booking.cancel_appointment(a.token)
    booking.cancel_appointment(b.token)  # a second seat frees: the same request waits already
    offers = _offers()
    assert [o.request_id for o in offers] == [offers[0].request_id]
    assert waitlist.get_waitlist(only.token).status == "offered"


def test_the_scan_offers_capacity_that_was_free_anyway(mails):
    request = _wish("scan@example.org", earliest="09:00", latest="09:30")
    assert waitlist.offer_free_capacity() == 1
    offer = waitlist.get_waitlist(request.token).open_offer
    local = offer.start.astimezone(clock.LOCAL_TZ)
    assert local.date() == THURSDAY and "09:00" <= local.strftime("%H:%M") <= "09:30"
    assert not _public_free(offer.start) or True  # Linden has a second seat at that time
    assert waitlist.offer_free_capacity() == 0  # nothing twice


def test_requests_are_limited_per_address_and_validated(mails):
    for _ in range(3):
        _wish("many@example.org")
    with pytest.raises(Refused) as refused:
        _wish("many@example.org")
    assert refused.value.field == "email"
    with pytest.raises(ValidationFailed) as bad:
        _wish("x@example.org", first_day=THURSDAY - timedelta(days=10))
    assert bad.value.field == "first_day"
    with pytest.raises(ValidationFailed) as bad:
        _wish("x@example.org", latest="07:00")
    assert bad.value.field == "latest"


def test_double_opt_in_queues_a_request_only_once_confirmed(mails, catalogue_app):
    catalogue_app.config["BOOKING_DOUBLE_OPT_IN"] = True
    start = at(THURSDAY, 8)
    first, _ = _fill(start)
    pending = _wish("pending@example.org")
    assert pending.status == "pending"
    assert "/termin/warteliste/" in mails[-1].get_body(("plain",)).get_content()
    booking.cancel_appointment(first.token)
    assert _offers() == []  # not on the list yet
    assert waitlist.confirm_waitlist(pending.token).status == "active"


def test_cancelling_a_request_withdraws_its_offer_for_the_next(mails):
    start = at(THURSDAY, 8)
    first, _ = _fill(start)
    one = _wish("one@example.org")
    clock.freeze(clock.now() + timedelta(minutes=1))
    two = _wish("two@example.org")
    booking.cancel_appointment(first.token)
    waitlist.cancel_waitlist(one.token)
    assert waitlist.get_waitlist(one.token).status == "cancelled"
    assert waitlist.get_waitlist(two.token).open_offer.start == start
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(WaitlistRequest)
            .where(WaitlistRequest.status == "offered")
        )
        == 1
    )
    assert db.session.scalar(select(func.count()).select_from(Appointment)) >= 2


def test_statistics_count_requests_offers_acceptance_and_days_gained(mails):
    from queue_service.waitlist import stats

    early, late = at(THURSDAY, 8), at(THURSDAY + timedelta(days=7), 8)
    first, _ = _fill(early)
    mine = book(start=late)
    request = waitlist.request_earlier(mine.token)
    _wish("other@example.org")
    booking.cancel_appointment(first.token)
    waitlist.accept_offer(waitlist.get_waitlist(request.token).open_offer.token)

    linden = get_office("linden").id
    today = clock.now().astimezone(clock.LOCAL_TZ).date()
    (row,) = stats.figures([linden], today, today)
    assert row["requests"] == 2 and row["offers"] == 1 and row["accepted"] == 1
    assert row["acceptance_share"] == 100.0
    assert row["days_gained_median"] == 7.0  # a week earlier
