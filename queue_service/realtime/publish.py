"""The one emitter. Services call these functions inside a unit of work; the emit happens only
after the commit (a screen never shows a state that was rolled back), and a failed emit is logged,
never raised to the clerk.

Every event for an office's displays gets the office's next ``seq``, allocated here in the
service's own transaction (``OfficeEventSeq``): a rolled back change allocates nothing, and since
the row stays locked until the commit, seq order is commit order. After the commit the events of
the transaction are handed to a per-process dispatcher thread (``REALTIME_EMIT_IN_BACKGROUND``):
calls, messages and single tickets' updates go out at once; queue changes of an office are
gathered for ``REALTIME_COALESCE_SECONDS`` and then cost one queue read and one ``queue_updated``
naming every seq it stands for. The clerk's request never waits for the fan-out, for Redis or for
a slow socket. The protocol is described in docs/realtime-protocol.md.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from flask import Flask
from sqlalchemy import (
    JSON,
    BigInteger,
    Select,
    String,
    bindparam,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from .. import clock
from ..db import after_commit, in_unit_of_work
from ..extensions import app_object, db, socketio
from ..offices.models import Office
from ..sessions import reading
from .models import OfficeEventLog, OfficeEventSeq
from .readers import queue_readers
from .watched import watched

log = logging.getLogger(__name__)

DISPLAY_NS = "/display"
STAFF_NS = "/staff"


def office_room(office_slug: str) -> str:
    return f"office:{office_slug}"


def ticket_room(token: str) -> str:
    return f"ticket:{token}"


def emit_now(event: str, data: Any, *, room: str, namespace: str) -> None:
    """Emit immediately (use only outside a transaction); failures are logged and swallowed."""
    try:
        socketio.emit(event, data, to=room, namespace=namespace)
    except Exception:
        log.exception("could not emit %s to %s%s", event, namespace, room)


# ---------------------------------------------------------------- the office's seq


@lru_cache(maxsize=4)
def _bump_stmt(dialect: str):
    module = postgresql if dialect == "postgresql" else sqlite
    office: Select[int, Any] = select(Office.id, bindparam("n")).where(
        Office.slug == bindparam("slug")
    )
    return (
        module.insert(OfficeEventSeq)
        .from_select([OfficeEventSeq.office_id, OfficeEventSeq.seq], office)
        .on_conflict_do_update(
            index_elements=[OfficeEventSeq.office_id],
            set_={"seq": OfficeEventSeq.seq + bindparam("n")},
        )
        .returning(OfficeEventSeq.office_id, OfficeEventSeq.seq)
    )


def _allocate(session, office_slug: str, count: int = 1) -> tuple[int, int]:
    """Reserve ``count`` seqs of the office in the current transaction; return the office's id
    and the last seq."""
    stmt = _bump_stmt(session.get_bind().dialect.name)
    row = session.connection().execute(stmt, {"slug": office_slug, "n": count}).first()
    if row is None:
        raise RuntimeError(f"no office {office_slug!r} to publish to")
    return row[0], row[1]


@lru_cache(maxsize=1)
def _bump_and_log_stmt():
    """PostgreSQL: the office's seqs reserved and the one replayed event of the transaction
    logged in one statement (``_bump_stmt`` in a WITH clause; the event's seq is the ``back``-th
    before the last, written into its data too). Returns the office's id and the event's seq."""
    bumped = _bump_stmt("postgresql").cte("bumped")
    seq = bumped.c.seq - bindparam("back", type_=BigInteger)
    data = cast(
        cast(bindparam("log_data", type_=JSON), JSONB).op("||")(
            func.jsonb_build_object("seq", seq)
        ),
        JSON,
    )
    logged = select(bumped.c.office_id, seq, bindparam("log_event", type_=String), data)
    return (
        insert(OfficeEventLog)
        .from_select(["office_id", "seq", "event", "data"], logged)
        .returning(OfficeEventLog.office_id, OfficeEventLog.seq)
    )


def _allocate_and_log(
    session, office_slug: str, count: int, back: int, event: str, data: dict
) -> tuple[int, int]:
    """``_allocate`` and the event ``back`` seqs before the last logged for replay, in one
    statement (PostgreSQL)."""
    params = {"slug": office_slug, "n": count, "back": back, "log_event": event, "log_data": data}
    row = session.connection().execute(_bump_and_log_stmt(), params).first()
    if row is None:
        raise RuntimeError(f"no office {office_slug!r} to publish to")
    return row[0], row[1] + back


# the events a reconnecting display gets again (join_office with since): its calls
REPLAYED = ("ticket_called", "call_withdrawn")


def _log_replayed(
    session, office_id: int, last: int, count: int, events: list, logged: bool = False
) -> None:
    """Keep the office's calls of this transaction for reconnecting displays (same transaction,
    so the log holds exactly the committed calls), unless ``logged`` already with the seqs, and
    trim what is older than the window."""
    conn = session.connection()
    rows = [
        {"office_id": office_id, "seq": data["seq"], "event": name, "data": data}
        for name, data in events
        if name in REPLAYED
    ]
    if rows and not logged:
        conn.execute(insert(OfficeEventLog), rows)
    keep = int(app_object().config.get("DISPLAY_REPLAY_SEQS", 1000))
    every = max(1, keep // 10)  # trimmed when the seq passes a multiple of this: a tenth more kept
    if (last - count) // every != last // every:
        conn.execute(
            delete(OfficeEventLog).where(
                OfficeEventLog.office_id == office_id, OfficeEventLog.seq <= last - keep
            )
        )


@event.listens_for(Session, "before_commit")
def _allocate_seqs(session) -> None:
    """Give the transaction's events their seqs, as its last statements before the commit.

    Allocated here rather than when each event is published: the office's seq row stays locked
    from its update to the commit, so the later it is taken, the less the office's concurrent
    changes wait for each other. One statement per office (in slug order, so that two
    transactions never lock two offices' rows in opposite orders); within an office the events
    keep the order in which they were published.
    """
    batch = session.info.get("qs_realtime_batch")
    if batch is None or not batch.unnumbered:
        return
    session.flush()  # the change's own writes first: the seq row is locked only for the commit
    by_office: dict[str, list] = {}
    for office_slug, name, target in batch.unnumbered:
        by_office.setdefault(office_slug, []).append((name, target))
    batch.unnumbered = []
    one_statement = session.get_bind().dialect.name == "postgresql"
    for office_slug in sorted(by_office):
        targets = by_office[office_slug]
        count = len(targets)
        replayed = [i for i, (name, _) in enumerate(targets) if name in REPLAYED]
        # a call's transaction: its one replayed event logged with the seqs (one round trip)
        logged = one_statement and len(replayed) == 1
        if logged:
            name, data = targets[replayed[0]]
            back = count - 1 - replayed[0]
            office_id, last = _allocate_and_log(session, office_slug, count, back, name, data)
        else:
            office_id, last = _allocate(session, office_slug, count)
        for seq, (_, target) in enumerate(targets, start=last - count + 1):
            if isinstance(target, dict):
                target["seq"] = seq
            else:
                target.seq = seq
        _log_replayed(session, office_id, last, count, targets, logged)


@lru_cache(maxsize=1)
def _seq_stmt() -> Select:
    """Built once: every status page, display join and queue read asks for the seq, and building
    the statement (and the ORM's execute) cost several times what reading one row does."""
    return (
        select(OfficeEventSeq.seq)
        .join(Office, Office.id == OfficeEventSeq.office_id)
        .where(Office.slug == bindparam("slug"))
    )


def current_seq(office_slug: str) -> int:
    """The office's last allocated seq (0 before its first event)."""
    seq = db.session.connection().execute(_seq_stmt(), {"slug": office_slug}).scalar()
    return int(seq or 0)


def replay_since(office_slug: str, since: int, upto: int) -> dict:
    """The office's calls and withdrawn calls with a seq above ``since`` up to ``upto``, oldest
    first, for a display that reconnects; ``complete`` is false when the gap reaches back past
    the kept window (the display then has only the snapshot for the older part)."""
    keep = int(app_object().config.get("DISPLAY_REPLAY_SEQS", 1000))
    rows = db.session.execute(
        select(OfficeEventLog.event, OfficeEventLog.data)
        .join(Office, Office.id == OfficeEventLog.office_id)
        .where(Office.slug == office_slug, OfficeEventLog.seq > since, OfficeEventLog.seq <= upto)
        .order_by(OfficeEventLog.seq)
    ).all()
    # read after the rows: a trim committed before that read is bounded by this seq
    newest = current_seq(office_slug)
    return {
        "office": office_slug,
        "since": since,
        "seq": upto,
        "complete": since >= newest - keep,
        "events": [{"event": name, "data": data} for name, data in rows],
    }


# ---------------------------------------------------------------- what a transaction publishes


@dataclass
class _Emit:
    event: str
    data: Any
    room: str
    namespace: str


@dataclass
class _QueueUpdate:
    """``queue_updated`` for one office; its payload is read after the commit."""

    office: str
    seq: int | None = None  # given just before the commit


@dataclass(eq=False)
class _Batch:
    items: list = field(default_factory=list)
    queue_offices: set = field(default_factory=set)  # offices with a queue_updated already
    # (office, event, payload or item) awaiting a seq
    unnumbered: list = field(default_factory=list)

    def send(self) -> None:
        dispatch(app_object(), self)


def _batch() -> _Batch:
    """The batch of the current transaction (a new one after a commit or a rollback)."""
    if not in_unit_of_work():
        raise RuntimeError("realtime events are published from inside a unit of work")
    info = db.session().info
    batch = info.get("qs_realtime_batch")
    if batch is None or batch.send not in info.get("after_commit", ()):
        batch = _Batch()
        info["qs_realtime_batch"] = batch
        after_commit(batch.send)
    return batch


def office_message(office_slug: str, message_view: dict) -> None:
    """A ticker message of the office's displays was posted, changed, withdrawn or expired."""
    batch = _batch()
    payload = {**message_view, "office": office_slug, "seq": None}
    batch.unnumbered.append((office_slug, "office_message", payload))
    batch.items.append(_Emit("office_message", payload, office_room(office_slug), DISPLAY_NS))


# ---------------------------------------------------------------- the live queue

_CALL_KEYS = (
    "office",
    "number",
    "counter",
    "counter_name",
    "service",
    "recall_count",
    "call_id",
    "called_at",
    "server_time",
)


def ticket_called(office_slug: str, view: dict) -> None:
    """A number was called (or recalled) to a counter: for the office's displays.

    ``view`` is ``tickets.payloads.called_event``: number, counter, service code, call id and
    times; never a token or personal data.
    """
    batch = _batch()
    payload = {key: view[key] for key in _CALL_KEYS if key in view}
    payload["seq"] = None
    batch.unnumbered.append((office_slug, "ticket_called", payload))
    batch.items.append(_Emit("ticket_called", payload, office_room(office_slug), DISPLAY_NS))


def call_withdrawn(office_slug: str, number: str, reason: str) -> None:
    """A called number is no longer called (``reason``: no_show, parked, transferred): the
    office's displays take it off their list of calls."""
    batch = _batch()
    payload = {"office": office_slug, "number": number, "reason": reason, "seq": None}
    batch.unnumbered.append((office_slug, "call_withdrawn", payload))
    batch.items.append(_Emit("call_withdrawn", payload, office_room(office_slug), DISPLAY_NS))


def queue_changed(office_slug: str, *, seq: int | None = None) -> None:
    """Something in the office's queue changed: displays and clerk desks refresh their lists.

    One ``queue_updated`` per office and transaction; the waiting tickets' status pages get their
    new position (``ticket_updated``) from the same read after the commit. ``seq``: the seq
    the change's own write reserved for it (``seq_reserved_by_write``), else it gets one just
    before the commit.
    """
    batch = _batch()
    if office_slug in batch.queue_offices:
        return
    batch.queue_offices.add(office_slug)
    item = _QueueUpdate(office_slug, seq)
    if seq is None:
        batch.unnumbered.append((office_slug, "queue_updated", item))
    batch.items.append(item)


def seq_reserved_by_write(office_id, after):
    """PostgreSQL: the office's next seq reserved inside a change's write statement, as a WITH
    clause of it (one round trip less than ``_allocate_seqs``'s statement before the commit):
    an INSERT ... ON CONFLICT DO UPDATE of the office's seq row ``RETURNING seq``, fed by the
    CTE ``after`` (one row), so that it runs, and locks the row, after that CTE's own write:
    locks in the order of the other changes, which take the seq row last.

    For a change whose one numbered event is its office's ``queue_updated`` and which writes
    nothing after this statement (a walk-in's issue): the seq row is then held from this
    statement to the commit, as long as the seq's own statement would have held it. Its seq goes
    to ``queue_changed(office, seq=...)``; the replay log's trimming waits for the next call.
    """
    row = select(office_id, literal(1)).select_from(after)
    return (
        postgresql.insert(OfficeEventSeq)
        .from_select([OfficeEventSeq.office_id, OfficeEventSeq.seq], row)
        .on_conflict_do_update(
            index_elements=[OfficeEventSeq.office_id],
            set_={"seq": OfficeEventSeq.seq + 1},
        )
        .returning(OfficeEventSeq.seq)
    )


def ticket_updated(token: str, public_view: dict) -> None:
    """The state of one ticket changed: for the visitor's status page (its ticket room)."""
    _batch().items.append(_Emit("ticket_updated", public_view, ticket_room(token), DISPLAY_NS))


# ---------------------------------------------------------------- after the commit


def dispatch(app: Flask, batch: _Batch) -> None:
    """Hand a committed batch to the dispatcher (or deliver it now when configured so)."""
    if not batch.items:
        return
    if app.config.get("REALTIME_EMIT_IN_BACKGROUND", True):
        _dispatcher(app).put(batch)
    else:
        deliver(app, [batch])


def deliver(app: Flask, batches: list[_Batch]) -> None:
    """Emit the events of committed batches in order, each office's queue read once (at the end)."""
    pending: dict[str, list[int]] = {}
    with app.app_context():
        for batch in batches:
            pending_updates(batch, pending)
        for office, seqs in pending.items():
            deliver_queue(app, office, seqs)


def pending_updates(batch: _Batch, pending: dict[str, list[int]]) -> None:
    """Emit the batch's calls, messages and ticket updates now; collect its queue changes."""
    for item in batch.items:
        if isinstance(item, _QueueUpdate):
            assert item.seq is not None  # given just before the commit
            pending.setdefault(item.office, []).append(item.seq)
        else:
            emit_now(item.event, item.data, room=item.room, namespace=item.namespace)


# the waiting tickets' last pushed positions per (app, office): only changed ones go out again
_positions_sent: dict[tuple[int, str], tuple[float, dict]] = {}
POSITIONS_RESEND_SECONDS = 30.0  # and all of them now and then (another process may have sent)


def forget_pushed_positions(app: Flask) -> None:
    """Push every waiting ticket's position again next time (e.g. after the data was replaced)."""
    for key in [key for key in _positions_sent if key[0] == id(app)]:
        _positions_sent.pop(key, None)


def deliver_queue(app: Flask, office: str, seqs: list[int]) -> None:
    """One queue read for ``office``: ``queue_updated`` for the changes ``seqs``, then the waiting
    tickets' new positions (those that changed since this process last sent them)."""
    key = (id(app), office)
    sent_at, sent = _positions_sent.get(key, (0.0, {}))
    if time.monotonic() - sent_at > POSITIONS_RESEND_SECONDS:
        sent_at, sent = time.monotonic(), {}
    with app.app_context():
        # let the sockets' writers send what is queued first: under gevent the read below blocks
        # the whole process until it returns
        socketio.sleep(0)
        try:
            # the seq first: the state read afterwards holds every change up to it (section 5);
            # at READ COMMITTED a transaction adds nothing to that: both read without one
            # (queue_service/sessions.py)
            with reading():
                state_seq = current_seq(office)
                read = queue_readers().read_queue(office, sent)
        except Exception:
            log.exception("could not read the queue of %s for the displays", office)
            read, state_seq = None, max(seqs)
        finally:
            db.session.rollback()  # end the read transaction; nothing to keep
        _positions_sent[key] = (sent_at, sent)
        _emit_queue_update(office, seqs, state_seq, read)
        positions = read.positions if read else []
        # only to rooms with a status page open: most waiting tickets have none (a page that
        # opens later reads its position itself, and `sent` then holds what it read or older)
        listening = watched(app, [token for token, _ in positions], ticket_room)
        for token, view in positions:
            if token in listening:
                emit_now("ticket_updated", view, room=ticket_room(token), namespace=DISPLAY_NS)


def _emit_queue_update(office: str, seqs: list[int], state_seq: int, read) -> None:
    if read is None:  # the read failed: a bare notice still makes clients resync
        state = {
            "office": office,
            "server_time": clock.now().isoformat(timespec="milliseconds"),
            "stale": True,
        }
    else:
        state = read.state
    marks = {"seq": max(state_seq, *seqs), "seqs": sorted(seqs)}
    emit_now("queue_updated", {**state, **marks}, room=office_room(office), namespace=DISPLAY_NS)
    staff = {key: state[key] for key in ("office", "server_time", "waiting_total") if key in state}
    emit_now("queue_updated", {**staff, **marks}, room=office_room(office), namespace=STAFF_NS)


class Dispatcher:
    """One thread per process that delivers committed batches in commit order.

    Calls, messages and ticket updates go out as soon as their batch arrives. The queue changes
    of an office wait ``REALTIME_COALESCE_SECONDS`` from the first of them, so a burst costs one
    queue read and one ``queue_updated`` per office and window. The queue is bounded: if delivery
    is stuck (e.g. a hung Redis), the oldest batches are dropped with a log line, and the
    displays' seq check finds the gap.
    """

    MAX_PENDING = 10_000

    def __init__(self, app: Flask):
        self.app = app
        self.next_read = 0.0  # no queue read before (see REALTIME_READ_SHARE)
        self.pending: queue.Queue = queue.Queue()
        # office -> (due time, seqs, batches waiting for it)
        self.offices: dict[str, tuple[float, list[int], int]] = {}
        # counted here rather than with Queue.join(): gevent's patched queue has no
        # all_tasks_done, and wait_idle must work in both async modes
        self._idle = threading.Condition()
        self._unfinished = 0
        self.thread = threading.Thread(target=self._run, name="realtime-dispatcher", daemon=True)
        self.thread.start()
        # a command or job process may end right after its change: send what it committed first
        atexit.register(self.wait_idle, 5.0)

    def put(self, batch: _Batch) -> None:
        if self.pending.qsize() >= self.MAX_PENDING:
            try:
                self.pending.get_nowait()
                self._done(1)
                log.error("realtime dispatcher is behind; dropped the oldest batch of events")
            except queue.Empty:
                pass
        with self._idle:
            self._unfinished += 1
        self.pending.put(batch)

    def _done(self, count: int) -> None:
        with self._idle:
            self._unfinished -= count
            if self._unfinished <= 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until everything queued so far has been delivered (tests, shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished <= 0, timeout)

    def _run(self) -> None:
        while True:
            try:
                self._round()
            except Exception:
                log.exception("realtime delivery failed")

    def _round(self) -> None:
        wait = None
        if self.offices:
            first = max(self.next_read, min(due for due, _, _ in self.offices.values()))
            wait = max(0.0, first - time.monotonic())
        batches = []
        try:
            batches.append(self.pending.get(timeout=wait))
        except queue.Empty:
            pass
        self._take(batches)
        now = time.monotonic()
        if now < self.next_read:
            return
        for office in [o for o, (due, _, _) in self.offices.items() if due <= now]:
            _, seqs, count = self.offices.pop(office)
            try:
                deliver_queue(self.app, office, seqs)
            except Exception:
                log.exception("realtime delivery failed")
            finally:
                self._done(count)
            # the calls committed meanwhile go out now, not after the other offices' reads
            self._take([])
        # queue reads take at most this share of the process's time: under a flood of changes
        # the windows grow instead of the reads starving the requests (calls still go at once).
        # But never by more than REALTIME_READ_MAX_DEFER_SECONDS: the time is the reads' wall
        # time, which a busy machine stretches far beyond their CPU, and a queue_updated held
        # back longer than the displays wait for a missing seq (2 s) makes every display of the
        # office resync (a snapshot each: more load, longer reads).
        share = float(self.app.config.get("REALTIME_READ_SHARE", 0.25))
        cap = float(self.app.config.get("REALTIME_READ_MAX_DEFER_SECONDS", 1.0))
        spent = time.monotonic() - now
        self.next_read = now + min(spent / share, spent + cap) if share else 0.0

    def _take(self, batches: list[_Batch]) -> None:
        """Emit the calls, messages and ticket updates of ``batches`` and of every batch waiting
        in the queue, and note their queue changes for the office's next read."""
        try:
            while True:
                batches.append(self.pending.get_nowait())
        except queue.Empty:
            pass
        if not batches:
            return
        now = time.monotonic()
        window = float(self.app.config.get("REALTIME_COALESCE_SECONDS", 0.15))
        with self.app.app_context():
            for batch in batches:
                found: dict[str, list[int]] = {}
                try:
                    pending_updates(batch, found)
                except Exception:
                    log.exception("realtime delivery failed")
                for office, seqs in found.items():
                    due, known, count = self.offices.get(office, (now + window, [], 0))
                    self.offices[office] = (due, known + seqs, count + 1)
                if not found:
                    self._done(1)
                elif len(found) > 1:  # done once per office it touched
                    with self._idle:
                        self._unfinished += len(found) - 1


_dispatchers: dict[int, Dispatcher] = {}
_dispatchers_lock = threading.Lock()


def _dispatcher(app: Flask) -> Dispatcher:
    found = _dispatchers.get(id(app))
    if found is None or found.app is not app:
        with _dispatchers_lock:
            found = _dispatchers.get(id(app))
            if found is None or found.app is not app:
                found = _dispatchers[id(app)] = Dispatcher(app)
    return found


def wait_until_delivered(app: Flask | None = None, timeout: float = 5.0) -> bool:
    """True once this process has emitted everything committed so far."""
    app = app or app_object()
    found = _dispatchers.get(id(app))
    return True if found is None else found.wait_idle(timeout)
