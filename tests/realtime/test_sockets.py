"""The Socket.IO protocol against a real server process, with the real python-socketio client."""

from __future__ import annotations

import json

import pytest
import requests

from ..support.html import csrf_from
from .clients import SocketWatcher, Staff, _on_database, cookie_header, live_env, start_live

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["threading", "gevent"])
def server(request, tmp_path_factory):
    """One server per async mode: threading (embedded default) and gevent (docs/deployment.md)."""
    process = start_live(
        tmp_path_factory.mktemp("sockets"), live_env(SOCKETIO_ASYNC_MODE=request.param)
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def clerk(server):
    return Staff(server, "clerk-sockets", ("aegi",))


@pytest.fixture
def watch(server):
    opened: list[SocketWatcher] = []

    def _open(namespace: str = "/display", headers: dict | None = None) -> SocketWatcher:
        watcher = SocketWatcher(server.base_url, namespace, headers)
        opened.append(watcher)
        return watcher.connect()

    yield _open
    for watcher in opened:
        watcher.close()


def joined(watch, office: str = "aegi") -> tuple[SocketWatcher, dict]:
    display = watch()
    ack = display.call("join_office", {"office": office})
    assert ack["ok"] is True and ack["office"] == office
    state = display.wait_for("display_state")
    assert state["seq"] == ack["seq"]
    return display, state


def test_a_display_gets_the_snapshot_then_the_call_and_queue_changes_in_seq_order(
    server, clerk, watch
):
    display, state = joined(watch)
    assert state["office"] == {"slug": "aegi", "name": "Bürgeramt Aegi"}
    assert {
        "calls",
        "counters",
        "services",
        "messages",
        "server_time",
        "waiting_total",
    } <= state.keys()
    clerk.issue(server.base_url)
    called = clerk.call_next(server.base_url, 1)
    event = display.wait_for("ticket_called")
    assert (event["number"], event["counter"], event["counter_name"], event["service"]) == (
        called["number"],
        1,
        "Platz 1",
        "PA",
    )
    assert event["call_id"] and event["server_time"] and event["called_at"]
    assert event["seq"] == state["seq"] + 2
    # queue changes arrive gathered (one queue_updated per window names all its seqs), the call
    # at once: every seq comes exactly once
    display.wait_for("queue_updated", lambda d: state["seq"] + 3 in d["seqs"])
    seqs = [
        seq
        for name, data, _ in display.events
        if name != "display_state"
        for seq in data.get("seqs", [data["seq"]])
    ]
    assert sorted(seqs) == [state["seq"] + 1, state["seq"] + 2, state["seq"] + 3]


def test_the_snapshot_over_http_equals_the_socket_snapshot(server, clerk, watch):
    clerk.issue(server.base_url, service="KID")
    clerk.call_next(server.base_url, 2)
    display, state = joined(watch)
    over_http = requests.get(
        f"{server.base_url}/api/v1/offices/aegi/display-state", timeout=10
    ).json()
    for snapshot in (state, over_http):
        snapshot.pop("server_time")
    assert over_http == state
    assert state["calls"][0]["counter"] == 2


def test_a_client_that_missed_events_finds_the_gap_and_resyncs(server, clerk, watch):
    display, state = joined(watch)
    display.close()  # e.g. a network drop: the next calls happen while it is away
    clerk.issue(server.base_url)
    missed = clerk.call_next(server.base_url, 3)
    back = watch()
    check = back.call("sync", {"office": "aegi"})
    assert check["ok"] and check["seq"] >= state["seq"] + 3  # the seq moved on: resync
    again = back.call("join_office", {"office": "aegi"})
    resynced = back.wait_for("display_state")
    assert resynced["seq"] == again["seq"] == check["seq"]
    assert missed["number"] in [c["number"] for c in resynced["calls"]]
    counter = next(c for c in resynced["counters"] if c["number"] == 3)
    assert counter["current"]["number"] == missed["number"]
    nowhere = back.call("sync", {"office": "atlantis"})
    assert (nowhere["ok"], nowhere["error"]) == (False, "unknown_office")


def test_nothing_on_the_display_namespace_carries_a_token_or_a_name(server, clerk, watch):
    display, _ = joined(watch)
    tokens = []
    first = clerk.issue(server.base_url, service="AN")
    second = clerk.issue(server.base_url, service="AN")
    tokens += [first["token"], second["token"]]
    ticket = clerk.call_next(server.base_url, 4)
    for action in ("recall", "start", "finish"):
        assert (
            clerk.post(server.base_url, f"/api/v1/tickets/{ticket['token']}/{action}").status_code
            == 200
        )
    assert (
        clerk.post(
            server.base_url, f"/api/v1/tickets/{second['token']}/transfer", {"service": "PA"}
        ).status_code
        == 200
    )
    assert (
        clerk.post(server.base_url, f"/api/v1/tickets/{second['token']}/cancel").status_code == 200
    )
    last = display.call("sync", {"office": "aegi"})["seq"]
    display.wait_for("queue_updated", lambda d: d["seq"] == last)
    assert [d["recall_count"] for d in display.received("ticket_called")] == [0, 1]
    payloads = json.dumps(display.received())
    for token in tokens:
        assert token not in payloads
    for private in ("clerk-sockets", '"token"', '"user"', "username", "display_name"):
        assert private not in payloads
    assert {name for name, *_ in display.events} <= {
        "display_state",
        "ticket_called",
        "queue_updated",
    }


def test_a_ticket_room_gets_its_status_and_then_the_call(server, clerk, watch):
    ticket = clerk.issue(server.base_url, service="VD")
    phone = watch()
    assert phone.call("join_ticket", {"token": ticket["token"], "lang": "en"}) == {"ok": True}
    state = phone.wait_for("ticket_state")
    assert state["number"] == ticket["number"] and state["status"] == "waiting"
    assert state["service"]["code"] == "VD" and "token" not in state
    response = clerk.post(
        server.base_url, "/api/v1/offices/aegi/counters/5/call", {"token": ticket["token"]}
    )
    assert response.status_code == 200, response.text
    called = phone.wait_for("ticket_updated", lambda d: d["status"] == "called")
    assert called["counter"]["number"] == 5 and "token" not in called
    assert phone.call("join_ticket", {"token": "no-such-ticket"})["error"] == "not_found"


def test_staff_namespace_refuses_a_connection_without_login(server, watch):
    with pytest.raises(Exception, match="namespaces failed to connect"):
        watch("/staff")


def test_staff_namespace_takes_a_session_and_joins_only_the_clerks_offices(server, clerk, watch):
    desk = watch("/staff", {"Cookie": clerk.session_cookie(server.base_url)})
    assert desk.call("join_office", {"office": "linden"})["error"] == "forbidden"
    assert desk.call("join_office", {"office": "nowhere"})["error"] == "unknown_office"
    ack = desk.call("join_office", {"office": "aegi"})
    assert ack["ok"] is True
    clerk.issue(server.base_url, service="AB")
    update = desk.wait_for("queue_updated")
    assert (
        update["office"] == "aegi" and update["seq"] > ack["seq"] and update["waiting_total"] >= 1
    )
    assert set(update) == {"office", "seq", "seqs", "server_time", "waiting_total"}
    assert desk.call("sync", {"office": "aegi"})["seq"] >= update["seq"]


def _reset_password_elsewhere(server, username: str) -> None:
    """An administrator resets the password from another process (the test's own app)."""
    from sqlalchemy import select

    from queue_service.auth.models import User
    from queue_service.auth.services import create_user
    from queue_service.extensions import db
    from queue_service.management.staff import reset_staff_password

    def work():
        admin = create_user(f"admin-of-{username}", "admin", [])
        clerk_id = db.session.scalar(select(User.id).where(User.username == username))
        reset_staff_password(clerk_id, actor=admin)

    _on_database(server.env["DATABASE_URL"], work)


def test_a_staff_socket_is_cut_when_its_session_ends(server, watch):
    """Logout cuts the desk's socket at once in the process that logs out; a session ended in
    another process (a password reset) is cut at the socket's next event."""
    clerk = Staff(server, f"clerk-cut-{server.port}", ("aegi",))
    base = server.base_url

    browser = clerk.signed_in_browser(base)
    copied = cookie_header(browser)
    desk = watch("/staff", {"Cookie": copied})
    assert desk.call("join_office", {"office": "aegi"})["ok"] is True
    token = csrf_from(browser.get(base + "/admin/", timeout=10).text)
    assert browser.post(base + "/admin/logout", data={"csrf_token": token}, timeout=10).ok
    assert desk.wait_cut(10), "the desk's socket outlived the logout"

    other = watch("/staff", {"Cookie": clerk.session_cookie(base)})
    assert other.call("join_office", {"office": "aegi"})["ok"] is True
    _reset_password_elsewhere(server, clerk.name)
    other.send("sync", {"office": "aegi"})  # any event: the session is checked again
    assert other.wait_cut(10), "the socket outlived the password reset"
    # and the cookie as it was before the logout opens no new socket
    with pytest.raises(Exception, match="namespaces failed to connect"):
        watch("/staff", {"Cookie": copied})
