"""Estimated waiting: position among the tickets competing for the same open counters, the
number of those counters, and today's observed durations (median, else the catalogue)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from queue_service import clock
from queue_service.errors import Conflict
from queue_service.tickets import reads
from queue_service.tickets import services as q

BERLIN = clock.LOCAL_TZ


def _serve(clerk, counter: int, minutes: float) -> None:
    view = q.call_next("aegi", counter, actor=clerk)
    q.start_serving(view["token"], actor=clerk)
    clock.advance(timedelta(minutes=minutes))
    q.finish_ticket(view["token"], actor=clerk)


def test_with_no_counter_open_the_office_counts_as_one_counter(aegi):
    views = [q.issue_ticket("aegi", "PA") for _ in range(3)]  # 15 minutes each in the catalogue
    assert [(v["people_ahead"], v["estimated_wait_minutes"]) for v in views] == [
        (0, 0),
        (1, 15),
        (2, 30),
    ]


def test_open_counters_share_the_work_and_a_busy_counter_adds_its_rest(aegi, clerk):
    q.open_counter("aegi", 1, actor=clerk)
    q.open_counter("aegi", 2, actor=clerk)
    for _ in range(4):
        q.issue_ticket("aegi", "PA")
    assert q.issue_ticket("aegi", "PA")["estimated_wait_minutes"] == 30  # 4 x 15 / 2
    called = q.call_next("aegi", 1, actor=clerk)
    q.start_serving(called["token"], actor=clerk)
    clock.advance(timedelta(minutes=5))
    # 4 waiting (60 min) + counter 1 has 10 minutes left, shared by 2 counters
    assert q.issue_ticket("aegi", "PA")["estimated_wait_minutes"] == 35


def test_only_tickets_competing_for_the_same_counters_are_ahead(aegi, clerk):
    q.open_counter("aegi", 13, actor=clerk)  # short matters only (AB, EID, MB, BG)
    for _ in range(3):
        q.issue_ticket("aegi", "AB")
    passport = q.issue_ticket("aegi", "PA")
    # no open counter takes PA, so it competes for counters 1-12, which no AB ticket waits for
    assert passport["people_ahead"] == 0
    assert q.issue_ticket("aegi", "MB")["people_ahead"] == 3
    q.open_counter(
        "aegi", 1, actor=clerk
    )  # counter 1 serves everything: now AB and PA compete there
    assert reads.ticket_status(passport["token"])["people_ahead"] == 3


def test_observed_durations_replace_the_catalogue_after_three_tickets(aegi, clerk):
    for _ in range(6):
        q.issue_ticket("aegi", "AB")  # 5 minutes in the catalogue
    _serve(clerk, 1, 4)
    _serve(clerk, 1, 20)
    # two observations are not enough: 4 waiting x 5 catalogue minutes
    assert q.issue_ticket("aegi", "AB")["estimated_wait_minutes"] == 4 * 5
    _serve(clerk, 1, 7)
    # median of 4, 20 and 7 = 7 minutes: again 4 waiting, now x 7
    assert q.issue_ticket("aegi", "AB")["estimated_wait_minutes"] == 4 * 7


def test_observed_durations_are_kept_until_a_ticket_finishes_and_equal_a_fresh_read(
    app, aegi, clerk
):
    """The medians are kept per office and day under the count and last id of its done tickets
    (read in the counters' statement): snapshots between two finishes do not run the window
    query again, a finish changes the estimate at once, and the kept medians always equal the
    ones read afresh."""
    from queue_service.offices.services import get_office
    from queue_service.tickets import estimates

    from ..support.sql import statements_sent

    def fresh() -> dict[int, float]:
        office_id = get_office("aegi").id
        catalogue = estimates.office_catalogue(office_id)[1]
        return estimates.observed_durations(office_id, clock.today(), catalogue)

    def window_reads(during) -> int:
        with statements_sent() as sent:
            during()
        return len([s for s in sent if "row_number" in s])

    for _ in range(6):
        q.issue_ticket("aegi", "AB")  # 5 minutes in the catalogue
    for minutes in (4, 20, 7):
        _serve(clerk, 1, minutes)
    office = get_office("aegi")
    first = estimates.snapshot(office, clock.now())
    assert first.durations == fresh()
    assert first.durations[_ab(first)] == 7  # the median of 4, 20 and 7
    assert window_reads(lambda: estimates.snapshot(office, clock.now())) == 0
    # issue, call and start change the queue but finish nothing: the medians are kept
    assert window_reads(lambda: q.issue_ticket("aegi", "AB")) == 0
    called = q.call_next("aegi", 1, actor=clerk)
    q.start_serving(called["token"], actor=clerk)
    assert estimates.snapshot(office, clock.now()).durations == fresh()
    clock.advance(timedelta(minutes=30))
    q.finish_ticket(called["token"], actor=clerk)
    # the finish is read at once: median of 4, 20, 7 and 30 = 13.5 minutes
    after = estimates.snapshot(office, clock.now())
    assert after.durations[_ab(after)] == 13.5
    assert after.durations == fresh()
    assert q.issue_ticket("aegi", "AB")["estimated_wait_minutes"] == math.ceil(3 * 13.5)
    app.config.update(ESTIMATE_MIN_SAMPLES=5)  # the settings are part of the key
    assert estimates.snapshot(office, clock.now()).durations[_ab(after)] == 5


def _ab(snap) -> int:
    return next(sid for sid, info in snap.services.items() if info.code == "AB")


def test_a_called_ticket_has_nobody_ahead_and_a_finished_one_no_estimate(aegi, clerk):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.call_next("aegi", 1, actor=clerk)
    status = reads.ticket_status(token)
    assert (status["people_ahead"], status["estimated_wait_minutes"]) == (0, 0)
    assert status["counter"] == {"number": 1, "name": "Platz 1"}
    q.start_serving(token, actor=clerk)
    q.finish_ticket(token, actor=clerk)
    status = reads.ticket_status(token)
    assert (status["status"], status["people_ahead"], status["estimated_wait_minutes"]) == (
        "done",
        None,
        None,
    )


def test_no_estimate_while_the_office_is_closed_and_no_counter_is_open(aegi):
    token = q.issue_ticket("aegi", "PA")["token"]
    q.issue_ticket("aegi", "PA")
    clock.freeze(datetime(2026, 11, 26, 13, 30, tzinfo=BERLIN))  # lunch: no window open
    status = reads.ticket_status(token)
    assert (status["people_ahead"], status["estimated_wait_minutes"]) == (0, None)


def test_the_public_office_status_gives_waiting_and_estimate_per_service(aegi, clerk):
    q.open_counter("aegi", 1, actor=clerk)
    q.issue_ticket("aegi", "PA")
    clock.advance(timedelta(minutes=12))
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "AB")
    status = reads.office_status("aegi", "en")
    assert (
        status["open"],
        status["walkin_open"],
        status["open_counters"],
        status["waiting_total"],
    ) == (True, True, 1, 3)
    services = {s["code"]: s for s in status["services"]}
    assert services["PA"]["waiting"] == 2 and services["PA"]["longest_wait_minutes"] == 12
    assert services["PA"]["name"] == "Apply for an identity card"
    # a new PA ticket would be fourth at the one open counter: 15 + 15 + 5 minutes
    assert services["PA"]["estimated_wait_minutes"] == 35
    assert services["RP"] == {**services["RP"], "waiting": 0, "longest_wait_minutes": 0}
    assert "token" not in str(status)


def test_the_totals_a_new_walk_in_waits_behind_equal_the_ranked_queues(aegi, clerk):
    """The issue transaction counts the queue with aggregate statements (estimates.queue_totals)
    instead of ranking it; a new walk-in's estimate and the forecast's minutes must not differ
    from the ranked snapshot's for any kind of ticket waiting."""
    from queue_service.offices.services import get_office
    from queue_service.tickets import estimates

    q.open_counter("aegi", 1, actor=clerk)
    q.open_counter("aegi", 13, actor=clerk)  # short matters only
    for code in ("PA", "AB", "PA", "MB", "RP", "AB"):
        q.issue_ticket("aegi", code)
    q.issue_ticket("aegi", "PA", priority=True)
    due = clock.now() + timedelta(minutes=20)
    q.issue_ticket(
        "aegi", "PA", kind="appointment", due_at=due, further_services=["MB", "RP"], persons=3
    )
    q.issue_ticket("aegi", "RP", kind="appointment", due_at=clock.now(), persons=2)
    sent = q.issue_ticket("aegi", "AB")
    q.transfer_ticket(sent["token"], actor=clerk, counter_number=13, position="back")
    called = q.call_next("aegi", 1, actor=clerk)  # a busy counter adds the rest of its ticket
    q.start_serving(called["token"], actor=clerk)
    clock.advance(timedelta(minutes=3))

    office = get_office("aegi")
    ranked = estimates.snapshot(office, clock.now())
    totals = estimates.queue_totals(office, clock.now())
    assert len(ranked.waiting) == 9
    assert totals.waiting_minutes == ranked.waiting_minutes
    assert totals.remaining == ranked.remaining
    for service in ranked.services.values():
        assert totals.estimate_new(service.id) == ranked.estimate_new(service.id), service.code
    assert {ranked.estimate_new(s).people_ahead for s in ranked.services} != {9}  # groups differ


@pytest.mark.slow  # 52 tickets served one by one
def test_a_services_latest_durations_count_however_many_others_finished_since(app, aegi, clerk):
    """The medians read the latest ESTIMATE_SAMPLE_SIZE finished tickets of each service (one
    window query), not the latest few hundred of the office: their cost stays the same all day,
    and a rarely asked-for service keeps its observed duration."""
    app.config.update(ESTIMATE_SAMPLE_SIZE=1, ESTIMATE_MIN_SAMPLES=1)
    q.issue_ticket("aegi", "AB")  # 5 minutes in the catalogue
    _serve(clerk, 1, 12)
    for _ in range(51):  # more than the 50 x sample the office-wide read used to look at
        q.issue_ticket("aegi", "MB")
        _serve(clerk, 1, 2)
    q.issue_ticket("aegi", "AB")
    # the waiting AB is served in 12 observed minutes, not in the catalogue's 5
    assert q.issue_ticket("aegi", "AB")["estimated_wait_minutes"] == 12


def test_the_counters_with_their_services_state_and_current_ticket_are_read_in_one_statement(
    aegi, clerk
):
    from sqlalchemy import select

    from queue_service.extensions import db
    from queue_service.offices.models import Counter
    from queue_service.offices.services import get_office
    from queue_service.tickets import estimates

    from ..support.sql import statements_sent

    q.open_counter("aegi", 1, actor=clerk)
    q.issue_ticket("aegi", "PA")
    called = q.call_next("aegi", 1, actor=clerk)
    office_id = get_office("aegi").id
    db.session.rollback()
    with statements_sent() as sent:
        counters, finished, _ = estimates.load_counters(office_id, clock.today())
    assert len([s for s in sent if s.lstrip().startswith("SELECT")]) == 1
    stored = db.session.scalars(
        select(Counter).where(Counter.office_id == office_id, Counter.active.is_(True))
    ).all()
    assert [c.number for c in counters] == sorted(c.number for c in stored)
    by_number = {c.number: c for c in stored}
    for info in counters:
        assert info.service_ids == {s.id for s in by_number[info.number].services}, info.number
    busy = [c for c in counters if c.current_id is not None]
    assert [(c.number, c.current_status.value) for c in busy] == [(1, "called")]
    assert counters[0].status.value == "open" and called["counter"]["number"] == 1
    assert finished == estimates.Finished(0, None)


def test_a_counters_current_ticket_is_found_through_the_partial_index_not_a_table_scan(aegi, clerk):
    """load_counters, the counter's current ticket (transfer, a refused call) and call-next's
    next ticket (none while the counter has one) search the tickets by
    ``uq_tickets_active_counter``. With the status as bound parameters SQLite could not use
    the partial index and scanned every ticket of the day once per counter (12 % of a simulated
    city day's server CPU); PostgreSQL is asked with sequential scans off, as its planner
    prefers them on small tables."""
    from sqlalchemy import event

    from queue_service.extensions import db
    from queue_service.offices.services import get_office
    from queue_service.tickets import changes, estimates

    q.open_counter("aegi", 1, actor=clerk)
    q.issue_ticket("aegi", "PA")
    q.call_next("aegi", 1, actor=clerk)
    office = get_office("aegi")
    counter = office.counters[0]
    sent: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, *args):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        estimates.load_counters(office.id, clock.today())
        assert changes.current_ticket(db.session, counter) is not None
        db.session.commit()
        with pytest.raises(Conflict):  # its next-ticket statement asks for the busy one too
            q.call_next("aegi", 1, actor=clerk)
        db.session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    found = [(s, p) for s, p in sent if "tickets.counter_id" in s or "busy.counter_id" in s]
    assert len(found) == 4  # load_counters, current_ticket, call-next's two
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    for statement, parameters in found:
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
        plan = " ".join(str(row[0] if postgres else row[-1]) for row in rows)
        assert "uq_tickets_active_counter" in plan, plan
        assert "SCAN tickets" not in plan and "Seq Scan on tickets" not in plan, plan


def test_the_snapshot_keeps_the_catalogue_per_revision_and_sees_a_change_at_once(aegi):
    """Services, opening hours and closures come from this process's copy under the catalogue
    revision read in the same transaction: no query for them while nothing changed, and the
    next snapshot after a committed change has it."""
    from queue_service.db import unit_of_work
    from queue_service.extensions import db
    from queue_service.offices import calendar
    from queue_service.offices.models import Closure
    from queue_service.offices.services import get_office
    from queue_service.tickets import estimates

    from ..support.sql import statements_sent
    from .conftest import set_service

    def snapshot():
        db.session.commit()  # each snapshot in a transaction of its own, as a request's
        return estimates.snapshot(get_office("aegi"), clock.now())

    assert snapshot().office_open()  # kept from here on
    with statements_sent() as sent:
        snap = snapshot()
        assert snap.office_open() and _ab(snap)
    read = " ".join(sent)
    assert "FROM catalogue_revisions" in read
    for table in ("services", "office_services", "opening_windows", "closures"):
        assert f"FROM {table} " not in read and f"JOIN {table} " not in read, table
    set_service("AB", name_de="Abmeldung (neu)")
    assert snapshot().services[_ab(snap)].name_de == "Abmeldung (neu)"
    with unit_of_work() as session:
        session.add(Closure(office_id=get_office("aegi").id, day=clock.today(), reason="Umzug"))
    changed = snapshot()
    assert not changed.office_open()
    assert calendar.closure_reason(changed.office, changed.day) == "Umzug"


def test_a_transaction_that_changes_the_catalogue_reads_its_own_change_and_keeps_nothing(aegi):
    """Inside the change the snapshot reads the tables (its revision is not committed); after
    a rollback the next snapshot has the catalogue as it was."""
    from sqlalchemy import update

    from queue_service.db import unit_of_work
    from queue_service.extensions import db
    from queue_service.offices.models import Service
    from queue_service.offices.services import get_office, get_service
    from queue_service.tickets import estimates

    office = get_office("aegi")
    before = estimates.snapshot(office, clock.now())  # kept
    ab = _ab(before)
    name = before.services[ab].name_de
    with pytest.raises(RuntimeError), unit_of_work():
        get_service("AB").name_de = "Pending"  # not flushed yet: the read flushes it
        assert estimates.snapshot(office, clock.now()).services[ab].name_de == "Pending"
        raise RuntimeError("rolled back")
    db.session.commit()
    assert estimates.snapshot(get_office("aegi"), clock.now()).services[ab].name_de == name
    with pytest.raises(RuntimeError), unit_of_work() as session:
        session.execute(update(Service).where(Service.id == ab).values(name_de="Bulk"))
        assert estimates.snapshot(office, clock.now()).services[ab].name_de == "Bulk"
        raise RuntimeError("rolled back")
    db.session.commit()
    assert estimates.snapshot(get_office("aegi"), clock.now()).services[ab].name_de == name
