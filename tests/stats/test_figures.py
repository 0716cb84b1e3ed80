"""Statistics of a generated day equal figures computed here from the raw event log."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.booking.models import Appointment, SlotSeat
from queue_service.extensions import db
from queue_service.offices.services import get_office, get_service
from queue_service.stats import compute
from queue_service.stats.models import StatsRollup
from queue_service.tickets.models import Ticket, TicketEvent

from .conftest import THURSDAY, Traffic, generate_bookings, generate_day


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


def _independent(traffic, office_id):
    """Per local hour of issue: counts and durations from TicketEvent rows only."""
    events = db.session.scalars(
        select(TicketEvent).where(TicketEvent.office_id == office_id).order_by(TicketEvent.id)
    ).all()
    per_ticket = defaultdict(list)
    for e in events:
        per_ticket[e.ticket_id].append(e)
    tokens = dict(db.session.execute(select(Ticket.id, Ticket.token)).all())
    hours = defaultdict(lambda: defaultdict(list))
    for ticket_id, log in per_ticket.items():
        issue = log[0]
        assert issue.action == "issue"
        hour = clock.to_local(issue.at).hour
        h = hours[hour]
        h["issued"].append(1)
        h[log[-1].to_status.value].append(1)
        h[issue.details["kind"]].append(1)
        calls = [e.at for e in log if e.action == "call"]
        if calls:
            h["waits"].append(round((calls[0] - issue.at).total_seconds()))
        if log[-1].to_status.value == "done":
            start = [e.at for e in log if e.action == "start"][-1]
            h["service"].append(round((log[-1].at - start).total_seconds()))
        token = tokens[ticket_id]
        if token in traffic.due:
            h["punct"].append(round((issue.at - traffic.due[token]).total_seconds()))
    # booking lead time from the generator's own record: standing bookings by local hour of start
    for code, start, booked_at, standing in traffic.bookings:
        if standing:
            hours[clock.to_local(start).hour][f"lead:{code}"].append(
                round((start - booked_at).total_seconds())
            )
    return hours


def _p90(values):
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _check(bucket_list, hours):
    by_hour = defaultdict(compute.Summary)
    for b in bucket_list:
        by_hour[b.hour].add(b)
    assert sorted(by_hour) == sorted(hours)
    for hour, raw in hours.items():
        s = by_hour[hour]
        assert s.issued == len(raw["issued"])
        assert (s.served, s.no_show, s.cancelled, s.not_served) == (
            len(raw["done"]),
            len(raw["no_show"]),
            len(raw["cancelled"]),
            len(raw["not_served"]),
        )
        assert (s.walkin, s.appointment) == (len(raw["walkin"]), len(raw["appointment"]))
        assert sorted(s.waits) == sorted(raw["waits"])
        assert sorted(s.service_times) == sorted(raw["service"])
        assert sorted(s.punctuality) == sorted(raw["punct"])
        leads = [v for key, values in raw.items() if key.startswith("lead:") for v in values]
        assert sorted(s.lead_times) == sorted(leads)
        figures = s.figures()
        if raw["waits"]:
            assert figures["wait_median_min"] == round(statistics.median(raw["waits"]) / 60, 1)
            assert figures["wait_p90_min"] == round(_p90(raw["waits"]) / 60, 1)
        if raw["service"]:
            assert figures["service_median_min"] == round(statistics.median(raw["service"]) / 60, 1)
        if leads:
            assert figures["lead_median_days"] == round(statistics.median(leads) / 86400, 1)
            assert figures["lead_p90_days"] == round(_p90(leads) / 86400, 1)
        else:
            assert figures["lead_median_days"] is None
    # per service: each booking counts for its first service only
    by_service = defaultdict(compute.Summary)
    for b in bucket_list:
        by_service[b.service_id].add(b)
    for code in ("PA", "RP"):
        expected = sorted(v for raw in hours.values() for v in raw.get(f"lead:{code}", []))
        assert sorted(by_service[get_service(code).id].lead_times) == expected


def test_a_generated_day_gives_the_figures_of_the_raw_event_log(app, clerk):
    bookings = generate_bookings("aegi", Traffic(THURSDAY))
    assert sum(1 for b in bookings.bookings if b[3]) >= 10 and not all(
        b[3] for b in bookings.bookings
    )
    traffic = generate_day("aegi", clerk)
    traffic.bookings = bookings.bookings
    office = get_office("aegi")
    hours = _independent(traffic, office.id)
    # the day really has every kind of outcome
    outcomes = {k for h in hours.values() for k in h}
    assert {
        "done",
        "no_show",
        "cancelled",
        "not_served",
        "appointment",
        "walkin",
        "lead:PA",
        "lead:RP",
    } <= outcomes
    live_buckets = compute.live_buckets([office.id], [THURSDAY])
    _check(live_buckets, hours)
    # the nightly roll-up stores the same buckets, and the range query reads them from there
    clock.freeze(clock.local_to_utc(THURSDAY + timedelta(days=1), time(3, 30)))
    assert compute.rollup_day(THURSDAY) == len(live_buckets)
    assert db.session.scalar(select(StatsRollup.id).limit(1)) is not None
    read = compute.buckets([office.id], THURSDAY, THURSDAY)
    _check(read, hours)
    # ... even once the tickets are gone (statistics survive the retention purge)
    db.session.execute(TicketEvent.__table__.delete())
    db.session.execute(Ticket.__table__.delete())
    db.session.execute(SlotSeat.__table__.delete())
    db.session.execute(Appointment.__table__.delete())
    db.session.commit()
    _check(compute.buckets([office.id], THURSDAY, THURSDAY), hours)


def test_the_roll_up_is_idempotent_and_only_covers_its_day(app, clerk):
    generate_day("aegi", clerk, visitors=12)
    first = compute.rollup_day(THURSDAY)
    assert compute.rollup_day(THURSDAY) == first
    rows = db.session.scalars(select(StatsRollup)).all()
    assert len(rows) == first and {r.day for r in rows} == {THURSDAY}
    assert compute.rollup_day(THURSDAY - timedelta(days=1)) == 0
    assert all(r.service_id in {get_service("PA").id, get_service("RP").id} for r in rows)


def test_percentiles_use_nearest_rank_and_the_median_averages_the_middle_pair():
    assert compute.percentile([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 90) == 9
    assert compute.percentile([7], 90) == 7
    assert compute.median([1, 2, 3, 10]) == 2.5
    assert compute.median([]) is None and compute.percentile([], 90) is None


def test_an_appointment_counts_its_persons_and_every_service_it_asked_for(app, clerk):
    from queue_service.tickets import services as queue

    clock.freeze(clock.local_to_utc(THURSDAY, time(10, 0)))
    queue.issue_ticket(
        "aegi",
        "PA",
        kind="appointment",
        due_at=clock.now(),
        further_services=["MB"],
        persons=2,
    )
    queue.issue_ticket("aegi", "PA")
    office = get_office("aegi")
    by_service = defaultdict(compute.Summary)
    for b in compute.live_buckets([office.id], [THURSDAY]):
        by_service[b.service_id].add(b)
    pa, mb = by_service[get_service("PA").id], by_service[get_service("MB").id]
    # two tickets, both queued for PA; three persons; PA asked twice, MB once
    assert (pa.issued, pa.persons, pa.requests) == (2, 3, 2)
    assert (mb.issued, mb.persons, mb.requests) == (0, 0, 1)
    figures = compute.total(compute.live_buckets([office.id], [THURSDAY]))
    assert (figures["issued"], figures["persons"], figures["requests"]) == (2, 3, 3)
    # the nightly roll-up keeps them
    clock.freeze(clock.local_to_utc(THURSDAY + timedelta(days=1), time(3, 30)))
    compute.rollup_day(THURSDAY)
    rolled = compute.total(compute.buckets([office.id], THURSDAY, THURSDAY))
    assert (rolled["issued"], rolled["persons"], rolled["requests"]) == (2, 3, 3)
