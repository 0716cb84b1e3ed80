"""The dispatcher gathers an office's queue changes into one read and one ``queue_updated`` per
window while calls go out at once; the waiting tickets' status pages get a push only when their
position or estimate changed."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from queue_service.realtime import publish, readers
from queue_service.tickets import services as q

from .clients import open_status_pages

WINDOW = 1.5  # long enough that a loaded machine issues the burst inside one window


@pytest.fixture
def app_config():
    return {"REALTIME_EMIT_IN_BACKGROUND": True, "REALTIME_COALESCE_SECONDS": WINDOW}


@pytest.fixture
def emitted(monkeypatch):
    sent = []

    def record(event, data, *, room, namespace):
        sent.append((event, data, room, namespace, time.monotonic()))

    monkeypatch.setattr(publish, "emit_now", record)
    return sent


def _replace_queue_reader(monkeypatch, read_queue) -> None:
    registered = readers.queue_readers()
    monkeypatch.setattr(readers, "_readers", replace(registered, read_queue=read_queue))


@pytest.fixture
def reads(monkeypatch):
    offices = []
    original = readers.queue_readers().read_queue

    def counted(office_slug, sent=None):
        offices.append(office_slug)
        return original(office_slug, sent)

    _replace_queue_reader(monkeypatch, counted)
    return offices


def office_events(emitted, namespace="/display"):
    return [
        (e, d, at) for e, d, room, ns, at in emitted if ns == namespace and room == "office:aegi"
    ]


def test_a_burst_of_changes_costs_one_queue_read_and_one_queue_updated(app, aegi, emitted, reads):
    start = publish.current_seq("aegi")
    began = time.monotonic()
    for _ in range(5):
        q.issue_ticket("aegi", "PA")
    windows = 1 + int((time.monotonic() - began) / WINDOW)  # 1 unless the machine crawls
    assert publish.wait_until_delivered(app, timeout=30)
    updates = [d for e, d, _ in office_events(emitted) if e == "queue_updated"]
    assert 1 <= len(updates) <= windows
    assert [s for d in updates for s in d["seqs"]] == [start + 1 + i for i in range(5)]
    assert updates[-1]["seq"] == start + 5 and updates[-1]["waiting_total"] == 5
    staff = [d for e, d, _ in office_events(emitted, "/staff")]
    assert [d["seqs"] for d in staff] == [d["seqs"] for d in updates]
    assert reads == ["aegi"] * len(updates)


def test_a_call_goes_out_at_once_while_its_queue_update_waits_for_the_window(
    app, aegi, clerk, emitted
):
    q.issue_ticket("aegi", "PA")
    assert publish.wait_until_delivered(app, timeout=30)
    emitted.clear()
    q.call_next("aegi", 1, actor=clerk)
    committed = time.monotonic()
    assert publish.wait_until_delivered(app, timeout=30)
    events = office_events(emitted)
    assert [e for e, _, _ in events] == ["ticket_called", "queue_updated"]
    (_, call, call_sent), (_, update, update_sent) = events
    assert call_sent - committed < WINDOW / 2  # not held back by the window
    assert update_sent - call_sent >= WINDOW * 0.9
    assert update["seqs"] == [call["seq"] + 1]


def _pushed_at_once(app, monkeypatch) -> list:
    """(event, payload, room) of every emit, delivered at the commit (no dispatcher thread)."""
    app.config["REALTIME_EMIT_IN_BACKGROUND"] = False
    sent: list = []
    monkeypatch.setattr(
        publish,
        "emit_now",
        lambda event, data, *, room, namespace: sent.append((event, data, room)),
    )
    return sent


def test_only_waiting_tickets_whose_position_changed_get_a_push(app, aegi, clerk, monkeypatch):
    sent = _pushed_at_once(app, monkeypatch)
    tokens = [q.issue_ticket("aegi", "PA")["token"] for _ in range(3)]
    fourth = q.issue_ticket("aegi", "PA")["token"]
    open_status_pages(app, [*tokens, fourth])
    sent.clear()
    q.issue_ticket("aegi", "PA")
    assert not [room for e, _, room in sent if e == "ticket_updated"]  # nobody ahead moved
    sent.clear()
    q.call_next("aegi", 1, actor=clerk)
    pushed = {room: d for e, d, room in sent if e == "ticket_updated"}
    assert pushed[f"ticket:{tokens[0]}"]["status"] == "called"
    assert [pushed[f"ticket:{t}"]["people_ahead"] for t in (*tokens[1:], fourth)] == [0, 1, 2]


def test_a_position_goes_only_to_a_ticket_whose_status_page_is_open(app, aegi, clerk, monkeypatch):
    """Most waiting tickets have no status page open: their positions went to empty rooms (and
    through Redis to every process) for nothing. A page that opens later gets pushes from then."""
    sent = _pushed_at_once(app, monkeypatch)
    tokens = [q.issue_ticket("aegi", "PA")["token"] for _ in range(4)]
    open_status_pages(app, [tokens[2]])
    sent.clear()
    q.call_next("aegi", 1, actor=clerk)
    pushed = {room: d for e, d, room in sent if e == "ticket_updated"}
    assert pushed[f"ticket:{tokens[0]}"]["status"] == "called"  # its own change: always
    assert set(pushed) == {f"ticket:{tokens[0]}", f"ticket:{tokens[2]}"}
    assert pushed[f"ticket:{tokens[2]}"]["people_ahead"] == 1

    open_status_pages(
        app, [tokens[3]]
    )  # opens now: its own read had its position, the next move pushes
    sent.clear()
    q.call_next("aegi", 2, actor=clerk)
    pushed = {room: d for e, d, room in sent if e == "ticket_updated"}
    assert set(pushed) == {f"ticket:{tokens[1]}", f"ticket:{tokens[2]}", f"ticket:{tokens[3]}"}
    assert [pushed[f"ticket:{t}"]["people_ahead"] for t in tokens[2:]] == [0, 1]


def test_with_a_message_queue_the_status_pages_of_every_process_are_found_in_redis(app, redis_url):
    """Each process delivers a published emit to its own rooms only, so the one that reads the
    queue asks Redis which tickets have a page open in any process (marked by their join)."""
    import secrets

    from queue_service.realtime import watched

    app.config.update(REDIS_URL=redis_url, SOCKETIO_CHANNEL=f"qs-test-{secrets.token_hex(6)}")
    try:
        tokens = [secrets.token_urlsafe(16) for _ in range(3)]
        assert watched.watched(app, tokens, publish.ticket_room) == set()
        watched.watch(app, tokens[1])  # a page opened in whichever process
        assert watched.watched(app, tokens, publish.ticket_room) == {tokens[1]}
        client = watched._redis(app)
        ttl = client.ttl(watched._key(app, tokens[1]))
        assert 0 < ttl <= watched.mark_seconds(app) == 180  # three of its 60 s re-joins
    finally:
        watched._clients.pop(id(app), None)


def test_queue_reads_take_at_most_their_share_of_the_time(app, aegi, emitted, monkeypatch):
    """A flood of changes must not let the displays' queue reads starve the requests."""
    app.config.update(REALTIME_COALESCE_SECONDS=0.0, REALTIME_READ_SHARE=0.25)
    original, started = readers.queue_readers().read_queue, []

    def slow(office_slug, sent=None):
        started.append(time.monotonic())
        time.sleep(0.2)
        return original(office_slug, sent)

    _replace_queue_reader(monkeypatch, slow)
    for _ in range(3):
        q.issue_ticket("aegi", "PA")
        time.sleep(0.05)
    assert publish.wait_until_delivered(app, timeout=30)
    assert 2 <= len(started) <= 3
    gaps = [b - a for a, b in zip(started, started[1:], strict=False)]
    assert all(gap >= 0.2 / 0.25 * 0.95 for gap in gaps)  # 0.2 s of reading, then 0.6 s without
    seqs = [s for e, d, _ in office_events(emitted) if e == "queue_updated" for s in d["seqs"]]
    assert len(seqs) == 3 and len(set(seqs)) == 3  # every change announced once


def test_a_slow_read_puts_the_next_one_off_by_at_most_the_cap(app, aegi, emitted, monkeypatch):
    """The share is of wall time, which a busy machine stretches far beyond the read's CPU: a
    queue_updated held back longer than the displays wait for a missing seq (2 s) made every
    display of the office resync. The deferral after a read is capped."""
    app.config.update(
        REALTIME_COALESCE_SECONDS=0.0, REALTIME_READ_SHARE=0.1, REALTIME_READ_MAX_DEFER_SECONDS=0.3
    )
    original, started = readers.queue_readers().read_queue, []

    def slow(office_slug, sent=None):
        started.append(time.monotonic())
        time.sleep(0.4)  # the share alone would put the next read off by 3.6 s
        return original(office_slug, sent)

    _replace_queue_reader(monkeypatch, slow)
    q.issue_ticket("aegi", "PA")
    deadline = time.monotonic() + 30
    while not started and time.monotonic() < deadline:  # the first read has begun (on a busy
        time.sleep(0.01)  # machine the dispatcher may start it well after 0.1 s)
    q.issue_ticket("aegi", "PA")
    assert publish.wait_until_delivered(app, timeout=30)
    assert len(started) == 2
    assert 0.4 + 0.3 * 0.9 <= started[1] - started[0] <= 0.4 + 0.3 + 1.0
    seqs = [s for e, d, _ in office_events(emitted) if e == "queue_updated" for s in d["seqs"]]
    assert len(seqs) == 2 and len(set(seqs)) == 2


def test_a_call_does_not_wait_for_other_offices_queue_reads(app, aegi, clerk, emitted, monkeypatch):
    """Several offices' reads fall due in one round: a call committed during the first read goes
    out before the next office's read, not after all of them."""
    app.config.update(
        REALTIME_COALESCE_SECONDS=0.0, REALTIME_READ_SHARE=0.25, REALTIME_READ_MAX_DEFER_SECONDS=10
    )
    original, started = readers.queue_readers().read_queue, []

    def slow(office_slug, sent=None):
        started.append((office_slug, time.monotonic()))
        time.sleep(0.6)
        return original(office_slug, sent)

    _replace_queue_reader(monkeypatch, slow)
    q.issue_ticket("aegi", "PA")  # the ticket the clerk will call; its read puts the next off
    while not started:
        time.sleep(0.01)
    time.sleep(0.7)  # the read is over, the next one is 1.8 s away
    q.issue_ticket("linden", "PA")
    q.issue_ticket("aegi", "PA")  # both offices' reads now fall due in the same round
    while len(started) < 2:
        time.sleep(0.01)
    q.call_next("aegi", 1, actor=clerk)  # committed while the first of them is read
    assert publish.wait_until_delivered(app, timeout=30)
    (call_sent,) = [at for e, _, _, ns, at in emitted if e == "ticket_called" and ns == "/display"]
    assert started[1][0] == "linden" and started[1][1] < call_sent < started[2][1]
    assert [office for office, _ in started] == ["aegi", "linden", "aegi"]  # the call's change
    # went with the round's second read
