"""Play a planned day through the real HTTP API and Socket.IO, in compressed time.

Everyone is a coroutine on one asyncio loop: visitors (walk-ins issue a ticket, appointment
holders check in), clerks (one per counter: call, start, serve, finish, pause), waiting-room
displays and visitors' phones (Socket.IO clients). The simulation's clock is the server's:
``sim minute = start + (real - anchor) * speed``, the same formula as ``CLOCK_SPEED``.
What the server answered is recorded for the report; nothing is checked here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import ssl
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import aiohttp
import socketio

from .plan import DayPlan, OfficePlan, Visit

TZ = ZoneInfo("Europe/Berlin")
TERMINAL = {"done", "no_show", "cancelled", "not_served"}
RETRY_WITH_KEY = (0, 500, 502, 503, 504)
REORDER_SECONDS = 2.0  # as display.js (REORDER_MS): events of two processes may cross
HEARTBEAT_SECONDS = 5.0  # the displays' sync (display.js: DISPLAY_POLL_SECONDS, 10 s)
GIVE_UP_AFTER = 4 * 60  # simulated minutes after closing: the server fell too far behind
DISPLAYS_JOIN_SECONDS = 15.0  # real seconds the clerks wait at most for the displays' snapshots


@dataclass
class SimClock:
    """Minutes of the simulated day from real time, as the server computes them."""

    midnight: datetime  # local midnight of the simulated day, aware
    start_minute: float  # the simulated minute at ``anchor``
    anchor: float  # real time.time()
    speed: float

    def minute(self) -> float:
        return self.start_minute + (time.time() - self.anchor) * self.speed / 60.0

    def real_seconds(self, minutes: float) -> float:
        return minutes * 60.0 / self.speed

    async def sleep(self, minutes: float) -> None:
        if minutes > 0:
            await asyncio.sleep(self.real_seconds(minutes))

    async def until(self, minute: float) -> None:
        await self.sleep(minute - self.minute())

    def minute_of(self, iso: str | None) -> float | None:
        if not iso:
            return None
        moment = datetime.fromisoformat(iso)
        return (moment - self.midnight).total_seconds() / 60.0

    def iso(self, minute: float) -> str:
        return (self.midnight + timedelta(minutes=minute)).isoformat()


@dataclass
class Request:
    endpoint: str
    seconds: float
    status: int  # 0: no answer (connection error, timeout)


@dataclass
class Call:
    """One call (or recall) as the clerk got it back, and who showed it."""

    office: str
    number: str
    recall: int
    sent: float  # real time the clerk sent the request
    answered: float
    counter: int
    seen: dict[str, float] = field(default_factory=dict)  # display id -> real receipt time
    resynced: set[str] = field(default_factory=set)  # displays that got it from a snapshot


@dataclass
class TicketRecord:
    visit: int
    office: str
    token: str
    number: str
    kind: str
    service: str
    issued_at: float  # simulated minutes (server time)
    due: float | None = None
    called_at: float | None = None
    counter: int | None = None
    finished_at: float | None = None
    status: str = "waiting"
    calls: int = 0


@dataclass
class Booking:
    visit: int
    office: str
    code: str
    token: str
    start: float
    end: float
    services: list[str]
    persons: int


@dataclass
class Display:
    id: str
    office: str
    connected: list[list[float]] = field(default_factory=list)  # [from, to] real times
    seq: int | None = None  # every seq up to this one is in hand (docs/realtime-protocol.md)
    ahead: set[int] = field(default_factory=set)  # seqs above it that have arrived
    resyncs: int = 0
    heartbeat_resyncs: int = 0  # of them: a seq the previous heartbeat reported never came
    reported: int | None = None  # the last heartbeat's seq, if it was ahead of ``seq``

    def lost_since_last_beat(self) -> bool:
        """Client rule 6: a seq the previous heartbeat reported has still not arrived (a whole
        beat later): it was lost. Checked as each heartbeat begins."""
        lost = self.seq is not None and self.reported is not None and self.seq < self.reported
        self.reported = None
        return lost

    def heard(self, seq: int) -> None:
        """The heartbeat's answer: a seq ahead of ours is checked at the next beat (events the
        server committed a moment ago may still be on their way)."""
        if self.seq is not None and seq > self.seq:
            self.reported = seq

    def take(self, seqs: list[int]) -> None:
        """Client rules 2 and 3: the event's seqs are in hand; move up while the next is."""
        if self.seq is None:  # rule 1: nothing counts before the first snapshot
            return
        self.ahead.update(s for s in seqs if s > self.seq)
        while self.seq + 1 in self.ahead:
            self.seq += 1
            self.ahead.discard(self.seq)

    def snapshot(self, seq: int | None) -> None:
        if seq is None:
            return
        self.seq = seq if self.seq is None else max(self.seq, seq)
        self.take([])
        self.ahead = {s for s in self.ahead if s > self.seq}


@dataclass
class Outcome:
    """Everything the day produced, for the report."""

    requests: list[Request] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    tickets: dict[str, TicketRecord] = field(default_factory=dict)
    bookings: dict[int, Booking] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    counter_time: dict[tuple[str, int], dict] = field(default_factory=dict)
    displays: dict[str, Display] = field(default_factory=dict)
    phone_calls: list[float] = field(default_factory=list)  # call -> phone latency, seconds
    phones: int = 0
    double_handouts: list[str] = field(default_factory=list)
    booking_seconds: float = 0.0
    started_real: float = 0.0
    ended_real: float = 0.0
    ended_minute: float = 0.0


@functools.cache
def _unverified_context() -> ssl.SSLContext:
    """A client TLS context that accepts any certificate (no CA certificates loaded)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Api:
    """The HTTP side: a bearer-token client that records every request's latency and retries
    what failed to connect (a restarted process, a proxy in between) within a time bound.

    It keeps no cookies. It speaks for every clerk, kiosk and resident of the city at once; with
    the routing cookie the production shape's proxy sets (qs_route, docs/deployment.md) all of
    them would be sent to one application process, as if the city were one browser. Without it
    each request is routed by its own id, so they spread over the processes as the city's many
    clients do. (aiohttp keeps no cookies for a bare address such as the production demo's
    https://127.0.0.1:PORT anyway; a deployment named by its host would have kept it.) The
    bearer API needs no session; the sockets keep theirs."""

    def __init__(self, base_url: str, token: str, outcome: Outcome, verify_tls: bool = True):
        self.base = base_url.rstrip("/")
        self.outcome = outcome
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.ssl = verify_tls  # False: accept a self-signed certificate
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self.session = aiohttp.ClientSession(
            headers=self.headers,
            connector=aiohttp.TCPConnector(limit=64, ssl=self.ssl),
            timeout=aiohttp.ClientTimeout(total=20),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.session is not None
        await self.session.close()

    async def once(self, method: str, path: str, endpoint: str, **kwargs) -> tuple[int, dict]:
        """One attempt: (status, body); status 0 when nothing came back."""
        assert self.session is not None
        began = time.perf_counter()
        try:
            async with self.session.request(method, self.base + path, **kwargs) as response:
                body = {}
                if response.content_type.endswith("json"):
                    body = await response.json()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            status, body = 0, {"error": type(exc).__name__}
        self.outcome.requests.append(Request(endpoint, time.perf_counter() - began, status))
        return status, body

    async def send(
        self,
        method: str,
        path: str,
        endpoint: str,
        retry_for: float = 60.0,
        retry_on: tuple[int, ...] = (0, 502, 503, 504),
        **kwargs,
    ) -> tuple[int, dict]:
        """Retry on no answer or 502/503/504 (the request did not reach a healthy process) for
        up to ``retry_for`` real seconds. Only for requests that are safe to repeat."""
        deadline = time.monotonic() + retry_for
        delay = 0.05
        while True:
            status, body = await self.once(method, path, endpoint, **kwargs)
            if status not in retry_on or time.monotonic() > deadline:
                return status, body
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


class Day:
    """One simulated day: set up the actors, run them, collect the outcome."""

    def __init__(
        self,
        plan: DayPlan,
        api: Api,
        clock: SimClock,
        socket_url: str,
        displays_per_office: int = 2,
        max_phones: int = 150,
        verify_tls: bool = True,
        seed: int = 0,
        progress=None,
    ):
        self.plan, self.api, self.clock = plan, api, clock
        self.outcome = api.outcome
        self.socket_url = socket_url
        self.displays_per_office = displays_per_office
        self.phone_slots = asyncio.Semaphore(max_phones)
        self.verify_tls = verify_tls
        self.rng = random.Random(seed + 7)
        self.progress = progress
        self.calls_by_key: dict[tuple[str, str, int], Call] = {}
        self.waiting: dict[str, dict[str, str]] = defaultdict(dict)  # office -> token -> service
        self.idle: dict[str, list[tuple[frozenset, asyncio.Future]]] = defaultdict(list)
        self.pending: dict[str, int] = defaultdict(int)  # office -> visits not yet ended
        self.arrivals_done: dict[str, bool] = defaultdict(bool)
        self.active: dict[str, int] = {}  # token -> counter holding it now
        self.sockets: list[socketio.AsyncClient] = []
        self.ended = 0
        self._running = False
        self._booking_began = time.time()
        self._early: dict[tuple, dict[str, float]] = defaultdict(dict)
        self._early_resync: dict[tuple, set[str]] = defaultdict(set)
        self._display_sockets: dict[str, socketio.AsyncClient] = {}
        self._displays_joined: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._visits: dict[str, Visit] = {}
        self._done: dict[str, asyncio.Event] = {}
        # a clerk's call can overtake the issue (or check-in) answer of the same ticket: the
        # server committed it, call-next answered first. Its record waits here for that answer,
        # and a visit served before it arrived is ended when it does.
        self._overtaken: dict[str, TicketRecord] = {}
        self._ended_before_answer: set[str] = set()
        self._tasks: list[asyncio.Task] = []

    # ------------------------------------------------------------------ sockets

    def _socket(self) -> socketio.AsyncClient:
        if self.verify_tls:
            return socketio.AsyncClient(
                reconnection=True, reconnection_delay=0.2, reconnection_delay_max=2
            )
        # Not verifying (the production demo's self-signed certificate): python-engineio would
        # build a new SSL context for every connection, and building one loads the system's CA
        # certificates (tens of ms of CPU): with hundreds of phones that was two thirds of the
        # simulator's CPU, taken from the servers it measures. One context, made once, instead.
        return socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=2,
            websocket_extra_options={"ssl": _unverified_context()},
        )

    async def _display(self, office: str, index: int) -> None:
        """A waiting-room display as the protocol describes it: join the office room, show
        each call; a seq still missing after REORDER_SECONDS, or a seq a heartbeat reported
        that has not come by the next heartbeat, was lost: resync (join again with since: the
        replay, then a fresh snapshot)."""
        display = Display(f"{office}-{index}", office)
        self.outcome.displays[display.id] = display
        sio = self._socket()
        self.sockets.append(sio)
        self._display_sockets[display.id] = sio

        waiting: list[asyncio.Future] = []  # the reorder wait running, if any

        async def resync(since: int | None, heartbeat: bool = False) -> None:
            display.resyncs += 1
            display.heartbeat_resyncs += heartbeat
            with contextlib.suppress(Exception):
                await sio.emit("join_office", _join(office, since), namespace="/display")

        async def lost_unless_it_arrives(missing_below: int) -> None:
            try:
                await asyncio.sleep(REORDER_SECONDS)
                if display.seq is not None and display.seq < missing_below:
                    await resync(display.seq)  # the calls after it come back as a replay
            finally:
                waiting.clear()

        async def advance(event: dict) -> None:
            seqs = event.get("seqs") or [event.get("seq")]
            display.take([seq for seq in seqs if isinstance(seq, int)])
            if display.ahead and not waiting:  # rule 4: a seq missing for REORDER_SECONDS is lost
                waiting.append(asyncio.ensure_future(lost_unless_it_arrives(max(display.ahead))))

        @sio.on("connect", namespace="/display")
        async def _connected():
            display.connected.append([time.time(), float("inf")])
            await sio.emit("join_office", _join(office, display.seq), namespace="/display")

        @sio.on("disconnect", namespace="/display")
        async def _gone(*_):
            if display.connected and display.connected[-1][1] == float("inf"):
                display.connected[-1][1] = time.time()

        @sio.on("ticket_called", namespace="/display")
        async def _called(event):
            call = self.calls_by_key.get((office, event["number"], event["recall_count"]))
            now = time.time()
            if call is None:  # the event overtook the clerk's answer: remember it for later
                self._early[(office, event["number"], event["recall_count"])][display.id] = now
            else:
                call.seen.setdefault(display.id, now)
            await advance(event)

        @sio.on("queue_updated", namespace="/display")
        async def _queue(event):
            await advance(event)

        def recovered(entry: dict) -> None:
            key = (office, entry["number"], entry["recall_count"])
            call = self.calls_by_key.get(key)
            if call is None:
                self._early_resync[key].add(display.id)
            elif display.id not in call.seen:
                call.resynced.add(display.id)

        @sio.on("display_replay", namespace="/display")
        async def _replay(replay):
            for item in replay.get("events", []):
                if item.get("event") == "ticket_called":
                    recovered(item["data"])

        @sio.on("display_state", namespace="/display")
        async def _snapshot(state):
            display.snapshot(state.get("seq"))
            self._displays_joined[display.id].set()
            for entry in state.get("calls", []):
                recovered(entry)

        async def heartbeat() -> None:
            while True:  # ends when the day's tasks are cancelled
                await asyncio.sleep(HEARTBEAT_SECONDS)
                if not sio.connected:
                    continue
                if display.lost_since_last_beat():
                    await resync(display.seq, heartbeat=True)
                try:
                    ack = await sio.call(
                        "sync", {"office": office}, namespace="/display", timeout=5
                    )
                except socketio.exceptions.SocketIOError:  # no answer: the next beat tries
                    continue
                if ack.get("ok") and isinstance(ack.get("seq"), int):
                    display.heard(ack["seq"])

        await sio.connect(
            self.socket_url,
            namespaces=["/display"],
            transports=["websocket"],
            wait_timeout=10,
            retry=True,
        )
        self._tasks.append(asyncio.ensure_future(heartbeat()))

    async def _final_resync(self) -> None:
        """Every display asks for the snapshot once more at the end, as its heartbeat would."""
        for display_id, sio in self._display_sockets.items():
            if sio.connected:
                display = self.outcome.displays[display_id]
                with contextlib.suppress(socketio.exceptions.SocketIOError):
                    await sio.call(
                        "join_office",
                        _join(display.office, display.seq),
                        namespace="/display",
                        timeout=5,
                    )

    async def _phone(self, token: str, done: asyncio.Event) -> None:
        """A visitor's status page: joins the ticket room until the visit ends."""
        async with self.phone_slots:
            sio = self._socket()
            called = asyncio.Event()

            @sio.on("ticket_updated", namespace="/display")
            async def _updated(view):
                if view.get("status") == "called" and not called.is_set():
                    called.set()
                    record = self.outcome.tickets.get(token)
                    call = self._last_call(record)
                    if call is not None:
                        self.outcome.phone_calls.append(time.time() - call.sent)

            @sio.on("connect", namespace="/display")
            async def _connected():
                await sio.emit("join_ticket", {"token": token}, namespace="/display")

            try:
                await sio.connect(
                    self.socket_url,
                    namespaces=["/display"],
                    transports=["websocket"],
                    wait_timeout=10,
                )
                self.outcome.phones += 1
                await done.wait()
            except (TimeoutError, socketio.exceptions.ConnectionError) as exc:
                self.outcome.errors.append(f"phone connect: {exc}")
            finally:
                with contextlib.suppress(Exception):  # leaving anyway
                    await asyncio.wait_for(sio.disconnect(), 5)

    def _last_call(self, record: TicketRecord | None) -> Call | None:
        if record is None:
            return None
        return self.calls_by_key.get((record.office, record.number, 0))

    # ------------------------------------------------------------------ visitors

    def _wake(self, office: str, service: str) -> None:
        """Tell one idle clerk who can serve ``service`` (as the desk hears queue_updated)."""
        for i, (services, future) in enumerate(self.idle[office]):
            if service in services and not future.done():
                future.set_result(True)
                del self.idle[office][i]
                return

    def _take_ticket(self, visit: Visit, view: dict, kind: str) -> TicketRecord:
        if view["token"] in self.outcome.tickets:
            self.outcome.errors.append(f"ticket {view['number']} handed out twice")
        called = self._overtaken.pop(view["token"], None)
        record = called or TicketRecord(
            visit=visit.id,
            office=visit.office,
            token=view["token"],
            number=view["number"],
            kind=kind,
            service=view["service"]["code"],
            issued_at=0.0,
        )
        record.visit, record.kind, record.service = visit.id, kind, view["service"]["code"]
        record.issued_at = self.clock.minute_of(view["issued_at"]) or self.clock.minute()
        record.due = self.clock.minute_of(view.get("due_at"))
        self.outcome.tickets[record.token] = record
        if called is None:  # not called yet: it waits
            self.waiting[visit.office][record.token] = record.service
            self._wake(visit.office, record.service)
        return record

    async def _walk_in(self, visit: Visit, office: OfficePlan) -> None:
        first = office.walkin_windows[0][0] if office.walkin_windows else visit.arrival
        await self.clock.until(max(visit.arrival, first + self.rng.uniform(0, 3)))
        status, body = await self.api.send(
            "POST",
            f"/api/v1/offices/{visit.office}/tickets",
            "issue",
            json={"service": visit.services[0]},
            headers={"Idempotency-Key": f"sim-{self.plan.seed}-{visit.id}-{uuid.uuid4().hex[:8]}"},
            # with the key a repeat is safe even after a 500 (seen when PostgreSQL went down
            # after the commit: the ticket existed, the answer was an error)
            retry_on=RETRY_WITH_KEY,
        )
        if status != 201:
            self.outcome.refused[f"issue {status} {body.get('reason', '')}".strip()] += 1
            self._visit_ended(visit.office)
            return
        await self._follow(visit, self._take_ticket(visit, body, "walkin"))

    async def _appointment(self, visit: Visit, booking: Booking) -> None:
        if visit.no_show:
            return
        await self.clock.until(booking.start + visit.arrival_offset)
        status, body = await self.api.send(
            "POST",
            f"/api/v1/offices/{visit.office}/check-in",
            "check_in",
            json={"code": booking.code},
            retry_on=RETRY_WITH_KEY,  # a repeated check-in returns the same ticket
        )
        if status not in (200, 201):
            self.outcome.refused[f"check-in {status} {body.get('reason', '')}".strip()] += 1
            self._visit_ended(visit.office)
            return
        record = self._take_ticket(visit, body, "appointment")
        if record.due is None:
            record.due = booking.start
        # its time has come: the clerks may call it before walk-ins now
        asyncio.get_running_loop().call_later(
            max(self.clock.real_seconds(booking.start - self.clock.minute()), 0),
            self._wake,
            visit.office,
            record.service,
        )
        await self._follow(visit, record)

    async def _follow(self, visit: Visit, record: TicketRecord) -> None:
        self._visits[record.token] = visit
        done = asyncio.Event()
        if record.token in self._ended_before_answer:  # served before this answer came
            self._ended_before_answer.discard(record.token)
            self._visit_ended(visit.office)
            return
        self._done[record.token] = done
        if visit.phone:
            asyncio.ensure_future(self._phone(record.token, done))

    def _visit_ended(self, office: str) -> None:
        self.pending[office] -= 1
        self.ended += 1
        if self.pending[office] <= 0:  # the last visitor left: idle clerks may go home
            for _services, future in self.idle[office]:
                if not future.done():
                    future.set_result(True)

    # ------------------------------------------------------------------ clerks

    async def _counter_action(self, office: str, number: int, action: str) -> None:
        await self.api.send(
            "POST", f"/api/v1/offices/{office}/counters/{number}/{action}", f"counter_{action}"
        )

    async def _call_next(self, office: str, number: int) -> dict | None:
        """Call the next ticket; after a lost answer, ask the counter what it holds."""
        sent = time.time()
        for _ in range(120):
            status, body = await self.api.once(
                "POST", f"/api/v1/offices/{office}/counters/{number}/call-next", "call_next"
            )
            if status in (200, 204):
                return {"view": body, "sent": sent} if status == 200 else None
            if status == 409:  # the counter already holds a ticket: a call whose answer was lost
                break
            if status not in (0, 502, 503, 504, 500):
                self.outcome.errors.append(f"call-next {status}: {body}")
                return None
            await asyncio.sleep(0.25)
        status, body = await self.api.send(
            "GET", f"/api/v1/offices/{office}/counters/{number}", "counter"
        )
        current = body.get("current") if status == 200 else None
        if current:
            return {"view": current, "sent": sent}
        return None

    async def _ticket_action(self, record: TicketRecord, action: str, target: str) -> dict:
        """start / finish / recall / no-show; a repeat after a lost answer that finds the
        ticket already there counts as done."""
        for _ in range(120):
            status, body = await self.api.once(
                "POST",
                f"/api/v1/tickets/{record.token}/{action}",
                action.replace("-", "_"),
                json={},
            )
            if status == 200:
                return body
            if status == 409:
                _, view = await self.api.send(
                    "GET", f"/api/v1/tickets/{record.token}", "ticket_status"
                )
                if view.get("status") == target or (
                    action == "recall" and view.get("status") == "called"
                ):
                    return view
                self.outcome.errors.append(f"{action} {record.number}: {body.get('detail')}")
                return view
            if status not in (0, 500, 502, 503, 504):
                self.outcome.errors.append(f"{action} {record.number} {status}: {body}")
                return body
            await asyncio.sleep(0.25)
        self.outcome.errors.append(f"{action} {record.number}: no answer")
        return {}

    def _register_call(self, office: str, view: dict, sent: float, counter: int) -> Call:
        recall = int(view.get("recall_count") or 0)
        call = Call(office, view["number"], recall, sent, time.time(), counter)
        key = (office, view["number"], recall)
        call.seen.update(self._early.pop(key, {}))
        call.resynced.update(self._early_resync.pop(key, set()) - set(call.seen))
        self.calls_by_key[key] = call
        self.outcome.calls.append(call)
        return call

    async def _clerk(self, office: OfficePlan, number: int, services: frozenset) -> None:
        slug = office.slug
        key = (slug, number)
        times = {"open": 0.0, "busy": 0.0, "paused": 0.0, "served": 0}
        self.outcome.counter_time[key] = times
        # at the desk a few minutes before the doors open, as clerks are: the walk-ins waiting
        # at the door find the counters open (the forecast counts open counters), and the
        # counters' 72 openings do not fall into the door's burst of tickets
        await self.clock.until(office.opens - self.rng.uniform(1, 8))
        await self._counter_action(slug, number, "open")
        opened = self.clock.minute()
        break_at = self.rng.uniform(office.opens + 90, office.opens + 210)
        took_break = False
        while True:
            now = self.clock.minute()
            if not took_break and break_at <= now < office.closes:
                took_break = True
                await self._pause(slug, number, times, self.rng.uniform(10, 15))
                continue
            gap = self._gap(office, now)
            if gap is not None and not self._eligible(slug, services):
                await self._pause(slug, number, times, gap - now)  # lunch: between windows
                continue
            if now >= office.closes and self.pending[slug] <= 0:
                break
            if now >= office.closes + GIVE_UP_AFTER:
                # the server could not keep up with the compressed clock: the day is lost
                self.outcome.errors.append(
                    f"{slug} counter {number}: still {self.pending[slug]} visits at "
                    f"{int(now // 60) % 24:02d}:{int(now % 60):02d}; gave up"
                )
                break
            if not self._eligible(slug, services):
                await self._idle(slug, services, 10.0)
                continue
            got = await self._call_next(slug, number)
            if got is None:
                await self._idle(slug, services, 5.0)
                continue
            await self._serve(office, number, got["view"], got["sent"], times)
        await self._counter_action(slug, number, "close")
        times["open"] = self.clock.minute() - opened - times["paused"]

    def _gap(self, office: OfficePlan, now: float) -> float | None:
        """The start of the next window when ``now`` lies between two windows."""
        windows = sorted(
            [(s, e) for s, e in office.walkin_windows]
            + [(s, e) for s, e, _ in office.appointment_windows]
        )
        inside = any(s <= now < e for s, e in windows)
        later = [s for s, _ in windows if s > now]
        if inside or not later:
            return None
        return min(later)

    def _eligible(self, office: str, services: frozenset) -> bool:
        return any(code in services for code in self.waiting[office].values())

    async def _idle(self, office: str, services: frozenset, minutes: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.idle[office].append((services, future))
        try:
            await asyncio.wait_for(future, self.clock.real_seconds(minutes))
        except TimeoutError:
            pass
        finally:
            self.idle[office] = [(s, f) for s, f in self.idle[office] if f is not future]

    async def _pause(self, office: str, number: int, times: dict, minutes: float) -> None:
        await self._counter_action(office, number, "pause")
        began = self.clock.minute()
        await self.clock.sleep(minutes)
        await self._counter_action(office, number, "open")
        times["paused"] += self.clock.minute() - began

    async def _serve(
        self, office: OfficePlan, number: int, view: dict, sent: float, times: dict
    ) -> None:
        slug = office.slug
        token = view["token"]
        record = self.outcome.tickets.get(token)
        if record is None:  # its issue answer is still on its way, or left from an earlier run
            record = TicketRecord(
                -1, slug, token, view["number"], view.get("kind", "walkin"), "", 0
            )
            self._overtaken[token] = record
        holder = self.active.get(token)
        if holder is not None and holder != number:
            self.outcome.double_handouts.append(f"{slug} {record.number}: {holder} and {number}")
        self.active[token] = number
        self.waiting[slug].pop(token, None)
        self._register_call(slug, view, sent, number)
        record.called_at = self.clock.minute_of(view.get("called_at")) or self.clock.minute()
        record.counter = number
        record.calls += 1
        visit = self._visits.get(token)
        try:
            if visit is not None and visit.gone:
                for _ in range(2):  # recalled twice, then a no-show
                    await self.clock.sleep(1.0)
                    recalled = await self._ticket_action(record, "recall", "called")
                    if recalled.get("number"):
                        self._register_call(slug, recalled, time.time(), number)
                await self.clock.sleep(1.0)
                end = await self._ticket_action(record, "no-show", "no_show")
                record.status = end.get("status", "no_show")
                record.finished_at = self.clock.minute()
            else:
                await self.clock.sleep(self.rng.uniform(0.5, 2.0))  # walking to the counter
                await self._ticket_action(record, "start", "serving")
                await self.clock.sleep(visit.duration if visit else 5.0)
                end = await self._ticket_action(record, "finish", "done")
                record.status = end.get("status", "done")
                record.finished_at = self.clock.minute_of(end.get("finished_at")) or (
                    self.clock.minute()
                )
                times["served"] += 1
            times["busy"] += (record.finished_at or self.clock.minute()) - record.called_at
        finally:
            self.active.pop(token, None)
            done = self._done.pop(token, None)
            if done is not None:
                done.set()
            visit = visit or self._visits.get(token)  # its answer may have come meanwhile
            if visit is not None:
                self._visit_ended(slug)
            elif token in self._overtaken:
                self._ended_before_answer.add(token)
        await self.clock.sleep(self.rng.uniform(0.2, 1.0))  # notes, next file

    # ------------------------------------------------------------------ bookings

    async def book(self, visit: Visit, api: Api | None = None) -> Booking | None:
        """Hold the wished time (or the next ones, 5 minutes apart) and book it; when those
        are taken, search the day's free times once and take the first at or after the wish.
        (Searching first costs the server more: a day's slot search is about three holds.)"""
        api = api or self.api
        closes = self.plan.offices[visit.office].closes
        wishes = [visit.arrival + 5 * i for i in range(4) if visit.arrival + 5 * i < closes]
        for start in wishes:
            booking = await self._hold_and_book(visit, start, api)
            if booking is not False:
                return booking or None
        day = self.plan.day.isoformat()
        status, body = await api.send(
            "GET",
            f"/api/v1/offices/{visit.office}/slots",
            "slots",
            params={
                "services": ",".join(visit.services),
                "persons": visit.persons,
                "from": day,
                "to": day,
            },
        )
        if status != 200:
            self.outcome.refused[f"slots {status}"] += 1
            return None
        starts = [self.clock.minute_of(s["start"]) for s in body.get("slots", [])]
        free = [m for m in starts if m is not None and m < closes]  # a shortened day ends early
        if not free:
            self.outcome.refused["booking: day full"] += 1
            return None
        later = [m for m in free if m >= visit.arrival] or free[::-1]
        booking = await self._hold_and_book(visit, later[0], api)
        if booking is False:
            self.outcome.refused["booking: taken meanwhile"] += 1
        return booking or None

    async def _hold_and_book(
        self, visit: Visit, start: float, api: Api
    ) -> Booking | Literal[False] | None:
        """The booking; False when the time is not free (taken, or no slot there); None when
        the server refused otherwise."""
        payload = {
            "office": visit.office,
            "services": visit.services,
            "persons": visit.persons,
            "start": self.clock.iso(start),
        }
        status, hold = await api.send("POST", "/api/v1/holds", "hold", json=payload)
        if status in (409, 422):
            return False
        if status != 201:
            self.outcome.refused[f"hold {status}"] += 1
            return None
        contact = {
            "name": f"Sim Person {visit.id}",
            "email": f"sim-{self.plan.seed}-{visit.id}@example.org",
            "hold": hold["hold"],
        }
        status, body = await api.send(
            "POST", "/api/v1/appointments", "book", json=payload | contact
        )
        if status == 409:  # a repeat after a lost answer: the hold says what became of it
            status, body = await api.send(
                "GET", f"/api/v1/appointments/{hold['hold']}", "appointment"
            )
            if status == 200 and body.get("status") in ("confirmed", "pending"):
                status = 201
        if status != 201:
            self.outcome.refused[f"book {status}"] += 1
            return None
        begins, ends = self.clock.minute_of(body["start"]), self.clock.minute_of(body["end"])
        if begins is None or ends is None:
            self.outcome.refused["book: no time in the answer"] += 1
            return None
        booking = Booking(
            visit.id,
            visit.office,
            body["code"],
            body.get("manage_url", "").rstrip("/").rsplit("/", 1)[-1] or hold["hold"],
            begins,
            ends,
            visit.services,
            visit.persons,
        )
        self.outcome.bookings[visit.id] = booking
        return booking

    async def book_all(self, concurrency: int = 8, apis: list[Api] | None = None) -> None:
        """Book every planned appointment (earliest wishes first), as residents do ahead:
        ``concurrency`` residents at a time per server process in ``apis`` (default: ours)."""
        queue: asyncio.Queue = asyncio.Queue()
        for visit in sorted(self.plan.visits, key=lambda v: v.arrival):
            if visit.kind == "appointment" and visit.id not in self.outcome.bookings:
                queue.put_nowait(visit)

        async def worker(api: Api):
            while not queue.empty():
                visit = queue.get_nowait()
                booking = await self.book(visit, api)
                if booking is not None and self._running:
                    self._expect(visit, booking)

        await asyncio.gather(
            *(worker(api) for api in apis or [self.api] for _ in range(concurrency))
        )
        self.outcome.booking_seconds = time.time() - self._booking_began

    def _expect(self, visit: Visit, booking: Booking) -> None:
        if not visit.no_show:
            self.pending[visit.office] += 1
            self._tasks.append(asyncio.ensure_future(self._appointment(visit, booking)))

    async def _ticker(self, end: float) -> None:
        last = self.clock.minute()
        while True:
            await asyncio.sleep(0.5)
            now = self.clock.minute()
            if self.progress is not None:
                self.progress.update(round(max(0.0, min(now, end) - min(last, end)), 2))
                waiting = sum(len(w) for w in self.waiting.values())
                self.progress.set_postfix(
                    local=f"{int(now // 60):02d}:{int(now % 60):02d}",
                    tickets=len(self.outcome.tickets),
                    waiting=waiting,
                    ended=self.ended,
                    refresh=False,
                )
            last = now

    async def run(self, deadline_seconds: float, book: bool = True) -> Outcome:
        """Play the day; with ``book`` the appointments are booked first (a running deployment
        whose clock is before opening), else those already in the outcome are played."""
        self.outcome.started_real = time.time()
        self._running = True
        for visit in self.plan.visits:
            if visit.kind == "walkin":
                self.pending[visit.office] += 1
        for visit in self.plan.visits:
            booking = self.outcome.bookings.get(visit.id)
            if booking is not None:
                self._expect(visit, booking)
        await asyncio.gather(
            *(
                self._display(slug, i)
                for slug in self.plan.offices
                for i in range(self.displays_per_office)
            )
        )
        # the screens are on before the clerks start: a call made before a display's first
        # snapshot would reach it neither live nor (the snapshot holds only the last few
        # minutes, seconds of real time here) from the snapshot; on a slow machine the clerks
        # wait for the displays rather than the other way round
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(self._displays_joined[d].wait() for d in self.outcome.displays)),
                DISPLAYS_JOIN_SECONDS,
            )
        ticker = asyncio.ensure_future(self._ticker(self.plan.end))
        walkins = [v for v in self.plan.visits if v.kind == "walkin"]
        clerks = [
            asyncio.ensure_future(self._clerk(office, counter.number, counter.services))
            for office in self.plan.offices.values()
            for counter in office.counters
        ]
        self._tasks += [
            asyncio.ensure_future(self._walk_in(v, self.plan.offices[v.office])) for v in walkins
        ]
        try:
            await asyncio.wait_for(self._play(book, clerks), timeout=deadline_seconds)
        except TimeoutError:
            self.outcome.errors.append(f"the day did not end within {deadline_seconds:.0f} s")
        finally:
            ticker.cancel()
            for task in [*clerks, *self._tasks]:
                task.cancel()
            await asyncio.sleep(max(0.5, self.clock.real_seconds(0.5)))  # last events arrive
            await self._final_resync()
            self.outcome.ended_real = time.time()
            self.outcome.ended_minute = self.clock.minute()
            await self._disconnect_all()
            for display in self.outcome.displays.values():
                if display.connected and display.connected[-1][1] == float("inf"):
                    display.connected[-1][1] = self.outcome.ended_real
        return self.outcome

    async def _disconnect_all(self) -> None:
        async def one(sio):
            with contextlib.suppress(Exception):  # leaving anyway
                await asyncio.wait_for(sio.disconnect(), 5)

        await asyncio.gather(*(one(sio) for sio in self.sockets))
        for done in self._done.values():
            done.set()  # phones leave
        await asyncio.sleep(0.2)

    async def _play(self, book: bool, clerks: list[asyncio.Task]) -> None:
        if book:
            await self.book_all()
        await asyncio.gather(*clerks)


def _join(office: str, since: int | None) -> dict:
    """``join_office`` as display.js sends it: after the first snapshot with the seq in hand, so
    the server replays every call after it (also those past the snapshot's last ten)."""
    return {"office": office} if since is None else {"office": office, "since": since}
