"""A display that reconnects with the last seq it had (``join_office`` with ``since``) gets every
call it missed as ``display_replay`` before the snapshot, also the calls that have left the
snapshot's last ten: with one server process, and with two through Redis (the calls made through
one, the display back on the other)."""

from __future__ import annotations

import secrets

import pytest

from queue_service.realtime import publish
from queue_service.tickets import services as q

from .clients import SocketWatcher, Staff, live_env

CALLS = 13  # more than DISPLAY_CALL_HISTORY (10): the snapshot alone would lose three


def _missed_calls(clerk: Staff, base_url: str) -> tuple[list[str], str]:
    """CALLS numbers called at counter 1 and finished, then one sent away (parked)."""
    numbers = []
    for _ in range(CALLS):
        clerk.issue(base_url)
        called = clerk.call_next(base_url, 1)
        numbers.append(called["number"])
        for action in ("start", "finish"):
            done = clerk.post(base_url, f"/api/v1/tickets/{called['token']}/{action}")
            assert done.status_code == 200, done.text
    clerk.issue(base_url)
    absent = clerk.call_next(base_url, 1)
    sent_away = clerk.post(base_url, f"/api/v1/tickets/{absent['token']}/park")
    assert sent_away.status_code == 200, sent_away.text
    return [*numbers, absent["number"]], absent["number"]


def _reconnect_after_a_gap(first_url: str, second_url: str, clerk: Staff) -> None:
    display = SocketWatcher(second_url).connect()
    try:
        assert display.call("join_office", {"office": "aegi"})["ok"]
        since = display.wait_for("display_state")["seq"]
        assert display.received("display_replay") == []  # a first join has nothing to replay
    finally:
        display.close()  # the display is offline while the calls are made

    called, parked = _missed_calls(clerk, first_url)

    back = SocketWatcher(second_url).connect()
    try:
        ack = back.call("join_office", {"office": "aegi", "since": since})
        assert ack["ok"]
        replay = back.wait_for("display_replay")
        snapshot = back.wait_for("display_state")
        # the replay comes before the snapshot; a live queue_updated of the last change (coalesced
        # for 150 ms, through Redis from the other process) may still arrive before either
        order = [name for name, *_ in back.events if name in ("display_replay", "display_state")]
        assert order[:2] == ["display_replay", "display_state"]
        # the snapshot alone has only the last ten calls (and not the one sent away)
        assert len(snapshot["calls"]) == 10
        assert (replay["since"], replay["seq"], replay["complete"]) == (since, ack["seq"], True)
        events = replay["events"]
        assert [e["data"]["number"] for e in events if e["event"] == "ticket_called"] == called
        assert [(e["event"], e["data"]["reason"]) for e in events[-1:]] == [
            ("call_withdrawn", "parked")
        ]
        assert events[-1]["data"]["number"] == parked
        seqs = [e["data"]["seq"] for e in events]
        assert seqs == sorted(seqs) and since < seqs[0] and seqs[-1] <= ack["seq"]
        # the same call ids as the live events and the snapshot (display.js shows each once)
        replayed_ids = {e["data"]["call_id"] for e in events if e["event"] == "ticket_called"}
        assert {c["call_id"] for c in snapshot["calls"]} <= replayed_ids
        refused = back.call("join_office", {"office": "aegi", "since": "7"})
        assert (refused["ok"], refused["error"]) == (False, "invalid")
    finally:
        back.close()


def test_a_display_back_after_more_than_ten_calls_gets_every_call_it_missed(live):
    server = live()
    _reconnect_after_a_gap(server.base_url, server.base_url, Staff(server, "clerk-replay"))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_the_missed_calls_come_from_any_process(pg_empty_database_url, redis_url, live):
    env = live_env(REDIS_URL=redis_url, SOCKETIO_CHANNEL=f"qs-test-{secrets.token_hex(6)}")
    first = live(env, pg_empty_database_url)
    second = live(env, pg_empty_database_url, prepare=False)
    clerk = Staff(first, "clerk-replay-scaled")
    _reconnect_after_a_gap(first.base_url, second.base_url, clerk)


def test_the_replay_keeps_a_bounded_window_and_says_when_a_gap_reaches_past_it(app, aegi, clerk):
    from sqlalchemy import func, select

    from queue_service.extensions import db
    from queue_service.realtime.models import OfficeEventLog

    app.config["DISPLAY_REPLAY_SEQS"] = 10
    start = publish.current_seq("aegi")
    for _ in range(8):  # each: issued, called, finished (about four seqs)
        q.issue_ticket("aegi", "PA")
        ticket = q.call_next("aegi", 1, actor=clerk)
        q.start_serving(ticket["token"], actor=clerk)
        q.finish_ticket(ticket["token"], actor=clerk)
    now = publish.current_seq("aegi")
    old = publish.replay_since("aegi", start, now)
    assert old["complete"] is False  # the display falls back on the snapshot for the older part
    recent = publish.replay_since("aegi", now - 5, now)
    assert recent["complete"] is True
    assert all(e["data"]["seq"] > now - 5 for e in recent["events"])
    kept = db.session.scalar(select(func.min(OfficeEventLog.seq)))
    assert kept > start and now - kept < 10 + 10 // 10 + 4
    assert db.session.scalar(select(func.count()).select_from(OfficeEventLog)) <= 4


def test_the_http_fallback_with_since_replays_the_calls_as_join_office_does(aegi, clerk, client):
    """A display whose socket is down polls ``display-state``; with the seq it had (``since``) the
    answer brings every call it missed, also those past the snapshot's last ten."""
    url = "/api/v1/offices/aegi/display-state"
    first = client.get(url).get_json()
    assert "replay" not in first  # a first poll has nothing to replay
    since = first["seq"]
    called = []
    for _ in range(CALLS):
        q.issue_ticket("aegi", "PA")
        ticket = q.call_next("aegi", 1, actor=clerk)
        called.append(ticket["number"])
        q.start_serving(ticket["token"], actor=clerk)
        q.finish_ticket(ticket["token"], actor=clerk)
    q.issue_ticket("aegi", "PA")
    absent = q.call_next("aegi", 1, actor=clerk)
    q.park_ticket(absent["token"], actor=clerk)

    response = client.get(url, query_string={"since": since})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    replay = body.pop("replay")
    assert len(body["calls"]) == 10  # the snapshot alone has lost three calls and the parked one
    assert (replay["office"], replay["since"], replay["seq"]) == ("aegi", since, body["seq"])
    assert replay["complete"] is True
    assert replay == publish.replay_since("aegi", since, body["seq"])  # the socket's replay
    events = replay["events"]
    assert [e["data"]["number"] for e in events if e["event"] == "ticket_called"] == [
        *called,
        absent["number"],
    ]
    assert (events[-1]["event"], events[-1]["data"]["number"]) == (
        "call_withdrawn",
        absent["number"],
    )
    caught_up = client.get(url, query_string={"since": body["seq"]}).get_json()
    assert caught_up["replay"]["events"] == []

    for bad in ("-1", "seven", "1.5"):
        refused = client.get(url, query_string={"since": bad})
        assert refused.status_code == 422, bad
        assert refused.mimetype == "application/problem+json"
    assert client.get("/api/v1/offices/nowhere/display-state?since=1").status_code == 404
