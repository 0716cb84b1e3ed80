"""Socket.IO handlers (protocol: docs/realtime-protocol.md). Thin: they check what the client
asked for, join rooms and answer from the read functions; they never emit to rooms (publish.py
does, after commits).

``/display`` is public and never carries personal data; a ticket's own room (joined with its
token) carries that ticket's public status. ``/staff`` needs a logged-in staff session and joins
only offices the user may access; the session is checked again on every event, and a logout (or
any end of the user's sessions) cuts the user's connections in the same process at once.
"""

from __future__ import annotations

import logging
import re

from flask import request, session
from flask_socketio import (
    ConnectionRefusedError,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
)

from .. import clock
from ..auth import services as auth
from ..auth.models import DeviceKind
from ..auth.web import DEVICE_COOKIE, staff_user
from ..errors import DomainError, Forbidden, NotFound, UnknownOffice
from ..extensions import app_object, socketio
from ..offices.services import get_office
from ..sessions import reading
from .publish import DISPLAY_NS, STAFF_NS, current_seq, office_room, replay_since, ticket_room
from .readers import queue_readers
from .watched import watch

log = logging.getLogger(__name__)

_DEVICE = "qs_display_device"


def _fail(error: str, detail: str) -> dict:
    return {"ok": False, "error": error, "detail": detail}


def _slug(data) -> str | None:
    slug = data.get("office") if isinstance(data, dict) else None
    return slug if isinstance(slug, str) and 0 < len(slug) <= 40 else None


def _now() -> str:
    return clock.now().isoformat(timespec="milliseconds")


def _touch_device() -> None:
    device_id = session.get(_DEVICE)
    if device_id:
        try:
            auth.touch_device_last_seen(device_id)
        except Exception:  # "last seen" must never break a display
            log.exception("could not record that display %s was seen", device_id)


def _leave_office_rooms(keep: str) -> None:
    for room in rooms():
        if room.startswith("office:") and room != keep:
            leave_room(room)


# ---------------------------------------------------------------- /display (public)


@socketio.on("connect", namespace=DISPLAY_NS)
def display_connect(auth_data=None):
    """Anyone may watch a display; a registered display (device cookie) is marked as seen."""
    token = request.cookies.get(DEVICE_COOKIE)
    device = auth.device_for_token(token) if token else None
    if device is not None and device.kind == DeviceKind.DISPLAY:
        session[_DEVICE] = device.id
        _touch_device()


@socketio.on("join_office", namespace=DISPLAY_NS)
@reading()  # reads without a transaction (sessions.py): joins and heartbeats are the most frequent
def display_join_office(data=None):
    """Join the office's room and answer with its full ``display_state``; a display that had
    seq ``since`` gets every call after it first (``display_replay``), also those that have
    left the snapshot's last calls."""
    slug = _slug(data)
    if slug is None:
        return _fail("invalid", 'Send {"office": SLUG}.')
    since = data.get("since")
    if since is not None and (type(since) is not int or since < 0):
        return _fail("invalid", "since is the last seq the display has, an integer >= 0.")
    try:
        get_office(slug)
    except UnknownOffice as exc:
        return _fail("unknown_office", exc.detail)
    room = office_room(slug)
    _leave_office_rooms(room)
    join_room(room)  # before reading: whatever happens from now on reaches this client
    state = queue_readers().shared_display_state(slug)
    # the answer is for this client alone, connected to this process: not through the message
    # queue, which would make every other process parse the whole snapshot for nothing
    # (python-socketio hands a queued emit to the local clients first as well: same order)
    if since is not None:
        emit("display_replay", replay_since(slug, since, state["seq"]), ignore_queue=True)
    emit("display_state", state, ignore_queue=True)
    return {"ok": True, "office": slug, "seq": state["seq"]}


@socketio.on("join_ticket", namespace=DISPLAY_NS)
@reading()
def display_join_ticket(data=None):
    """A status page joins its ticket's room and gets ``ticket_state``."""
    token = data.get("token") if isinstance(data, dict) else None
    asked = data.get("lang") if isinstance(data, dict) else None
    lang = asked if isinstance(asked, str) and asked in ("de", "en") else "de"
    if not isinstance(token, str) or not 0 < len(token) <= 64:
        return _fail("invalid", 'Send {"token": TOKEN}.')
    join_room(ticket_room(token))
    watch(app_object(), token)  # before the read: a position read after it is pushed to the room
    try:
        state = queue_readers().ticket_status(token, lang)
    except NotFound as exc:
        leave_room(ticket_room(token))
        return _fail("not_found", exc.detail)
    emit("ticket_state", state)
    return {"ok": True}


@socketio.on("sync", namespace=DISPLAY_NS)
@reading()
def display_sync(data=None):
    """The heartbeat: the office's current seq, so a client that missed an event finds out."""
    slug = _slug(data)
    if slug is None:
        return _fail("invalid", 'Send {"office": SLUG}.')
    try:
        get_office(slug)
    except UnknownOffice as exc:
        return _fail("unknown_office", exc.detail)
    _touch_device()
    return {"ok": True, "office": slug, "seq": current_seq(slug), "server_time": _now()}


# ---------------------------------------------------------------- /staff (logged-in staff)


def _staff_room(user_id: int) -> str:
    """Every /staff connection of one user in this process (never emitted to: it is how a
    logout finds the user's connections to cut)."""
    return f"staff:{user_id}"


@socketio.on("connect", namespace=STAFF_NS)
def staff_connect(auth_data=None):
    user = staff_user()
    if user is None:
        raise ConnectionRefusedError("unauthorized")
    join_room(_staff_room(user.id))


def _session_still_valid() -> bool:
    """Each /staff event checks the session again (with its version): a connection whose
    session ended (logout, password reset, deactivation, role change) is cut here."""
    if staff_user() is not None:
        return True
    disconnect()
    return False


def end_staff_connections(user_id: int) -> None:
    """Cut this process's /staff connections of ``user_id``: their session has just ended."""
    server = getattr(socketio, "server", None)
    if server is None:
        return
    for sid, _eio_sid in list(server.manager.get_participants(STAFF_NS, _staff_room(user_id))):
        server.disconnect(sid, namespace=STAFF_NS)
    log.info("ended the /staff connections of user %s", user_id)


@socketio.on("join_office", namespace=STAFF_NS)
def staff_join_office(data=None):
    """Join an office the user may access; ``queue_updated`` follows every queue change."""
    if not _session_still_valid():
        return _fail("unauthorized", "Please log in as staff.")
    user = staff_user()
    slug = _slug(data)
    if slug is None:
        return _fail("invalid", 'Send {"office": SLUG}.')
    try:
        auth.require_office_access(user, get_office(slug))
    except UnknownOffice as exc:
        return _fail("unknown_office", exc.detail)
    except Forbidden as exc:
        return _fail("forbidden", exc.detail)
    join_room(office_room(slug))
    return {"ok": True, "office": slug, "seq": current_seq(slug), "server_time": _now()}


@socketio.on("leave_office", namespace=STAFF_NS)
def staff_leave_office(data=None):
    if not _session_still_valid():
        return _fail("unauthorized", "Please log in as staff.")
    slug = _slug(data)
    if slug:
        leave_room(office_room(slug))
    return {"ok": True}


@socketio.on("sync", namespace=STAFF_NS)
@reading()
def staff_sync(data=None):
    if not _session_still_valid():
        return _fail("unauthorized", "Please log in as staff.")
    slug = _slug(data)
    if slug is None or office_room(slug) not in rooms():
        return _fail("invalid", "Join the office first.")
    return {"ok": True, "office": slug, "seq": current_seq(slug), "server_time": _now()}


# ---------------------------------------------------------------- errors


@socketio.on_error_default
def _on_error(error: Exception):
    if isinstance(error, DomainError):  # UnknownOffice -> unknown_office, as the explicit refusals
        return _fail(re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower(), error.detail)
    log.exception("socket handler failed (%s)", getattr(request, "event", {}).get("message"))
    return _fail("internal", "Something went wrong on our side.")
