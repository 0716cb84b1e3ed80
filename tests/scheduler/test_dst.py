"""Daily jobs fire once per local day at their local time across both DST changes of 2026, and
the jobs themselves run once per occurrence when called with a moved clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from queue_service import clock
from queue_service.extensions import db
from queue_service.scheduler.models import JobRun, RunStatus
from queue_service.scheduler.registry import (
    TIMEZONE,
    UnsafeSchedule,
    daily_at,
    every,
    register_job,
    registered_jobs,
)
from queue_service.scheduler.runner import run_occurrence
from queue_service.scheduler.status import describe

SPRING = (date(2026, 3, 26), date(2026, 4, 1))  # clocks go forward on Sunday 29 March
AUTUMN = (date(2026, 10, 22), date(2026, 10, 28))  # and back on Sunday 25 October


def fire_times(trigger, start: datetime, end: datetime) -> list[datetime]:
    """The occurrences as APScheduler computes them: next = get_next_fire_time(previous, now)."""
    # compared in UTC: Python compares datetimes of one time zone by their wall clock
    times, previous, now, end = [], None, start.astimezone(UTC), end.astimezone(UTC)
    while True:
        nxt = trigger.get_next_fire_time(previous, now)
        if nxt is None or nxt >= end:
            return times
        times.append(nxt)
        previous = now = nxt


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TIMEZONE)


def _daily_triggers():
    yield from (
        (hhmm, daily_at(hhmm)) for hhmm in ("00:30", "01:59", "03:00", "03:30", "04:15", "23:45")
    )
    for spec in registered_jobs().values():
        kind, value = describe(spec)
        if kind == "daily":
            yield value, spec.trigger


@pytest.mark.parametrize("week", [SPRING, AUTUMN], ids=["29-march", "25-october"])
def test_daily_triggers_fire_once_per_local_day_at_the_local_time(week):
    first, last = week
    expected_days = [first + timedelta(days=i) for i in range((last - first).days)]
    for hhmm, trigger in _daily_triggers():
        times = fire_times(trigger, _local_midnight(first), _local_midnight(last))
        local = [t.astimezone(TIMEZONE) for t in times]
        assert [t.date() for t in local] == expected_days, hhmm  # never twice, never skipped
        assert {t.strftime("%H:%M") for t in local} == {hhmm}, hhmm
    # the UTC gap around the change: 23 hours in spring, 25 in autumn
    sunday = date(2026, 3, 29) if week == SPRING else date(2026, 10, 25)
    on = [
        t
        for t in fire_times(daily_at("04:15"), _local_midnight(first), _local_midnight(last))
        if t.astimezone(TIMEZONE).date() in (sunday - timedelta(days=1), sunday)
    ]
    assert on[1].astimezone(UTC) - on[0].astimezone(UTC) == timedelta(
        hours=23 if week == SPRING else 25
    )


def test_interval_jobs_keep_their_pace_through_the_missing_and_the_doubled_hour():
    for night in (date(2026, 3, 29), date(2026, 10, 25)):
        start = datetime.combine(night, time(1, 40), tzinfo=TIMEZONE).astimezone(UTC)
        times = fire_times(every(minutes=5), start, start + timedelta(hours=2))
        gaps = {
            b.astimezone(UTC) - a.astimezone(UTC) for a, b in zip(times, times[1:], strict=False)
        }
        assert gaps == {timedelta(minutes=5)} and len(times) == 24


def test_schedules_that_could_misfire_on_a_dst_night_are_refused():
    with pytest.raises(UnsafeSchedule):
        daily_at("02:30")
    # hour 0 too: CronTrigger 3.11.3 skips the Monday after the spring change for 00:00-00:59
    for trigger in (
        CronTrigger(hour="*", minute=0, timezone=TIMEZONE),
        CronTrigger(hour="1-3", timezone=TIMEZONE),
        CronTrigger(hour=0, minute=30, timezone=TIMEZONE),
        CronTrigger(hour=4, timezone="UTC"),
        IntervalTrigger(minutes=5, timezone=TIMEZONE),
    ):
        with pytest.raises(UnsafeSchedule):
            register_job("unsafe_job", lambda scheduled_for: None, trigger)
    assert "unsafe_job" not in registered_jobs()


def test_a_daily_job_called_with_a_moved_clock_runs_once_per_day_across_both_changes(app):
    spec = registered_jobs()["purge_job_runs"]
    for first, last in (SPRING, AUTUMN):
        for occurrence in fire_times(spec.trigger, _local_midnight(first), _local_midnight(last)):
            clock.freeze(occurrence + timedelta(seconds=2))
            assert run_occurrence("purge_job_runs", occurrence) == RunStatus.SUCCEEDED
            clock.advance(timedelta(minutes=30))  # a second scheduler, late
            assert run_occurrence("purge_job_runs", occurrence) is None
        runs = db.session.scalars(
            select(JobRun)
            .where(JobRun.job == "purge_job_runs", JobRun.scheduled_for >= _local_midnight(first))
            .order_by(JobRun.scheduled_for)
        ).all()
        local = [r.scheduled_for.astimezone(TIMEZONE) for r in runs]
        assert [t.date() for t in local] == [first + timedelta(days=i) for i in range(6)]
        assert {t.strftime("%H:%M") for t in local} == {"04:15"}
        assert all(r.status == RunStatus.SUCCEEDED for r in runs)
    # and what it did: the first autumn run deleted the six spring runs (older than 30 days)
    assert [r.summary["deleted"] for r in runs] == [6, 0, 0, 0, 0, 0]


def test_a_ticker_message_ending_in_the_doubled_hour_expires_at_the_right_one_of_the_two(staff):
    from queue_service.management import messages
    from queue_service.scheduler import jobs

    # 02:30 happens twice on 25 October 2026: first CEST (00:30 UTC), then CET (01:30 UTC)
    second_0230 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    clock.freeze(datetime(2026, 10, 24, 20, 0, tzinfo=UTC))
    messages.post_office_message(
        "aegi", "Umstellung auf Winterzeit", actor=staff.aegi_manager, active_until=second_0230
    )
    clock.freeze(
        datetime(2026, 10, 25, 0, 45, tzinfo=UTC)
    )  # 02:45 CEST: the first 02:30 has passed
    assert jobs.expire_office_messages(clock.now()) == {"expired": 0}
    clock.freeze(datetime(2026, 10, 25, 1, 45, tzinfo=UTC))  # 02:45 CET
    assert jobs.expire_office_messages(clock.now()) == {"expired": 1}
