"""Tickets, their append-only event log, counter states and the per-day counters.

A walk-in ticket holds no personal data: a number, a service, an office, times and a random
token for its public status page. A checked-in appointment's ticket also knows the further
services booked (``further_services``) and how many persons come.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, str_enum, utcnow_default
from ..extensions import Model
from ..offices.models import Counter, Office, Service


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"  # also after a recall (recall_count says how often)
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    PARKED = "parked"
    CANCELLED = "cancelled"
    NOT_SERVED = "not_served"  # still open when the office closed its queue for the day


ACTIVE_AT_COUNTER = (TicketStatus.CALLED, TicketStatus.SERVING)
# The partial unique index's condition, as SQL text: a query that finds a counter's current
# ticket must say it in these very words (not with bound parameters) for SQLite to use the
# index; with ``status IN (?, ?)`` it scanned the whole tickets table once per counter.
ACTIVE_AT_COUNTER_SQL = "status IN ('called', 'serving')"
TERMINAL = (
    TicketStatus.DONE,
    TicketStatus.NO_SHOW,
    TicketStatus.CANCELLED,
    TicketStatus.NOT_SERVED,
)


class TicketKind(enum.StrEnum):
    WALKIN = "walkin"
    APPOINTMENT = "appointment"  # created by the check-in of a booked appointment


class Placement(enum.StrEnum):
    """Where staff put a ticket back into the queue (transfer, unpark)."""

    FRONT = "front"
    BACK = "back"


class Ticket(Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("office_id", "business_date", "prefix", "seq", name="uq_tickets_number"),
        UniqueConstraint("office_id", "idempotency_key", name="uq_tickets_idempotency_key"),
        CheckConstraint("seq >= 1 AND seq <= 999", name="ck_tickets_seq_range"),
        CheckConstraint("persons >= 1", name="ck_tickets_persons"),
        CheckConstraint(
            "status NOT IN ('called', 'serving') OR counter_id IS NOT NULL",
            name="ck_tickets_counter_when_called",
        ),
        # a counter works on at most one ticket at a time
        Index(
            "uq_tickets_active_counter",
            "counter_id",
            unique=True,
            sqlite_where=text(ACTIVE_AT_COUNTER_SQL),
            postgresql_where=text(ACTIVE_AT_COUNTER_SQL),
        ),
        Index("ix_tickets_queue", "office_id", "business_date", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", ondelete="SET NULL"))
    business_date: Mapped[date] = mapped_column(Date)  # office-local day of issue
    prefix: Mapped[str] = mapped_column(String(1))
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(8))  # prefix + three digits, e.g. "P042"
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus), default=TicketStatus.WAITING
    )
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind), default=TicketKind.WALKIN)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # appointment time
    placement: Mapped[Placement | None] = mapped_column(str_enum(Placement, length=10))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)  # entered the waiting queue (last)
    recall_count: Mapped[int] = mapped_column(Integer, default=0)
    transferred: Mapped[bool] = mapped_column(Boolean, default=False)
    target_counter_id: Mapped[int | None] = mapped_column(
        ForeignKey("counters.id", ondelete="SET NULL")
    )
    performed_service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    persons: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    lang: Mapped[str] = mapped_column(String(5), default="de", server_default="de")  # of issue
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    # one column per transition; each holds the latest occurrence (the event log holds all)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    serving_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unparked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship(foreign_keys=[service_id])
    counter: Mapped[Counter | None] = relationship(foreign_keys=[counter_id])
    target_counter: Mapped[Counter | None] = relationship(foreign_keys=[target_counter_id])
    performed_service: Mapped[Service | None] = relationship(foreign_keys=[performed_service_id])
    further_services: Mapped[list[TicketService]] = relationship(
        order_by="TicketService.position", cascade="all, delete-orphan"
    )

    @property
    def services(self) -> list[Service]:
        """Every service of the visit, the one it is queued for first."""
        if self.kind != TicketKind.APPOINTMENT:
            return [self.service]  # a walk-in has one (and no further rows to load)
        further = [f.service for f in self.further_services if f.service_id != self.service_id]
        return [self.service, *further]

    def __repr__(self) -> str:
        return f"<Ticket {self.number} {self.status.value}>"


class TicketService(Model):
    """A further service of a ticket (an appointment booked for several), in booked order."""

    __tablename__ = "ticket_services"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))

    service: Mapped[Service] = relationship(lazy="joined")


class TicketEvent(Model):
    """Append-only log of every transition (the statistics read it)."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_office_at", "office_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[TicketStatus | None] = mapped_column(str_enum(TicketStatus))
    to_status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class CounterStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class CounterState(Model):
    """Whether a counter takes tickets now and who works there (one row per counter)."""

    __tablename__ = "counter_states"

    counter_id: Mapped[int] = mapped_column(
        ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[CounterStatus] = mapped_column(
        str_enum(CounterStatus), default=CounterStatus.CLOSED
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)


class DayCounter(Model):
    """A number that only goes up, per office and local day: ticket numbers per prefix
    ("number:P") and walk-ins issued against the daily caps ("walkins", "walkins:PA").

    Bumped with one atomic upsert in the same transaction as the ticket insert, so numbers are
    gapless (a rollback takes the increment back) and caps hold under concurrency.
    """

    __tablename__ = "ticket_day_counters"

    office_id: Mapped[int] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def at_counter(counter_id, tickets=None):
    """The condition of the ticket called or served at ``counter_id`` (a column or a value),
    in the words of ``uq_tickets_active_counter`` so that the database uses that index;
    ``tickets`` an alias of the table (``aliased(Ticket, name=...)``) or, by default, the table."""
    if tickets is None:
        return and_(Ticket.counter_id == counter_id, text("tickets." + ACTIVE_AT_COUNTER_SQL))
    name = inspect(tickets).name
    return and_(tickets.counter_id == counter_id, text(f"{name}.{ACTIVE_AT_COUNTER_SQL}"))
