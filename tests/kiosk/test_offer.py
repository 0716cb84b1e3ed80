"""The kiosk's start screen as data: which state an office is in and what a walk-in can get."""

from __future__ import annotations

from datetime import datetime

from queue_service import clock
from queue_service.db import unit_of_work
from queue_service.offices.models import Closure
from queue_service.offices.services import get_office
from queue_service.tickets import services as q
from queue_service.tickets.offer import OfferState, walkin_offer

from ..conftest import BERLIN
from ..tickets.conftest import set_office, set_office_service


def local(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_an_open_office_lists_its_walkin_services_with_people_ahead_and_wait(aegi):
    q.issue_ticket("aegi", "PA")
    offer = walkin_offer("aegi")
    assert offer.state == OfferState.OPEN
    codes = [s.code for s in offer.services]
    assert len(codes) == 17 and codes[0] == "PA" and "BPA" in codes  # Aegi offers everything
    pa = next(s for s in offer.services if s.code == "PA")
    assert pa.available and pa.people_ahead == 1 and pa.estimated_wait_minutes == 15
    assert offer.walkin_until == local(2026, 11, 26, 13, 0)
    assert offer.appointments_today and offer.closure is None


def test_services_that_need_an_appointment_are_not_offered_to_walkins(aegi):
    from ..tickets.conftest import set_service

    set_service("FS", walk_in_allowed=False)
    assert "FS" not in [s.code for s in walkin_offer("aegi").services]


def test_a_weekend_is_closed_today_with_the_next_opening(aegi):
    clock.freeze(local(2026, 11, 29, 10, 0))  # Sunday
    offer = walkin_offer("aegi")
    assert offer.state == OfferState.CLOSED and offer.closure is None and not offer.services
    assert offer.next_opening == local(2026, 11, 30, 8, 0)
    assert offer.next_walkin == local(2026, 11, 30, 8, 0)
    assert not offer.appointments_today


def test_the_lunch_break_is_closed_now_and_opens_again_today(aegi):
    clock.freeze(local(2026, 11, 26, 13, 30))  # Thursday 13:00-14:00: no window
    offer = walkin_offer("aegi")
    assert offer.state == OfferState.CLOSED and offer.next_opening == local(2026, 11, 26, 14, 0)


def test_holidays_and_closures_name_their_reason(aegi):
    clock.freeze(local(2026, 12, 25, 10, 0))
    offer = walkin_offer("aegi")
    assert offer.state == OfferState.CLOSED and "Weihnachtstag" in offer.closure
    assert offer.next_opening == local(2026, 12, 28, 8, 0)
    clock.freeze(local(2026, 11, 26, 10, 0))
    with unit_of_work() as session:
        session.add(
            Closure(office_id=get_office("linden").id, day=clock.today(), reason="Wasserschaden")
        )
    offer = walkin_offer("linden")
    assert offer.state == OfferState.CLOSED and offer.closure == "Wasserschaden"


def test_an_office_open_for_appointments_only_says_when_walkins_come_next(aegi):
    offer = walkin_offer("schuetzenplatz")  # never takes walk-ins
    assert offer.state == OfferState.APPOINTMENTS_ONLY and offer.next_walkin is None
    clock.freeze(local(2026, 11, 27, 10, 0))  # Friday: Linden serves appointments only
    offer = walkin_offer("linden")
    assert offer.state == OfferState.APPOINTMENTS_ONLY
    assert offer.next_walkin == local(2026, 12, 3, 8, 0)  # the next Thursday


def test_the_office_cap_turns_the_kiosk_to_ausgabe_beendet(aegi):
    set_office("aegi", walkin_daily_cap=2)
    q.issue_ticket("aegi", "PA")
    assert walkin_offer("aegi").state == OfferState.OPEN
    q.issue_ticket("aegi", "AB")
    offer = walkin_offer("aegi")
    assert offer.state == OfferState.CAP_REACHED
    assert offer.next_walkin_day == local(2026, 11, 27, 8, 0)


def test_a_service_cap_disables_that_service_only(aegi):
    set_office_service("aegi", "PA", walkin_daily_cap=1)
    q.issue_ticket("aegi", "PA")
    offer = walkin_offer("aegi")
    pa = next(s for s in offer.services if s.code == "PA")
    assert offer.state == OfferState.OPEN and not pa.available and pa.estimated_wait_minutes is None
    assert all(s.available for s in offer.services if s.code != "PA")


def test_the_mobile_office_offers_the_services_of_its_current_stop(aegi):
    offer = walkin_offer("mobil")  # no stop on Thursday 26 November
    assert offer.state == OfferState.CLOSED and offer.next_opening == local(2026, 12, 3, 10, 0)
    clock.freeze(local(2026, 12, 3, 11, 0))
    offer = walkin_offer("mobil")
    assert offer.state == OfferState.OPEN and offer.place == "Pflege & Wohnen Martinshof"
    assert sorted(s.code for s in offer.services) == ["AN", "BEF", "PA", "RP"]


def test_the_kiosk_says_no_more_walkins_once_the_open_counters_cannot_serve_them_today(aegi):
    from queue_service.tickets.forecast import day_forecast

    from ..tickets.conftest import staff

    clock.freeze(local(2026, 11, 26, 12, 30))
    q.open_counter("aegi", 1, actor=staff("clerk-aegi"))
    office = get_office("aegi")
    outlook = day_forecast(office, clock.now())
    assert outlook.known and outlook.open_counters == 1
    assert outlook.walkins_acceptable > 0 and walkin_offer("aegi").state == OfferState.OPEN
    # fill the rest of the day of one counter with identity-card visits (15 minutes each)
    needed = int(outlook.capacity_minutes // 15) + 1
    for _ in range(needed):
        q.issue_ticket("aegi", "PA")
    offer = walkin_offer("aegi")
    assert offer.state == OfferState.SERVED_OUT
    assert not any(s.available for s in offer.services)
    assert offer.forecast.walkins_acceptable == 0
    assert offer.forecast.expected_last_served > offer.forecast.service_end
    # a second counter opens: walk-ins can be served again
    q.open_counter("aegi", 2, actor=staff("manager-aegi"))
    again = walkin_offer("aegi")
    assert again.forecast.open_counters == 2 and again.state == OfferState.OPEN


def test_without_an_open_counter_the_forecast_never_turns_anyone_away(aegi):
    from queue_service.tickets.forecast import day_forecast

    for _ in range(5):
        q.issue_ticket("aegi", "PA")
    assert not day_forecast(get_office("aegi"), clock.now()).known
    assert walkin_offer("aegi").state == OfferState.OPEN


def test_a_manager_stops_walkins_for_today_with_a_reason_and_reopens(aegi):
    import pytest

    from queue_service.errors import Refused
    from queue_service.management import walkins
    from queue_service.offices.messages import current_office_messages
    from queue_service.tickets import reads

    from ..tickets.conftest import staff

    manager = staff("manager-aegi")
    walkins.close_walkins_today("aegi", "Wegen Personalausfalls", actor=manager)
    offer = walkin_offer("aegi")
    assert offer.state == OfferState.WALKINS_CLOSED
    assert offer.stopped_reason == "Wegen Personalausfalls"
    with pytest.raises(Refused) as refused:
        q.issue_ticket("aegi", "PA")
    assert refused.value.extra["reason"] == "walkins_closed"
    assert refused.value.extra["closure"] == "Wegen Personalausfalls"
    assert "Wegen Personalausfalls" in str(current_office_messages(get_office("aegi")))
    assert reads.office_status("aegi")["walkins_closed_reason"] == "Wegen Personalausfalls"
    # the next day it is over by itself
    clock.freeze(local(2026, 11, 27, 10, 0))
    assert walkin_offer("aegi").state != OfferState.WALKINS_CLOSED
    clock.freeze(local(2026, 11, 26, 10, 5))
    walkins.reopen_walkins("aegi", actor=manager)
    assert walkin_offer("aegi").state == OfferState.OPEN
    assert "Wegen Personalausfalls" not in str(current_office_messages(get_office("aegi")))
    q.issue_ticket("aegi", "PA")
