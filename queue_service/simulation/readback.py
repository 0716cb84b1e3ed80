"""What the deployment says happened, read back after the day: from the database when the
simulation started the deployment itself, else through the API (only what it was told about)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .. import clock as app_clock
from .actors import Api, Outcome


@dataclass
class StoredTicket:
    office: str
    number: str
    token: str
    status: str
    kind: str
    service: str
    issued_at: datetime | None
    called_at: datetime | None
    ended_at: datetime | None
    counter: int | None


@dataclass
class StoredAppointment:
    office: str
    code: str | None
    status: str
    start: datetime
    end: datetime
    email: str | None = None


@dataclass
class Stored:
    source: str  # "database" or "api"
    tickets: list[StoredTicket] = field(default_factory=list)
    appointments: list[StoredAppointment] = field(default_factory=list)
    # per ticket token: [(action, counter number)] in order (database only)
    events: dict[str, list[tuple[str, int | None]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # acknowledged but not found (API)


def from_database(database_url: str, day: date) -> Stored:
    """Every ticket and appointment of ``day`` in the database."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from .. import create_app
    from ..booking.models import Appointment
    from ..extensions import db
    from ..offices.models import Counter
    from ..tickets.models import Ticket, TicketEvent

    for scheme in ("postgres://", "postgresql://"):
        if database_url.startswith(scheme):
            database_url = "postgresql+psycopg://" + database_url[len(scheme) :]
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "readback"})
    stored = Stored("database")
    with app.app_context():
        tickets = db.session.scalars(
            select(Ticket)
            .options(
                joinedload(Ticket.office), joinedload(Ticket.service), joinedload(Ticket.counter)
            )
            .where(Ticket.business_date == day)
        ).all()
        by_id = {}
        for t in tickets:
            ended = t.finished_at or t.no_show_at or t.cancelled_at or t.closed_at
            stored.tickets.append(
                StoredTicket(
                    t.office.slug,
                    t.number,
                    t.token,
                    t.status.value,
                    t.kind.value,
                    t.service.code,
                    t.issued_at,
                    t.called_at,
                    ended,
                    t.counter.number if t.counter else None,
                )
            )
            by_id[t.id] = t.token
            stored.events[t.token] = []
        counters = {c.id: c.number for c in db.session.scalars(select(Counter))}
        for event in db.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id.in_(list(by_id)))
            .order_by(TicketEvent.id)
        ):
            stored.events[by_id[event.ticket_id]].append(
                (
                    event.action,
                    counters.get(event.counter_id) if event.counter_id is not None else None,
                )
            )
        first = app_clock.local_to_utc(day, time(0, 0))
        last = app_clock.local_to_utc(day + timedelta(days=1), time(0, 0))
        for a in db.session.scalars(
            select(Appointment)
            .options(joinedload(Appointment.office))
            .where(Appointment.start >= first, Appointment.start < last)
        ):
            stored.appointments.append(
                StoredAppointment(a.office.slug, a.code, a.status.value, a.start, a.end, a.email)
            )
        db.session.remove()
        db.engine.dispose()
    return stored


async def from_api(api: Api, outcome: Outcome, concurrency: int = 16) -> Stored:
    """Every ticket and booking the simulation was given, read back one by one."""
    stored = Stored("api")
    limit = asyncio.Semaphore(concurrency)

    async def ticket(token: str) -> None:
        async with limit:
            status, view = await api.send("GET", f"/api/v1/tickets/{token}", "readback_ticket")
        if status != 200:
            stored.missing.append(f"ticket {outcome.tickets[token].number}: {status}")
            return
        stored.tickets.append(
            StoredTicket(
                view["office"]["slug"],
                view["number"],
                token,
                view["status"],
                view["kind"],
                view["service"]["code"],
                _moment(view.get("issued_at")),
                _moment(view.get("called_at")),
                None,
                (view.get("counter") or {}).get("number"),
            )
        )

    async def appointment(token: str, code: str) -> None:
        async with limit:
            status, view = await api.send(
                "GET", f"/api/v1/appointments/{token}", "readback_booking"
            )
        if status != 200:
            stored.missing.append(f"booking {code}: {status}")
            return
        stored.appointments.append(
            StoredAppointment(
                view["office"]["slug"],
                view["code"],
                view["status"],
                datetime.fromisoformat(view["start"]),
                datetime.fromisoformat(view["end"]),
                view.get("email"),
            )
        )

    await asyncio.gather(
        *(ticket(token) for token in outcome.tickets),
        *(appointment(b.token, b.code) for b in outcome.bookings.values()),
    )
    return stored


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
