"""Closing days (and other losses of opening time) shows the stranded appointments first, and
acts only when confirmed. The impact provider stands in for booking (registered by the test)."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.audit.models import AuditEntry
from queue_service.auth.services import create_user
from queue_service.errors import ConfirmationRequired, Forbidden
from queue_service.extensions import db
from queue_service.management import closures, hours, mobile
from queue_service.management.hours import WindowSpec
from queue_service.offices import calendar
from queue_service.offices.models import Closure, MobileEvent, Office, WindowKind

from ..support.html import csrf_from
from .conftest import audit_count, logged_in

MONDAY = date(2026, 11, 30)


def _at(day: date, hhmm: str):
    return clock.local_to_utc(day, time.fromisoformat(hhmm))


def _office(slug: str) -> Office:
    return db.session.scalar(select(Office).where(Office.slug == slug))


def test_a_closure_that_strands_appointments_is_previewed_confirmed_and_passed_on(
    staff, bookings, thursday_morning
):
    manager = staff.aegi_manager
    bookings.book("aegi", _at(MONDAY, "09:00"), "A-1")
    bookings.book("linden", _at(MONDAY, "09:00"), "L-1")  # another office: not affected
    bookings.book("aegi", _at(date(2026, 12, 1), "09:00"), "A-2")  # another day: not affected
    audits = audit_count()

    impact = closures.preview_closure("aegi", [MONDAY], actor=manager)
    assert [item.key for item in impact.items] == ["A-1"]
    with pytest.raises(ConfirmationRequired) as asked:
        closures.add_closure("aegi", [MONDAY], "Betriebsversammlung", actor=manager)
    assert [item.key for item in asked.value.items] == ["A-1"]
    # booked after the preview: asked again instead of cancelling an appointment nobody saw
    bookings.book("aegi", _at(MONDAY, "11:00"), "A-3")
    with pytest.raises(ConfirmationRequired) as again:
        closures.add_closure(
            "aegi",
            [MONDAY],
            "Betriebsversammlung",
            actor=manager,
            confirmed=True,
            acknowledged=impact.refs,
        )
    assert {item.key for item in again.value.items} == {"A-1", "A-3"}
    assert db.session.scalars(select(Closure).where(Closure.day == MONDAY)).all() == []
    assert audit_count() == audits and bookings.applied == []

    result = closures.add_closure(
        "aegi",
        [MONDAY],
        "Betriebsversammlung",
        actor=manager,
        confirmed=True,
        notify=False,
        acknowledged=[i.ref for i in again.value.items],
    )
    assert len(result.closures) == 1 and result.notified is False
    assert calendar.closure_reason(_office("aegi"), MONDAY) == "Betriebsversammlung"
    assert calendar.closure_reason(_office("linden"), MONDAY) is None
    assert calendar.windows(_office("aegi"), MONDAY, WindowKind.APPOINTMENT) == []
    ((change, items, notify),) = bookings.applied
    assert change.days == (MONDAY,) and {i.key for i in items} == {"A-1", "A-3"} and notify is False
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "closure.added")).one()
    assert entry.actor_name == "leitung-aegi" and entry.office_id == _office("aegi").id
    assert (
        entry.details["affected"] == ["bookings:A-1", "bookings:A-3"]
        and entry.details["notify"] is False
    )


def test_ranges_recurring_days_and_city_wide_closures(staff, bookings, thursday_morning):
    days = closures.closure_days(date(2026, 12, 7), date(2026, 12, 9))
    closures.add_closure("aegi", days, "Umbau", actor=staff.aegi_manager)
    assert [calendar.closure_reason(_office("aegi"), d) for d in days] == ["Umbau"] * 3
    with pytest.raises(Exception, match="Bereits geschlossen|Already closed"):
        closures.add_closure("aegi", [date(2026, 12, 8)], "Doppelt", actor=staff.aegi_manager)
    # a recurring day checks its coming occurrences for bookings
    bookings.book("aegi", _at(date(2027, 6, 1), "09:00"), "A-9")
    with pytest.raises(ConfirmationRequired):
        closures.add_closure(
            "aegi", [date(2026, 6, 1)], "Jubiläum", actor=staff.aegi_manager, recurring=True
        )
    # city-wide closures are for administrators and close every office
    with pytest.raises(Forbidden):
        closures.preview_closure(None, [date(2026, 12, 14)], actor=staff.aegi_manager)
    bookings.book("linden", _at(date(2026, 12, 14), "09:00"), "L-5")
    impact = closures.preview_closure(None, [date(2026, 12, 14)], actor=staff.admin)
    assert [i.key for i in impact.items] == ["L-5"]
    closures.add_closure(
        None, [date(2026, 12, 14)], "Personalversammlung", actor=staff.admin, confirmed=True
    )
    assert calendar.closure_reason(_office("podbi"), date(2026, 12, 14)) == "Personalversammlung"


def test_the_closure_page_lists_the_affected_and_closes_after_confirmation(
    staff, bookings, app, thursday_morning
):
    client = logged_in(app, staff.aegi_manager)
    bookings.book("aegi", _at(MONDAY, "09:30"), "A-7")
    page = client.get("/admin/manage/offices/aegi/closures")
    form = {
        "start": MONDAY.isoformat(),
        "reason": "Betriebsversammlung",
        "csrf_token": csrf_from(page.get_data(as_text=True)),
    }
    asked = client.post("/admin/manage/offices/aegi/closures", data=form)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "PA · A-7" in html and "30.11.2026 09:30" in html
    assert db.session.scalars(select(Closure).where(Closure.day == MONDAY)).all() == []
    # the confirmation page posts the same form again with confirmed=1 and the refs it showed
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert (
        hidden["confirmed"] == "1"
        and hidden["ack"] == "bookings:A-7"
        and hidden["reason"] == "Betriebsversammlung"
    )
    done = client.post("/admin/manage/offices/aegi/closures", data=hidden, follow_redirects=True)
    assert "ohne Nachricht abgesagt" in done.get_data(as_text=True)  # notify was not ticked
    assert calendar.closure_reason(_office("aegi"), MONDAY) == "Betriebsversammlung"
    assert bookings.applied[0][2] is False
    # a day without bookings closes straight away
    form["start"] = "2026-12-02"
    assert client.post("/admin/manage/offices/aegi/closures", data=form).status_code == 302
    assert calendar.closure_reason(_office("aegi"), date(2026, 12, 2)) == "Betriebsversammlung"


def test_shorter_hours_or_a_removed_mobile_date_ask_before_stranding(
    staff, bookings, thursday_morning
):
    manager = staff.aegi_manager
    bookings.book("aegi", _at(MONDAY, "12:00"), "A-12")
    shorter = [
        WindowSpec(WindowKind.APPOINTMENT, time(8), time(11), 10),
        WindowSpec(WindowKind.WALKIN, time(8), time(13)),
    ]
    with pytest.raises(ConfirmationRequired) as asked:
        hours.set_day_windows("aegi", 0, shorter, actor=manager)
    assert [i.key for i in asked.value.items] == ["A-12"]
    assert calendar.windows(_office("aegi"), MONDAY, WindowKind.APPOINTMENT)[0].end == _at(
        MONDAY, "13:00"
    )
    # keeping the booked time open needs no confirmation
    longer = [WindowSpec(WindowKind.APPOINTMENT, time(7, 30), time(14), 8)]
    hours.set_day_windows("aegi", 0, longer, actor=manager)
    (window,) = calendar.windows(_office("aegi"), MONDAY, WindowKind.APPOINTMENT)
    assert (window.start, window.end, window.capacity) == (
        _at(MONDAY, "07:30"),
        _at(MONDAY, "14:00"),
        8,
    )
    assert calendar.windows(_office("aegi"), MONDAY, WindowKind.WALKIN) == []
    hours.set_day_windows("aegi", 0, shorter, actor=manager, confirmed=True, notify=True)
    assert bookings.applied[-1][2] is True

    mobile_manager = create_user("leitung-mobil", "manager", ["mobil"])
    event = db.session.scalar(select(MobileEvent).where(MobileEvent.day == date(2026, 12, 3)))
    bookings.book("mobil", _at(date(2026, 12, 3), "10:30"), "M-1")
    with pytest.raises(ConfirmationRequired):
        mobile.delete_mobile_event("mobil", event.id, actor=mobile_manager)
    mobile.delete_mobile_event("mobil", event.id, actor=mobile_manager, confirmed=True)
    assert db.session.get(MobileEvent, event.id) is None
