"""A slot search's answer is kept per process (``slots.kept_free_runs``) under the seats' and the
catalogue's revisions until the moment it would change without a write: it is always the answer
the search gives without the memo, a write to the seats in any process (a service or raw SQL) is
seen by the next search of every other one, and the passing time (a hold running out, the lead
time, a day closing for online booking, the release of the next day, on the DST days too) is
seen by the next search here."""

from __future__ import annotations

import cProfile
import pstats
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import text

from queue_service import clock
from queue_service.booking import services as booking
from queue_service.booking import slots
from queue_service.booking.models import SEATS
from queue_service.extensions import db
from queue_service.offices import revision
from queue_service.offices.services import cached_office

from .conftest import BERLIN, MONDAY_9, THURSDAY, at, book

TICK = timedelta(microseconds=1)


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False, "BOOKING_DOUBLE_OPT_IN": False}


@pytest.fixture
def searches(monkeypatch) -> list[int]:
    """Counts the searches computed (not taken from the memo)."""
    computed: list[int] = []
    search = slots._search

    def counted(*args, **kwargs):
        computed.append(1)
        return search(*args, **kwargs)

    monkeypatch.setattr(slots, "_search", counted)
    return computed


def _get(app_, query: str) -> list[dict]:
    with app_.app_context():
        answer = app_.test_client().get(f"/api/v1/offices/{query}")
        db.session.remove()
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["slots"]


def _served(app_, query: str, computed: list[int]) -> tuple[list[dict], bool]:
    """The search's slots in ``app_`` and whether they were kept; compared with the answer of
    the same search without the memo."""
    before = len(computed)
    kept = _get(app_, query)
    hit = len(computed) == before
    app_.config["SEARCH_CACHE"] = False
    try:
        assert kept == _get(app_, query)
    finally:
        app_.config["SEARCH_CACHE"] = True
    return kept, hit


def _starts(found: list[dict]) -> list[str]:
    return [s["start"] for s in found]


def _one_day(slug: str, day: date, services: str = "PA") -> str:
    return f"{slug}/slots?services={services}&from={day.isoformat()}&to={day.isoformat()}"


def test_a_kept_search_is_the_search_without_the_memo(app, catalogue, searches):
    clock.freeze(MONDAY_9 + timedelta(minutes=2))
    book(office="aegi", start=at(THURSDAY, 8))
    book(office="linden", start=at(THURSDAY, 8))
    book(office="linden", services="MB", start=at(THURSDAY, 8))
    queries = [
        "aegi/slots?services=PA",
        "aegi/slots?services=PA,MB",
        "aegi/slots?services=AN&persons=2",
        "linden/slots?services=PA",
        _one_day("linden", THURSDAY),
        f"linden/slots?services=PA&from={THURSDAY.isoformat()}",
    ]
    for query in queries:
        assert not _served(app, query, searches)[1]
    for query in queries:
        assert _served(app, query, searches)[1]  # kept, and still the search's answer


def test_a_kept_search_lasts_until_a_hold_runs_out_and_not_a_moment_longer(
    app, catalogue, searches
):
    clock.freeze(MONDAY_9)
    book(office="linden", start=at(THURSDAY, 8))
    hold = booking.hold_slot("linden", "PA", 1, at(THURSDAY, 8))
    eight = at(THURSDAY, 8).isoformat()
    query = _one_day("linden", THURSDAY)
    held, _ = _served(app, query, searches)
    assert eight not in _starts(held)  # both of Linden's two seats taken
    assert hold.expires_at is not None
    clock.freeze(hold.expires_at - TICK)
    assert _served(app, query, searches) == (held, True)
    clock.freeze(hold.expires_at)
    free, hit = _served(app, query, searches)
    assert not hit and eight in _starts(free)


def test_a_kept_search_lasts_until_the_lead_time_passes_its_first_start(app, catalogue, searches):
    clock.freeze(MONDAY_9 + timedelta(minutes=2))
    query = "aegi/slots?services=PA"
    found, _ = _served(app, query, searches)
    first = datetime.fromisoformat(found[0]["start"])
    lead = timedelta(minutes=app.config["BOOKING_MIN_LEAD_MINUTES"])
    clock.freeze(first - lead)  # the earliest start is the first offered one: still offered
    assert _served(app, query, searches) == (found, True)
    clock.freeze(first - lead + TICK)
    later, hit = _served(app, query, searches)
    assert not hit and later == found[1:]


def test_a_kept_search_lasts_until_its_day_closes_for_online_booking(app, catalogue, searches):
    aegi = cached_office("aegi")
    aegi.online_closes_days_before, aegi.online_closes_at = 1, time(12, 0)
    db.session.commit()
    closes = datetime(2026, 11, 25, 12, 0, tzinfo=BERLIN)  # Wednesday noon, for Thursday
    clock.freeze(closes - timedelta(minutes=10))
    query = _one_day("aegi", THURSDAY)
    found, _ = _served(app, query, searches)
    assert found
    clock.freeze(closes - TICK)
    assert _served(app, query, searches) == (found, True)
    clock.freeze(closes)
    assert _served(app, query, searches) == ([], False)


@pytest.mark.parametrize(
    ("before", "released"),
    [
        # Tuesday 08:00 releases 5 January 2027
        (datetime(2026, 11, 24, 7, 50, tzinfo=BERLIN), datetime(2026, 11, 24, 7, 0, tzinfo=UTC)),
        # 29 March 2026: 02:30 is never shown (02:00 -> 03:00); from 03:00 CEST it is later
        (datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # 25 October 2026: 02:30 comes twice (03:00 -> 02:00); the first one releases
        (datetime(2026, 10, 25, 2, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
    ids=["weekday", "dst-spring", "dst-autumn"],
)
def test_a_kept_search_is_never_served_once_the_next_day_is_released(
    app, catalogue, searches, before, released
):
    """The release time 02:30 on the DST days: a kept answer may end early in the hour the
    clock skips, never late."""
    app.config["BOOKING_RELEASE_TIME"] = "08:00" if before.month == 11 else "02:30"
    app.config["BOOKING_WINDOW_DAYS"] = 42 if before.month == 11 else 44  # a weekday released
    clock.freeze(before)
    start = (before + timedelta(days=30)).date().isoformat()
    query = f"aegi/slots?services=PA&from={start}"  # the lead time far before its first start
    found, _ = _served(app, query, searches)
    hits = []
    for moment in (released - timedelta(minutes=31), released - TICK, released):
        clock.freeze(moment)
        kept, hit = _served(app, query, searches)
        hits.append(hit)
    assert kept != found  # the released day's slots added
    assert hits[1:] == [True, False] if before.month != 3 else hits == [True, False, False]


def test_a_write_to_the_seats_in_another_app_is_seen_by_the_next_search(
    app, catalogue, other_app, searches
):
    clock.freeze(MONDAY_9)
    query = _one_day("linden", THURSDAY)
    eight = at(THURSDAY, 8).isoformat()
    assert eight in _starts(_served(other_app, query, searches)[0])
    assert _served(other_app, query, searches)[1]
    first = book(office="linden", start=at(THURSDAY, 8))
    assert _served(other_app, query, searches) == (_get(other_app, query), False)
    assert _served(other_app, query, searches)[1]
    # behind every app's back: a second seat, then the first one gone
    db.session.execute(
        text(
            "INSERT INTO slot_seats (office_id, unit_start, seat_no, appointment_id) "
            "SELECT office_id, unit_start, 1, appointment_id FROM slot_seats "
            "WHERE appointment_id = :id"
        ),
        {"id": first.id},
    )
    db.session.commit()
    full, hit = _served(other_app, query, searches)
    assert not hit and eight not in _starts(full)
    db.session.execute(text("DELETE FROM slot_seats WHERE seat_no = 1"))
    db.session.commit()
    again, hit = _served(other_app, query, searches)
    assert not hit and eight in _starts(again)


def _seats_revision() -> tuple[int, int]:
    try:
        return revision.current(SEATS.name)
    finally:
        db.session.commit()


def test_every_change_of_the_seats_moves_their_revision(app, catalogue):
    clock.freeze(MONDAY_9)
    seen = [_seats_revision()]

    def moved() -> bool:
        seen.append(_seats_revision())
        return seen[-1] != seen[-2]

    booked = book(office="aegi", start=at(THURSDAY, 8))
    assert moved()
    hold = booking.hold_slot("aegi", "PA", 1, at(THURSDAY, 9))
    assert moved()
    assert booked.token is not None and hold.token is not None
    booking.reschedule_appointment(booked.token, at(THURSDAY, 10))
    assert moved()
    booking.cancel_appointment(booked.token)
    assert moved()
    clock.freeze(MONDAY_9 + timedelta(hours=1))
    from queue_service.booking import jobs

    assert jobs.expire_holds() >= 1
    assert moved()
    jobs.purge_stale_seats(clock.now() + timedelta(days=2))
    assert moved()
    assert _seats_revision() == seen[-1]  # reads alone leave it


def _as_they_are(runs: list[slots.SlotRun], office) -> list[slots.SlotRun]:
    return runs


def test_a_warm_search_is_a_small_part_of_a_search(app, catalogue):
    clock.freeze(MONDAY_9 + timedelta(minutes=2))
    book(office="aegi", start=at(THURSDAY, 8))
    aegi = cached_office("aegi")
    request = slots.resolve_request("PA", 1, aegi)

    def calls(function) -> int:
        profile = cProfile.Profile()
        profile.enable()
        try:
            function()
        finally:
            profile.disable()
        return pstats.Stats(profile).total_calls  # type: ignore[attr-defined]

    def kept() -> object:
        return slots.kept_free_runs(aegi, request, None, None, _as_they_are)

    assert kept() == slots.free_runs(aegi, request)
    warm = calls(kept)
    cold = calls(lambda: slots.free_runs(aegi, request))
    assert warm * 10 < cold, (warm, cold)


@pytest.mark.postgres
def test_seat_writers_hold_the_seat_revision_only_through_their_commits(pg_schema):
    """Two bookings' seat writes do not queue on the city's revision row (PostgreSQL): it is
    bumped once per writing transaction, at its commit, so a second writer commits while the
    first is still open (the row used to be taken at the first seat write and held to the
    commit: every seat writer of the city waited there)."""
    from queue_service import create_app
    from queue_service.offices.catalogue import DEMO_FILE, load_catalogue_file

    from ..conftest import _test_config, _truncate_all

    app_ = create_app(
        _test_config(
            pg_schema, MAIL_BACKEND="memory", MAIL_ASYNC=False, BOOKING_DOUBLE_OPT_IN=False
        )
    )
    number = text("SELECT number FROM seat_revisions WHERE id = 1")
    with app_.app_context():
        _truncate_all()
        load_catalogue_file(DEMO_FILE)
        clock.freeze(MONDAY_9)
        book(office="aegi", start=at(THURSDAY, 8))
        book(office="linden", start=at(THURSDAY, 8))
        rows = db.session.execute(
            text("SELECT appointment_id, count(*) FROM slot_seats GROUP BY appointment_id")
        ).all()
        db.session.commit()
        assert len(rows) == 2 and all(seats > 1 for _, seats in rows)
        (first, _), (second, _) = rows
        release = text("UPDATE slot_seats SET occupied_until = :at WHERE appointment_id = :id")
        until = clock.now() + timedelta(days=30)
        try:
            with db.engine.connect() as a, db.engine.connect() as b:
                before = a.scalar(number)
                a.commit()
                a.execute(release, {"at": until, "id": first})  # several rows, not committed
                b.execute(text("SET LOCAL lock_timeout = '2s'"))
                b.execute(release, {"at": until, "id": second})
                b.commit()  # without waiting for the open transaction
                assert b.scalar(number) == before + 1
                b.commit()
                a.commit()
                # once per transaction, whatever the number of rows each wrote
                assert a.scalar(number) == before + 2
                a.commit()
                a.execute(text("TRUNCATE slot_seats"))
                a.commit()
                assert a.scalar(number) == before + 3
                a.commit()
        finally:
            clock.reset()
            db.session.remove()
            db.engine.dispose()
