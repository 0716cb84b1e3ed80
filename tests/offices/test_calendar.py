from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select

from queue_service import clock
from queue_service.extensions import db
from queue_service.offices import calendar
from queue_service.offices.models import Office, WindowKind


def _office(slug: str) -> Office:
    return db.session.scalar(select(Office).where(Office.slug == slug))


def test_lower_saxony_holidays_close_every_office(app, catalogue):
    aegi = _office("aegi")
    assert calendar.closure_reason(aegi, date(2026, 10, 31)) == "Reformationstag"
    assert calendar.closure_reason(aegi, date(2026, 4, 3)) == "Karfreitag"
    # Fronleichnam is not a holiday in Lower Saxony
    assert calendar.closure_reason(aegi, date(2026, 6, 4)) is None
    assert calendar.windows(aegi, date(2026, 12, 25), WindowKind.APPOINTMENT) == []


def test_recurring_closure_days_apply_every_year(app, catalogue):
    linden = _office("linden")
    assert calendar.closure_reason(linden, date(2026, 12, 24)) == "Heiligabend"
    assert calendar.closure_reason(linden, date(2027, 12, 31)) == "Silvester"  # a Friday


def test_walk_ins_only_on_thursday_in_standard_offices(app, catalogue):
    linden = _office("linden")
    thursday, wednesday = date(2026, 11, 26), date(2026, 11, 25)
    assert len(calendar.windows(linden, thursday, WindowKind.WALKIN)) == 2
    assert calendar.windows(linden, wednesday, WindowKind.WALKIN) == []
    assert calendar.windows(_office("schuetzenplatz"), thursday, WindowKind.WALKIN) == []


def test_windows_are_right_on_both_sides_of_the_dst_changes(app, catalogue):
    aegi = _office("aegi")
    # Monday before and after 29 March 2026 (CET -> CEST): 08:00 local is 07:00 then 06:00 UTC
    assert calendar.windows(aegi, date(2026, 3, 23), WindowKind.APPOINTMENT)[0].start == datetime(
        2026, 3, 23, 7, tzinfo=UTC
    )
    assert calendar.windows(aegi, date(2026, 3, 30), WindowKind.APPOINTMENT)[0].start == datetime(
        2026, 3, 30, 6, tzinfo=UTC
    )
    # Monday after 25 October 2026 (CEST -> CET): back to 07:00 UTC
    assert calendar.windows(aegi, date(2026, 10, 26), WindowKind.APPOINTMENT)[0].start == datetime(
        2026, 10, 26, 7, tzinfo=UTC
    )
    # the change days themselves are Sundays: closed
    assert calendar.windows(aegi, date(2026, 3, 29), WindowKind.APPOINTMENT) == []
    assert calendar.windows(aegi, date(2026, 10, 25), WindowKind.APPOINTMENT) == []


def test_is_open_and_next_opening(app, catalogue):
    linden = _office("linden")
    thursday_10 = clock.local_to_utc(date(2026, 11, 26), time(10, 0))
    assert calendar.is_open(linden, thursday_10, WindowKind.WALKIN)
    lunch = clock.local_to_utc(date(2026, 11, 26), time(13, 30))
    assert not calendar.is_open(linden, lunch, WindowKind.WALKIN)
    nxt = calendar.next_opening(linden, lunch, WindowKind.WALKIN)
    assert nxt.start == clock.local_to_utc(date(2026, 11, 26), time(14, 0))
    friday = clock.local_to_utc(date(2026, 11, 27), time(9, 0))
    assert calendar.next_opening(linden, friday, WindowKind.WALKIN).start == clock.local_to_utc(
        date(2026, 12, 3), time(8, 0)
    )


def test_the_mobile_office_is_open_only_on_its_dates(app, catalogue):
    mobil = _office("mobil")
    windows = calendar.windows(mobil, date(2026, 12, 3), WindowKind.APPOINTMENT)
    assert [w.place for w in windows] == ["Pflege & Wohnen Martinshof"]
    assert windows[0].start == clock.local_to_utc(date(2026, 12, 3), time(10, 0))
    assert calendar.windows(mobil, date(2026, 12, 4), WindowKind.APPOINTMENT) == []


def test_answers_are_remembered_within_a_transaction_and_forgotten_when_the_calendar_changes(
    app, catalogue
):
    from sqlalchemy import delete

    from queue_service.db import unit_of_work
    from queue_service.offices.models import Closure, OpeningWindow

    linden, thursday = _office("linden"), date(2026, 11, 26)
    first = calendar.windows(linden, thursday, WindowKind.WALKIN)
    assert len(first) == 2 and calendar.windows(linden, thursday, WindowKind.WALKIN) == first
    with unit_of_work() as session:
        session.add(Closure(office_id=linden.id, day=thursday, reason="Betriebsversammlung"))
        session.flush()  # an added closure: read again at once, inside the same transaction
        assert calendar.closure_reason(linden, thursday) == "Betriebsversammlung"
        assert calendar.windows(linden, thursday, WindowKind.WALKIN) == []
        session.execute(
            delete(Closure).where(Closure.office_id == linden.id, Closure.day == thursday)
        )
        assert len(calendar.windows(linden, thursday, WindowKind.WALKIN)) == 2  # a bulk delete too
        session.execute(
            delete(OpeningWindow).where(
                OpeningWindow.office_id == linden.id, OpeningWindow.kind == WindowKind.WALKIN
            )
        )
        assert calendar.windows(linden, thursday, WindowKind.WALKIN) == []
    assert calendar.windows(linden, thursday, WindowKind.WALKIN) == []  # after the commit as well
