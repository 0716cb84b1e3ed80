"""The scaled profile: two server processes on one PostgreSQL database and one Redis (a channel
of this test's own). Whatever changes through one process, or through a command run as its own
process, reaches the clients connected to the other."""

from __future__ import annotations

import secrets
import time

import pytest
import redis

from ..support import servers
from .clients import SocketWatcher, Staff, live_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def wait_for_subscribers(redis_url: str, channel: str, count: int, timeout: float = 15) -> None:
    """A server subscribes to the channel when its first client connects (python-socketio)."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} subscriber(s) on {channel} expected")


def published_within(listener, seconds: float) -> list[bytes]:
    """The messages published on the listener's channel (since it subscribed) and in the next
    ``seconds``."""
    published = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=0.1)
        if message and message["type"] == "message":
            published.append(message["data"])
    return published


def test_a_call_through_one_process_reaches_the_displays_phones_and_desks_on_another(
    pg_empty_database_url, redis_url, live
):
    channel = f"qs-test-{secrets.token_hex(6)}"
    # the scaled profile's production async mode (docs/deployment.md)
    env = live_env(REDIS_URL=redis_url, SOCKETIO_CHANNEL=channel, SOCKETIO_ASYNC_MODE="gevent")
    first = live(env, pg_empty_database_url)
    second = live(env, pg_empty_database_url, prepare=False)
    watchers: list[SocketWatcher] = []
    try:
        clerk = Staff(first, "clerk-scaled")
        ticket = clerk.issue(first.base_url)
        display = SocketWatcher(second.base_url).connect()
        phone = SocketWatcher(second.base_url).connect()
        desk = SocketWatcher(
            second.base_url, "/staff", {"Cookie": clerk.session_cookie(first.base_url)}
        ).connect()
        watchers += [display, phone, desk]
        assert display.call("join_office", {"office": "aegi"})["ok"]
        start = display.wait_for("display_state")["seq"]
        assert phone.call("join_ticket", {"token": ticket["token"]})["ok"]
        assert desk.call("join_office", {"office": "aegi"})["ok"]
        wait_for_subscribers(redis_url, channel, 1)

        began = time.perf_counter()
        called = clerk.call_next(first.base_url, 1)  # through the first process
        event = display.wait_for("ticket_called")
        assert time.perf_counter() - began < 3
        assert (event["number"], event["counter"], event["seq"]) == (called["number"], 1, start + 1)
        assert (
            phone.wait_for("ticket_updated", lambda d: d["status"] == "called")["counter"]["number"]
            == 1
        )
        assert desk.wait_for("queue_updated")["seq"] == start + 2

        # a command is a process of its own, like the scheduler: it publishes through Redis too
        result = servers.run_cli(["close-day", "aegi"], first.env)
        assert result.returncode == 0, result.stderr
        closed = phone.wait_for("ticket_updated", lambda d: d["status"] == "not_served")
        assert closed["number"] == ticket["number"]
        update = display.wait_for("queue_updated", lambda d: d["seq"] == start + 3)
        assert update["waiting_total"] == 0
        counter = next(c for c in update["counters"] if c["number"] == 1)
        assert counter["status"] == "closed" and counter["current"] is None
    finally:
        for watcher in watchers:
            watcher.close()


def test_a_joining_display_gets_its_snapshot_without_a_trip_through_redis(
    pg_empty_database_url, redis_url, live
):
    """The answer to a join goes to the one client that asked, which is connected to this
    process: publishing it (a whole snapshot, and a replay) made Redis and every other process
    parse it for nothing, once per display resync."""
    channel = f"qs-test-{secrets.token_hex(6)}"
    env = live_env(REDIS_URL=redis_url, SOCKETIO_CHANNEL=channel, SOCKETIO_ASYNC_MODE="gevent")
    server = live(env, pg_empty_database_url)
    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.subscribe(channel)
    display = SocketWatcher(server.base_url).connect()
    try:
        assert display.call("join_office", {"office": "aegi"})["ok"]
        seq = display.wait_for("display_state")["seq"]
        assert display.call("join_office", {"office": "aegi", "since": seq})["ok"]  # a resync
        display.wait_for("display_replay")
        published = published_within(listener, 1.0)
        assert not [m for m in published if b"display_state" in m or b"display_replay" in m]
        # the room's events still go through Redis to the other processes' displays
        Staff(server, "clerk-redis").issue(server.base_url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = listener.get_message(timeout=0.2)
            if message and message["type"] == "message" and b"queue_updated" in message["data"]:
                break
        else:
            raise AssertionError("no queue_updated published")
    finally:
        display.close()
        listener.close()


def test_a_position_is_published_only_for_a_ticket_whose_page_is_open_in_some_process(
    pg_empty_database_url, redis_url, live
):
    """Positions used to be published for every waiting ticket (each one parsed by every
    process); now only for tickets whose status page has joined, in whichever process."""
    channel = f"qs-test-{secrets.token_hex(6)}"
    env = live_env(REDIS_URL=redis_url, SOCKETIO_CHANNEL=channel, SOCKETIO_ASYNC_MODE="gevent")
    first = live(env, pg_empty_database_url)
    second = live(env, pg_empty_database_url, prepare=False)
    clerk = Staff(first, "clerk-watched")
    tickets = [clerk.issue(first.base_url) for _ in range(3)]
    phone = SocketWatcher(second.base_url).connect()  # the page of the last ticket, elsewhere
    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.subscribe(channel)
    try:
        assert phone.call("join_ticket", {"token": tickets[2]["token"]})["ok"]
        assert phone.wait_for("ticket_state")["people_ahead"] == 2
        wait_for_subscribers(redis_url, channel, 2)  # the second process and this test
        clerk.call_next(first.base_url, 1)  # through the first process
        moved = phone.wait_for("ticket_updated", lambda d: d.get("people_ahead") == 1)
        assert moved["number"] == tickets[2]["number"]
        published = published_within(listener, 1.0)
        rooms = [t["token"].encode() for t in tickets]
        assert any(rooms[2] in m for m in published)
        assert any(rooms[0] in m for m in published)  # called: its own change always goes
        assert not any(rooms[1] in m for m in published)  # moved up, but nobody is looking
    finally:
        phone.close()
        listener.close()
