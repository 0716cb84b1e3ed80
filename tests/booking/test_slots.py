"""The slot engine: windows, holidays, DST, the booking horizon and the release at 08:00."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from queue_service import clock
from queue_service.booking import availability, slots
from queue_service.extensions import db
from queue_service.offices import calendar
from queue_service.offices.models import Office, WindowKind
from queue_service.offices.services import cached_office

from ..support.sql import statements_sent
from .conftest import BERLIN, THURSDAY, at, book


def _office(slug: str) -> Office:
    return db.session.scalar(select(Office).where(Office.slug == slug))


def _request(codes="PA", persons=1, office=None):
    return slots.resolve_request(codes, persons, office)


def test_dst_mondays_start_at_eight_local_which_is_six_or_seven_utc(catalogue_app):
    clock.freeze(datetime(2026, 3, 20, 9, 0, tzinfo=BERLIN))
    aegi = _office("aegi")
    req = _request()
    before = slots.free_slots(aegi, req, date(2026, 3, 23), date(2026, 3, 23))
    after = slots.free_slots(aegi, req, date(2026, 3, 30), date(2026, 3, 30))
    assert before[0].start == datetime(2026, 3, 23, 7, 0, tzinfo=UTC)  # CET, +01:00
    assert after[0].start == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # CEST, +02:00
    # the last 15-minute slot still ends at 13:00 local on both days
    assert after[-1].end.astimezone(BERLIN).time().isoformat() == "13:00:00"
    assert len(before) == len(after)
    clock.freeze(datetime(2026, 10, 16, 9, 0, tzinfo=BERLIN))
    before = slots.free_slots(aegi, req, date(2026, 10, 19), date(2026, 10, 19))
    after = slots.free_slots(aegi, req, date(2026, 10, 26), date(2026, 10, 26))
    assert before[0].start == datetime(2026, 10, 19, 6, 0, tzinfo=UTC)  # CEST
    assert after[0].start == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # CET again
    # the change days are Sundays: no slots at all
    assert slots.free_slots(aegi, req, date(2026, 10, 25), date(2026, 10, 25)) == []


def test_no_slots_on_reformation_day_or_recurring_closures(catalogue_app):
    clock.freeze(datetime(2026, 10, 20, 9, 0, tzinfo=BERLIN))
    linden = _office("linden")
    days = {s.start.astimezone(BERLIN).date() for s in slots.free_slots(linden, _request())}
    assert date(2026, 10, 30) in days  # Friday before
    assert date(2026, 10, 31) not in days  # Reformationstag (a Saturday in 2026, but still)
    clock.freeze(datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN))
    days = {s.start.astimezone(BERLIN).date() for s in slots.free_slots(linden, _request())}
    assert date(2026, 12, 23) in days
    assert not days & {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31), date(2027, 1, 1)}
    clock.freeze(datetime(2027, 3, 20, 9, 0, tzinfo=BERLIN))
    days = {s.start.astimezone(BERLIN).date() for s in slots.free_slots(linden, _request())}
    assert (
        date(2027, 3, 26) not in days and date(2027, 3, 29) not in days
    )  # Good Friday, Easter Monday
    assert date(2027, 3, 25) in days


def test_the_last_bookable_day_moves_at_eight_not_at_midnight(catalogue_app):
    aegi = _office("aegi")
    req = _request()
    # Tuesday 24 Nov 2026: +41 days is Monday 4 Jan 2027, +42 is Tuesday 5 Jan
    clock.freeze(datetime(2026, 11, 24, 7, 59, tzinfo=BERLIN))
    assert slots.horizon().last_day == date(2027, 1, 4)
    assert slots.free_slots(aegi, req)[-1].start.astimezone(BERLIN).date() == date(2027, 1, 4)
    clock.freeze(datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN))
    assert slots.free_slots(aegi, req)[-1].start.astimezone(BERLIN).date() == date(2027, 1, 5)
    # just after midnight nothing new: still the day released at 08:00 yesterday
    clock.freeze(datetime(2026, 11, 25, 0, 1, tzinfo=BERLIN))
    assert slots.horizon().last_day == date(2027, 1, 5)


def test_lead_time_hides_slots_that_start_too_soon(catalogue_app, monday_morning):
    aegi = _office("aegi")
    first = slots.free_slots(aegi, _request())[0]
    assert first.start == monday_morning + timedelta(hours=1)  # BOOKING_MIN_LEAD_MINUTES = 60


def test_durations_of_several_services_and_persons_add_up(catalogue_app, monday_morning):
    linden = _office("linden")
    # PA 15 + 10 per extra person, AN 10 + 5 per extra person: 2 persons = 25 + 15 = 40 minutes
    req = _request("PA,AN", 2, linden)
    assert (req.minutes, req.units) == (40, 8)
    found = slots.free_slots(linden, req, THURSDAY, THURSDAY)
    assert all(s.end - s.start == timedelta(minutes=40) for s in found)
    # FZ takes 8 minutes: rounded up to two 5-minute units
    assert _request("FZ").units == 2
    # the morning window 08:00-13:00: the last 40-minute slot starts 12:20 and ends at 13:00
    morning = [s for s in found if s.start.astimezone(BERLIN).hour < 13]
    assert (morning[-1].start, morning[-1].end) == (at(THURSDAY, 12, 20), at(THURSDAY, 13))


def test_requests_are_validated_with_the_field_at_fault(catalogue_app):
    import pytest

    from queue_service.errors import ValidationFailed

    for codes, persons, field in [
        ("", 1, "services"),
        ("XX", 1, "services"),
        ("FUN", 1, "services"),
        ("PA", 0, "persons"),
        ("PA", 9, "persons"),
        ("PA", "two", "persons"),
        ("PA,RP,VD,AB,MB", 1, "services"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            slots.resolve_request(codes, persons)
        assert caught.value.field == field, (codes, persons)
    with pytest.raises(ValidationFailed) as caught:
        slots.resolve_request("BPA", 1, _office("linden"))  # only Aegi issues parking permits
    assert caught.value.field == "services"


def test_capacity_counts_only_counters_able_to_serve_the_services(catalogue_app, monday_morning):
    aegi = _office("aegi")
    # Aegi: 14 counters, 13 and 14 serve only quick matters; Monday window capacity is 10
    assert availability.able_counters([aegi.id], [_request("PA").services[0].id])[aegi.id] == 12
    assert availability.able_counters([aegi.id], [_request("MB").services[0].id])[aegi.id] == 14
    monday = date(2026, 11, 30)
    slot = slots.free_slots(aegi, _request("PA"), monday, monday)[0]
    assert slot.capacity == 10
    # Linden's Thursday windows are configured with 2 parallel appointments
    assert slots.free_slots(_office("linden"), _request(), THURSDAY, THURSDAY)[0].capacity == 2


def test_mobile_office_offers_only_its_dates_and_their_services(catalogue_app):
    clock.freeze(datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN))
    mobil = _office("mobil")
    found = slots.free_slots(mobil, _request("PA", 1, mobil))
    assert {s.start.astimezone(BERLIN).date() for s in found} == {
        date(2026, 12, 3),
        date(2026, 12, 10),
    }
    assert found[0].start == at(date(2026, 12, 3), 10) and found[0].capacity == 1
    # RP is offered on 3 December only (the 10 December date does not list it)
    rp_days = {
        s.start.astimezone(BERLIN).date() for s in slots.free_slots(mobil, _request("RP", 1, mobil))
    }
    assert rp_days == {date(2026, 12, 3)}


def test_bulk_windows_agree_with_the_calendar_day_by_day(catalogue_app):
    offices = list(db.session.scalars(select(Office).order_by(Office.slug)))
    first, last = date(2026, 10, 20), date(2027, 1, 20)
    bulk = availability.appointment_windows(offices, first, last)
    for office in offices:
        expected = []
        for day in availability.days_between(first, last):
            expected += [
                (w.start, w.end, w.capacity)
                for w in calendar.windows(office, day, WindowKind.APPOINTMENT)
            ]
        assert [(w.start, w.end, w.capacity) for w in bulk[office.id]] == expected, office.slug


def test_earliest_anywhere_lists_each_office_once_earliest_first(catalogue_app, monday_morning):
    req = _request("PA")
    found = slots.earliest_slots(req)
    offices = {o.id: o.slug for o in db.session.scalars(select(Office))}
    slugs = [offices[s.office_id] for s in found]
    assert len(slugs) == len(set(slugs)) == 9 and "mobil" not in slugs
    assert [s.start for s in found] == sorted(s.start for s in found)
    assert found[0].start == monday_morning + timedelta(hours=1)
    # BPA only at Aegi
    assert [offices[s.office_id] for s in slots.earliest_slots(_request("BPA"))] == ["aegi"]


def test_a_unit_full_in_one_office_still_offers_its_other_seats_elsewhere(bookings):
    """One search over offices of different capacities: the seats counted per unit block a
    slot only where they reach that window's own capacity."""
    aegi, linden = _office("aegi"), _office("linden")
    eight = at(THURSDAY, 8)
    for office in ("linden", "linden", "aegi", "aegi"):
        book(office=office, start=eight)
    found = slots.free_slots_many([aegi, linden], _request("PA"), THURSDAY, THURSDAY)
    aegi_at_eight = [s for s in found[aegi.id] if s.start == eight]
    assert [s.capacity for s in aegi_at_eight] == [6]  # two of six taken
    assert eight not in {s.start for s in found[linden.id]}  # both of two taken
    assert at(THURSDAY, 8, 15) in {s.start for s in found[linden.id]}
    earliest = slots.earliest_slots(_request("PA"), [aegi, linden], now=at(THURSDAY, 7))
    assert {s.office_id: s.start for s in earliest} == {
        aegi.id: eight,
        linden.id: at(THURSDAY, 8, 15),
    }


def test_a_request_for_an_office_is_resolved_from_the_kept_catalogue(catalogue_app):
    slots.resolve_request("PA,MB", 2, cached_office("linden"))
    db.session.commit()
    with statements_sent() as statements:
        linden = cached_office("linden")
        req = slots.resolve_request("PA,MB", 2, linden)
    assert req.codes == ["PA", "MB"] and req.persons == 2 and linden.slug == "linden"
    assert linden in db.session and req.services[0] in db.session  # merged, not reloaded
    # the office, the services and whether Linden offers them come from this process's copy
    # of the catalogue: only its revision is read
    sent = [s for s in statements if s != "BEGIN"]
    assert len(sent) == 1 and "catalogue_revisions" in sent[0]
