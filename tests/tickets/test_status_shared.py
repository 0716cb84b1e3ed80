"""A phone joining its ticket: its status from the office's queue read shared with the displays
and the other phones while nothing happens there, exactly what a read of its own gives."""

from __future__ import annotations

from datetime import datetime, timedelta

from queue_service import clock
from queue_service.offices.services import get_office
from queue_service.tickets import display, estimates, reads
from queue_service.tickets import services as q
from queue_service.tickets.forecast import day_forecast

from ..conftest import BERLIN
from .conftest import staff

NOON = datetime(2026, 11, 26, 12, 30, tzinfo=BERLIN)


def _own_read(token: str, lang: str) -> dict:
    """The status as it was worked out before the share: the ticket loaded, a queue read of
    its own."""
    return reads._status_of(reads.get_ticket(token), lang)


def _busy_afternoon() -> list[str]:
    """Aegi at 12:30 with one counter serving, walk-ins of several services, a priority ticket,
    an appointment for two persons with a further service (due later), and more passport
    visits than the counter can serve before closing (the last ones are warned)."""
    clock.freeze(NOON)
    clerk = staff("clerk-aegi")
    q.open_counter("aegi", 1, actor=clerk)
    q.issue_ticket("aegi", "PA")
    q.start_serving(q.call_next("aegi", 1, actor=clerk)["token"], actor=clerk)
    clock.advance(timedelta(minutes=4))
    tokens = [q.issue_ticket("aegi", code)["token"] for code in ("AB", "VD", "PA")]
    tokens.append(q.issue_ticket("aegi", "MB", priority=True, actor=clerk)["token"])
    appointment = q.issue_ticket(
        "aegi",
        "PA",
        kind="appointment",
        due_at=NOON + timedelta(minutes=40),
        further_services=["MB"],
        persons=2,
        prefix="T",
    )
    tokens.append(appointment["token"])
    outlook = day_forecast(get_office("aegi"), clock.now())
    fits = int(outlook.capacity_minutes // 15)
    tokens += [q.issue_ticket("aegi", "PA")["token"] for _ in range(fits)]
    return tokens


def test_a_joining_phone_gets_the_position_estimate_and_warning_of_a_read_of_its_own(aegi):
    tokens = _busy_afternoon()
    answers = {t: reads.ticket_status(t, "en") for t in tokens}
    assert any(a["may_not_be_served"] for a in answers.values())  # the warning is covered
    assert any(a["kind"] == "appointment" and len(a["services"]) == 2 for a in answers.values())
    for token in tokens:
        for lang in ("de", "en"):
            assert reads.ticket_status(token, lang) == _own_read(token, lang)
    # after a call every position moves: the next phone gets the new ones, not the kept read
    clerk = staff("clerk-aegi")
    q.call_next("aegi", 2, actor=clerk)
    for token in tokens:
        assert reads.ticket_status(token) == _own_read(token, "de")
    # the clock moves on (a serving counter's rest shrinks): no estimate of an earlier moment
    clock.advance(timedelta(minutes=3))
    for token in tokens:
        assert reads.ticket_status(token) == _own_read(token, "de")


def test_phones_of_one_office_share_one_queue_read_until_something_happens(aegi, monkeypatch):
    tokens = _busy_afternoon()
    ranked = []
    snapshot = estimates.snapshot

    def counted(office, now, open_now=None):
        ranked.append(office.slug)
        return snapshot(office, now, open_now)

    monkeypatch.setattr(estimates, "snapshot", counted)
    for token in tokens:
        reads.ticket_status(token)
    assert ranked == ["aegi"]  # one read for every phone (one each before)
    display.shared_display_state("aegi")
    assert ranked == ["aegi"]  # a display joining now takes the same read
    q.call_next("aegi", 2, actor=staff("clerk-aegi"))
    ranked.clear()
    reads.ticket_status(tokens[-1])
    reads.ticket_status(tokens[-2])
    assert ranked == ["aegi"]  # the office's seq moved: read again, once
    clock.advance(timedelta(seconds=5))
    reads.ticket_status(tokens[-1])
    assert ranked == ["aegi", "aegi"]  # the application's clock moved on


def test_the_phones_of_one_read_share_its_forecast_and_a_new_read_works_it_out_again(
    aegi, monkeypatch
):
    tokens = _busy_afternoon()
    worked_out = []

    def counted(office, now, snap=None):
        worked_out.append(now)
        return day_forecast(office, now, snap)

    monkeypatch.setattr(reads.forecast, "day_forecast", counted)
    answers = [reads.ticket_status(token) for token in tokens]
    assert any(a["may_not_be_served"] for a in answers)
    assert len(worked_out) == 1  # one forecast for every phone of the read (one each before)
    q.call_next("aegi", 2, actor=staff("clerk-aegi"))
    worked_out.clear()  # (the displays' read after the call has its own)
    reads.ticket_status(tokens[-1])
    reads.ticket_status(tokens[-2])
    assert len(worked_out) == 1  # the office's seq moved: a new read, its own forecast, once
    clock.advance(timedelta(seconds=5))
    assert reads.ticket_status(tokens[-1]) == _own_read(tokens[-1], "de")
    assert worked_out[1] == clock.now()  # the clock moved on: worked out at the new moment


def test_a_ticket_that_is_no_longer_waiting_gets_its_own_status(aegi):
    tokens = _busy_afternoon()
    reads.ticket_status(tokens[0])  # the shared read is kept with the others still waiting
    clerk = staff("clerk-aegi")
    q.call_ticket("aegi", 2, token=tokens[0], actor=clerk)
    status = reads.ticket_status(tokens[0])
    assert status["status"] == "called" and status["people_ahead"] == 0
    assert status == _own_read(tokens[0], "de")
    assert reads.ticket_status(tokens[1]) == _own_read(tokens[1], "de")
