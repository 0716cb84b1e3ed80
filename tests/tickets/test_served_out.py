"""Walk-in capacity that tells the truth, for people already waiting and for the API.

The status of a waiting ticket says ``may_not_be_served`` as soon as the forecast's rule, applied
at the ticket's place in the call order, says the counters open now may not reach it before
service ends today, with the alternatives (next free appointment, links to book and to the
waitlist). The ticket API refuses a walk-in the kiosk would refuse (``served_out``), unless staff
force it deliberately.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from queue_service import clock
from queue_service.auth.services import create_api_token, create_device
from queue_service.offices.services import get_office
from queue_service.tickets import display
from queue_service.tickets import services as q
from queue_service.tickets.forecast import day_forecast

from ..conftest import BERLIN
from .conftest import events_of, staff

NOON = datetime(2026, 11, 26, 12, 30, tzinfo=BERLIN)


@pytest.fixture
def kiosk(aegi):
    return {"X-Device-Token": create_device("aegi", "kiosk")}


@pytest.fixture
def bearer(aegi):
    return {"Authorization": f"Bearer {create_api_token('clerk-aegi')}"}


def _one_counter_and_a_full_day(extra: int = 1) -> list[str]:
    """One counter open at Aegi at 12:30 and identity-card visits (15 minutes each) until the
    counter's rest of the day is full, plus ``extra`` more; the tokens in call order."""
    clock.freeze(NOON)
    q.open_counter("aegi", 1, actor=staff("clerk-aegi"))
    outlook = day_forecast(get_office("aegi"), clock.now())
    assert outlook.known and outlook.open_counters == 1
    fits = int(outlook.capacity_minutes // 15)
    return [q.issue_ticket("aegi", "PA")["token"] for _ in range(fits + extra)]


def test_a_waiting_ticket_the_counters_cannot_reach_today_is_warned_with_alternatives(client, aegi):
    tokens = _one_counter_and_a_full_day(extra=2)
    first = client.get(f"/api/v1/tickets/{tokens[0]}").get_json()
    assert first["may_not_be_served"] is False and first["alternatives"] is None
    reached = client.get(f"/api/v1/tickets/{tokens[-3]}").get_json()
    assert reached["may_not_be_served"] is False  # the last one that still fits
    last = client.get(f"/api/v1/tickets/{tokens[-1]}").get_json()
    assert last["status"] == "waiting" and last["may_not_be_served"] is True
    alternatives = last["alternatives"]
    assert alternatives["service_ends"].startswith("2026-11-26T")
    assert alternatives["service_ends"].endswith("+01:00")
    assert alternatives["expected_last_served"] > alternatives["service_ends"]
    assert alternatives["book_url"] == (
        "http://127.0.0.1:5000/termin/kalender?office=aegi&services=PA&persons=1"
    )
    assert alternatives["waitlist_url"] == (
        "http://127.0.0.1:5000/termin/warteliste?office=aegi&services=PA&persons=1"
    )
    nxt = alternatives["next_free_appointment"]
    assert nxt is not None and nxt > "2026-11-26T12:30"  # a real slot of the slot engine
    # no personal data, no secrets in the warning
    assert "token" not in last and set(alternatives) == {
        "service_ends",
        "expected_last_served",
        "next_free_appointment",
        "book_url",
        "waitlist_url",
    }


def test_a_second_counter_lifts_the_warning_and_a_called_ticket_has_none(client, aegi):
    tokens = _one_counter_and_a_full_day(extra=1)
    assert client.get(f"/api/v1/tickets/{tokens[-1]}").get_json()["may_not_be_served"] is True
    q.open_counter("aegi", 2, actor=staff("manager-aegi"))
    assert client.get(f"/api/v1/tickets/{tokens[-1]}").get_json()["may_not_be_served"] is False
    q.call_next("aegi", 1, actor=staff("clerk-aegi"))
    called = client.get(f"/api/v1/tickets/{tokens[0]}").get_json()
    assert called["status"] == "called" and called["may_not_be_served"] is False


def test_without_an_open_counter_nobody_waiting_is_warned(client, aegi):
    tokens = [q.issue_ticket("aegi", "PA")["token"] for _ in range(40)]
    assert client.get(f"/api/v1/tickets/{tokens[-1]}").get_json()["may_not_be_served"] is False


def test_the_live_positions_carry_the_warning_and_push_it_when_it_changes(aegi):
    tokens = _one_counter_and_a_full_day(extra=1)
    sent: dict = {}
    views = dict(display.read_queue("aegi", sent).positions)
    assert views[tokens[-1]]["may_not_be_served"] is True
    assert views[tokens[-1]]["alternatives"]["waitlist_url"].endswith("services=PA&persons=1")
    assert views[tokens[0]]["may_not_be_served"] is False
    assert display.read_queue("aegi", sent).positions == []  # nothing changed, nothing pushed
    # a second counter opens: the warned ticket's page is told at once
    q.open_counter("aegi", 2, actor=staff("manager-aegi"))
    pushed = dict(display.read_queue("aegi", sent).positions)
    assert pushed[tokens[-1]]["may_not_be_served"] is False
    assert pushed[tokens[-1]]["alternatives"] is None


# ---------------------------------------------------------------- the ticket API


def test_the_api_refuses_a_walkin_the_kiosk_would_refuse_with_the_alternatives(
    client, aegi, kiosk, bearer
):
    _one_counter_and_a_full_day(extra=0)
    for headers in (kiosk, bearer):
        refused = client.post(
            "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=headers
        )
        assert refused.status_code == 409
        assert refused.mimetype == "application/problem+json"
        problem = refused.get_json()
        assert problem["reason"] == "served_out" and problem["field"] == "service"
        assert problem["book_url"].endswith("/termin/kalender?office=aegi&services=PA&persons=1")
        assert problem["waitlist_url"].endswith(
            "/termin/warteliste?office=aegi&services=PA&persons=1"
        )
        assert problem["next_free_appointment"] > "2026-11-26T12:30"
        # the day is full, not over-full: the work already there ends in time
        assert problem["expected_last_served"] <= problem["service_ends"]
    # the same rule as the kiosk's start screen
    from queue_service.tickets.offer import OfferState, walkin_offer

    assert walkin_offer("aegi").state == OfferState.SERVED_OUT


def test_a_kiosk_may_not_force_and_staff_force_deliberately_on_the_record(
    client, aegi, kiosk, bearer
):
    _one_counter_and_a_full_day(extra=0)
    kiosk_forcing = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA", "force": True}, headers=kiosk
    )
    assert kiosk_forcing.status_code == 403 and kiosk_forcing.get_json()["field"] == "force"
    forced = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA", "force": True}, headers=bearer
    )
    assert forced.status_code == 201
    token = forced.get_json()["token"]
    assert events_of(token) == [("issue", None, "waiting")]
    from sqlalchemy import select

    from queue_service.extensions import db
    from queue_service.tickets.models import TicketEvent

    from .conftest import ticket_row

    event = db.session.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_row(token).id)
    )
    assert event.details["forced"] is True and event.details["by"] == "staff"
    not_a_flag = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA", "force": "yes"}, headers=bearer
    )
    assert not_a_flag.status_code == 422


def test_a_walkin_that_still_fits_is_issued_by_the_api(client, aegi, kiosk):
    clock.freeze(NOON)
    q.open_counter("aegi", 1, actor=staff("clerk-aegi"))
    issued = client.post("/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk)
    assert issued.status_code == 201 and issued.get_json()["status"] == "waiting"
