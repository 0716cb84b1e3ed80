"""close_day and stats_rollup, called directly with a moved clock, across both DST days of 2026."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.extensions import db
from queue_service.scheduler import registry, runner
from queue_service.scheduler.models import RunStatus
from queue_service.stats import compute
from queue_service.stats.models import StatsRollup
from queue_service.tickets import services as queue
from queue_service.tickets.models import Ticket, TicketStatus

BERLIN = clock.LOCAL_TZ
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)


def _occurrence(name: str, day: date) -> datetime:
    """The job's scheduled time on ``day`` as the registry computes it."""
    return registry.get_job(name).trigger.get_next_fire_time(
        None, datetime.combine(day, time(0, 0), BERLIN)
    )


def test_the_jobs_are_registered_at_their_local_times_on_both_dst_days():
    for day in (SPRING, AUTUMN, SPRING + timedelta(days=1), AUTUMN + timedelta(days=1)):
        close = _occurrence("close_day", day).astimezone(BERLIN)
        rollup = _occurrence("stats_rollup", day).astimezone(BERLIN)
        assert (close.date(), close.time()) == (day, time(20, 30))
        assert (rollup.date(), rollup.time()) == (day, time(3, 30))


@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_close_day_at_half_past_eight_closes_open_tickets_of_the_dst_day(app, day):
    clock.freeze(datetime.combine(day, time(1, 30), BERLIN))
    early = queue.issue_ticket("aegi", "PA", kind="appointment", due_at=clock.now())
    clock.freeze(datetime.combine(day, time(11, 0), BERLIN))
    queue.issue_ticket("linden", "PA", kind="appointment", due_at=clock.now())
    scheduled = _occurrence("close_day", day)
    clock.freeze(scheduled)
    assert runner.run_occurrence("close_day", scheduled) == RunStatus.SUCCEEDED
    assert runner.run_occurrence("close_day", scheduled) is None  # once per occurrence
    statuses = set(db.session.scalars(select(Ticket.status)))
    assert statuses == {TicketStatus.NOT_SERVED}
    assert runner.last_runs("close_day")[0].summary == {"offices": 2, "tickets": 2}
    assert (
        db.session.scalar(select(Ticket.business_date).where(Ticket.token == early["token"])) == day
    )


@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_the_roll_up_at_half_past_three_covers_the_whole_dst_day_before(app, day):
    # 01:30 and 03:30 exist on both days; 02:30 twice in autumn (CEST, then CET), never in spring
    moments = [
        datetime.combine(day, time(1, 30), BERLIN),
        datetime.combine(day, time(3, 30), BERLIN),
        datetime.combine(day, time(23, 50), BERLIN),
    ]
    if day == AUTUMN:
        first = datetime.combine(day, time(2, 30), BERLIN)  # fold=0: CEST
        moments += [first, first.replace(fold=1)]
    for moment in moments:
        clock.freeze(moment)
        queue.issue_ticket("aegi", "PA", kind="appointment", due_at=moment)
    scheduled = _occurrence("stats_rollup", day + timedelta(days=1))
    clock.freeze(scheduled)
    assert runner.run_occurrence("stats_rollup", scheduled) == RunStatus.SUCCEEDED
    assert runner.last_runs("stats_rollup")[0].summary == {
        "day": day.isoformat(),
        "rows": len({m.astimezone(BERLIN).hour for m in moments}),
    }
    rows = db.session.scalars(select(StatsRollup)).all()
    assert {r.day for r in rows} == {day}
    expected_hours = {1: 1, 3: 1, 23: 1} | ({2: 2} if day == AUTUMN else {})
    assert {r.hour: r.issued for r in rows} == expected_hours
    assert sum(r.appointment for r in rows) == len(moments)
    read = compute.total(compute.buckets([rows[0].office_id], day, day))
    assert read["issued"] == len(moments)
