"""The slot search keeps catalogue reads per process (offices.revision): a change committed by
any app or process, through a service or behind its back, is seen by every other one in its next
transaction."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import delete, select, text, update

from queue_service import clock
from queue_service.booking import slots
from queue_service.errors import SlotTaken
from queue_service.extensions import db
from queue_service.management import closures, hours, mobile
from queue_service.management.hours import WindowSpec
from queue_service.offices import revision
from queue_service.offices.models import Counter, OpeningWindow, Service, WindowKind
from queue_service.offices.services import cached_office

from ..support.sql import statements_sent
from .conftest import MONDAY_9, THURSDAY, at, book


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


def _thursday_times(client, slug="linden") -> list[str]:
    day = THURSDAY.isoformat()
    answer = client.get(f"/api/v1/offices/{slug}/slots?services=PA&from={day}&to={day}")
    assert answer.status_code == 200, answer.get_json()
    return [s["start"][11:16] for s in answer.get_json()["slots"]]


def _revision(app) -> tuple[int, int]:
    with app.app_context():
        try:
            return revision.current()
        finally:
            db.session.remove()


def test_a_closure_and_new_hours_made_in_one_app_are_seen_by_another_at_once(
    app, catalogue, make_user, other_app
):
    clock.freeze(MONDAY_9)
    manager = make_user("leitung", "manager", ["linden"])
    reader = other_app.test_client()
    before = _thursday_times(reader)
    assert before[0] == "08:00"
    assert _thursday_times(reader) == before  # now from the other app's cache

    added = closures.add_closure("linden", [THURSDAY], "Betriebsversammlung", actor=manager)
    assert _thursday_times(reader) == []
    with other_app.app_context(), pytest.raises(SlotTaken):
        book(office="linden", start=at(THURSDAY, 8))

    closures.remove_closure("linden", added.closures[0].id, actor=manager)
    assert _thursday_times(reader) == before

    afternoon = [WindowSpec(WindowKind.APPOINTMENT, time(14), time(15))]
    hours.set_day_windows("linden", THURSDAY.weekday(), afternoon, actor=manager, confirmed=True)
    after = _thursday_times(reader)
    assert after[0] == "14:00" and after[-1] < "15:00"
    with other_app.app_context():
        assert book(office="linden", start=at(THURSDAY, 14)).office.slug == "linden"
        with pytest.raises(SlotTaken):
            book(office="linden", start=at(THURSDAY, 8))


def test_a_mobile_date_added_and_deleted_in_one_app_is_seen_by_another_at_once(
    app, catalogue, make_user, other_app
):
    """The mobile Bürgeramt's dates are kept per process like the hours (catrev2's triggers)."""
    clock.freeze(MONDAY_9)
    manager = make_user("leitung-mobil", "manager", ["mobil"])
    reader = other_app.test_client()
    assert _thursday_times(reader, "mobil") == []
    assert _thursday_times(reader, "mobil") == []  # now from the other app's cache

    added = mobile.add_mobile_event(
        "mobil",
        mobile.MobileEventData(
            THURSDAY, time(10), time(11), "Stadtbibliothek", service_codes=["PA", "MB"]
        ),
        actor=manager,
    )
    times = _thursday_times(reader, "mobil")
    assert times[0] == "10:00" and times[-1] < "11:00"
    with other_app.app_context():
        assert book(office="mobil", start=at(THURSDAY, 10)).office.slug == "mobil"

    mobile.delete_mobile_event("mobil", added.id, actor=manager, confirmed=True, notify=False)
    assert _thursday_times(reader, "mobil") == []


def test_every_kind_of_catalogue_write_moves_the_revision(app, catalogue):
    seen = [_revision(app)]

    def moved() -> bool:
        seen.append(_revision(app))
        return seen[-1] != seen[-2]

    linden = cached_office("linden")
    linden.name = "Bürgeramt Linden (Umbau)"  # an ORM flush
    db.session.commit()
    assert moved()
    db.session.execute(  # a bulk statement, as the hours editor sends
        delete(OpeningWindow).where(
            OpeningWindow.office_id == linden.id, OpeningWindow.weekday == 3
        )
    )
    db.session.commit()
    assert moved()
    db.session.execute(update(Counter).where(Counter.number == 99).values(active=False))
    db.session.commit()
    # PostgreSQL bumps per statement (even one that changed nothing), SQLite per changed row
    assert moved() == (db.engine.dialect.name == "postgresql")
    db.session.execute(text("DELETE FROM counter_services WHERE service_id = -1"))
    db.session.execute(
        text("UPDATE services SET duration_minutes = duration_minutes + 5 WHERE code = 'MB'")
    )
    db.session.commit()  # raw SQL behind the application's back
    assert moved()
    db.session.execute(text("UPDATE mobile_events SET place = place || ' (verlegt)'"))
    db.session.commit()
    assert moved()
    db.session.execute(
        text(
            "DELETE FROM mobile_event_services WHERE service_id = (SELECT id FROM services "
            "WHERE code = 'MB')"
        )
    )
    db.session.commit()
    assert moved()
    db.session.execute(select(Service.code).where(Service.code == "PA")).all()
    db.session.commit()
    assert not moved()  # reading is not writing


def test_a_raw_change_of_a_service_reaches_the_next_request_of_another_app(
    app, catalogue, other_app
):
    clock.freeze(MONDAY_9)
    reader = other_app.test_client()
    assert _thursday_times(reader)[:2] == ["08:00", "08:05"]
    # behind every app's back: counters of Linden no longer serve PA
    db.session.execute(
        text(
            "DELETE FROM counter_services WHERE service_id = (SELECT id FROM services WHERE "
            "code = 'PA') AND counter_id IN (SELECT id FROM counters WHERE office_id = "
            "(SELECT id FROM offices WHERE slug = 'linden'))"
        )
    )
    db.session.commit()
    assert _thursday_times(reader) == []


def test_a_warm_search_reads_only_the_revisions_and_with_its_memo_off_the_seats(app, catalogue):
    clock.freeze(MONDAY_9)
    client = app.test_client()
    assert _thursday_times(client)
    db.session.remove()
    with statements_sent() as statements:
        assert _thursday_times(client)
    sent = [s for s in statements if s != "BEGIN"]
    assert len(sent) == 1  # the search's answer is kept under the seats' revision
    assert "seat_revisions" in sent[0] and "catalogue_revisions" in sent[0]
    app.config["SEARCH_CACHE"] = False
    db.session.remove()
    with statements_sent() as statements:
        assert _thursday_times(client)
    sent = [s for s in statements if s != "BEGIN"]
    assert len(sent) == 2
    assert "catalogue_revisions" in sent[0] and "slot_seats" in sent[1]


def test_a_warm_earliest_search_reads_only_the_revision_and_the_seats_and_sees_an_office_close(
    app, catalogue, other_app
):
    """The offices offering the services are kept per revision too; an office taken offline in
    one app leaves the next earliest search of another."""
    clock.freeze(MONDAY_9)
    reader = other_app.test_client()

    def earliest() -> list[str]:
        answer = reader.get("/api/v1/slots/earliest?services=RP")
        assert answer.status_code == 200, answer.get_json()
        return [found["office"]["slug"] for found in answer.get_json()["offices"]]

    assert "linden" in earliest()
    with other_app.app_context():
        db.session.remove()
        with statements_sent() as statements:
            assert "linden" in earliest()
        sent = [s for s in statements if s != "BEGIN"]
        assert "catalogue_revisions" in sent[0]
        assert all("slot_seats" in s for s in sent[1:]), sent
        db.session.remove()
    cached_office("linden").active = False
    db.session.commit()
    assert "linden" not in earliest()


def test_with_the_cache_off_every_search_reads_the_catalogue(app, catalogue):
    clock.freeze(MONDAY_9)
    app.config["CATALOGUE_CACHE"] = False
    client = app.test_client()
    cached_times = _thursday_times(client)
    with statements_sent() as sent:
        assert _thursday_times(client) == cached_times
    assert not any("catalogue_revisions" in s for s in sent)
    assert any("opening_windows" in s for s in sent) and any("closures" in s for s in sent)
    linden = cached_office("linden")
    assert slots.resolve_request("PA", 1, linden).codes == ["PA"]
