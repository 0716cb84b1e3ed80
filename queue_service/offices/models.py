"""Catalogue models. Times of day are office-local wall-clock times; moments are aware UTC."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, str_enum, utcnow_default
from ..extensions import Model, db

counter_services = Table(
    "counter_services",
    db.metadata,
    Column("counter_id", ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)

mobile_event_services = Table(
    "mobile_event_services",
    db.metadata,
    Column("event_id", ForeignKey("mobile_events.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class WindowKind(enum.StrEnum):
    APPOINTMENT = "appointment"
    WALKIN = "walkin"


class Office(Model):
    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(120))
    is_mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    walkin_daily_cap: Mapped[int | None] = mapped_column(Integer)
    # a manager stopped walk-in tickets early on this (local) day, with a reason for visitors
    walkins_closed_on: Mapped[date | None] = mapped_column(Date)
    walkins_closed_reason: Mapped[str | None] = mapped_column(String(200))
    walkins_closed_message_id: Mapped[int | None] = mapped_column(Integer)
    # capacity rules a manager sets (docs/walk-in-forecast.md): the share (per cent) of each
    # appointment window kept back from online booking for walk-ins ("Kontingent für
    # Spontankunden"), and when online booking of a day closes, its unbooked capacity going to
    # the waitlist and to walk-ins ("Online-Buchungsschluss": so many days before, at this
    # local time; None: never before the booking lead time)
    walkin_share_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    online_closes_days_before: Mapped[int | None] = mapped_column(Integer)
    online_closes_at: Mapped[time | None] = mapped_column(Time)
    # Fields whose values are demo data to be replaced by the city (see the catalogue file).
    demo_fields: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    # the building's accessibility as residents need it (step-free entrance, lift, toilet...)
    accessibility_de: Mapped[str | None] = mapped_column(Text)
    accessibility_en: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    services: Mapped[list[OfficeService]] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )
    counters: Mapped[list[Counter]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="Counter.number"
    )

    def walkins_closed_reason_on(self, day: date) -> str | None:
        """Why walk-in tickets stopped early on ``day`` (a local date), or None."""
        return self.walkins_closed_reason if self.walkins_closed_on == day else None

    hours: Mapped[list[OpeningWindow]] = relationship(
        back_populates="office",
        cascade="all, delete-orphan",
        order_by="(OpeningWindow.weekday, OpeningWindow.kind, OpeningWindow.start_time)",
    )

    def accessibility(self, lang: str) -> str | None:
        return (
            (self.accessibility_en or self.accessibility_de)
            if lang != "de"
            else (self.accessibility_de)
        )

    def __repr__(self) -> str:
        return f"<Office {self.slug}>"


class Service(Model):
    __tablename__ = "services"
    __table_args__ = (CheckConstraint("length(prefix) = 1", name="ck_services_prefix_len"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    prefix: Mapped[str] = mapped_column(String(1))
    name_de: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description_de: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    extra_person_minutes: Mapped[int] = mapped_column(Integer, default=0)
    walk_in_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    online_bookable: Mapped[bool] = mapped_column(Boolean, default=True)
    short_matter: Mapped[bool] = mapped_column(Boolean, default=False)
    online_alternative_url: Mapped[str | None] = mapped_column(String(300))
    documents_de: Mapped[list] = mapped_column(JSON, default=list)
    documents_en: Mapped[list] = mapped_column(JSON, default=list)
    group: Mapped[str] = mapped_column(String(40), default="other")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    demo_fields: Mapped[list] = mapped_column(JSON, default=list)

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_de

    def description(self, lang: str) -> str | None:
        return self.description_en if lang == "en" else self.description_de

    def documents(self, lang: str) -> list[str]:
        return list(self.documents_en if lang == "en" else self.documents_de)

    def duration_for(self, persons: int = 1) -> int:
        return self.duration_minutes + max(persons - 1, 0) * self.extra_person_minutes

    def __repr__(self) -> str:
        return f"<Service {self.code}>"


class OfficeService(Model):
    """Which office offers which service (with an optional per-service daily walk-in cap)."""

    __tablename__ = "office_services"

    office_id: Mapped[int] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    walkin_daily_cap: Mapped[int | None] = mapped_column(Integer)

    office: Mapped[Office] = relationship(back_populates="services")
    service: Mapped[Service] = relationship()


class Counter(Model):
    """A counter ("Platz N") in an office and the services it can serve."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("office_id", "number", name="uq_counters_office_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    office: Mapped[Office] = relationship(back_populates="counters")
    services: Mapped[list[Service]] = relationship(
        secondary=counter_services, order_by="Service.sort_order"
    )

    @property
    def display_name(self) -> str:
        return self.label or f"Platz {self.number}"


class OpeningWindow(Model):
    """One opening window on a weekday (0 = Monday), for appointments or for walk-ins.

    ``capacity`` is, for appointment windows, how many appointments run in parallel
    (the counters set aside for appointments); ``None`` means all active counters.
    """

    __tablename__ = "opening_windows"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="ck_opening_windows_weekday"),
        CheckConstraint("start_time < end_time", name="ck_opening_windows_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    kind: Mapped[WindowKind] = mapped_column(str_enum(WindowKind))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    capacity: Mapped[int | None] = mapped_column(Integer)

    office: Mapped[Office] = relationship(back_populates="hours")


class Closure(Model):
    """A day an office (or, with no office, every office) is closed.

    With ``recurring`` set, only month and day count (e.g. 24 December every year).
    """

    __tablename__ = "closures"
    __table_args__ = (UniqueConstraint("office_id", "day", name="uq_closures_office_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int | None] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(String(200))
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)

    office: Mapped[Office | None] = relationship()


class MobileEvent(Model):
    """A date and place where the mobile Bürgeramt serves (its opening hours that day)."""

    __tablename__ = "mobile_events"
    __table_args__ = (CheckConstraint("start_time < end_time", name="ck_mobile_events_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    place: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    walk_in: Mapped[bool] = mapped_column(Boolean, default=True)
    appointments: Mapped[bool] = mapped_column(Boolean, default=True)

    office: Mapped[Office] = relationship()
    services: Mapped[list[Service]] = relationship(secondary=mobile_event_services)


class OfficeMessage(Model):
    """A ticker message shown on an office's waiting-room displays (never personal data)."""

    __tablename__ = "office_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    text_de: Mapped[str] = mapped_column(String(280))
    text_en: Mapped[str | None] = mapped_column(String(280))
    active_from: Mapped[datetime] = mapped_column(UTCDateTime)
    active_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # False once withdrawn by staff or expired by the scheduler
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)

    office: Mapped[Office] = relationship()


class CatalogueRevision(Model):
    """Which version of the catalogue the database holds: one row, bumped by database triggers
    in the transaction of every write to offices, services, hours, closures and counters
    (``offices.revision``), so a process may keep catalogue reads until it changes.

    ``epoch`` is random when the row is (re)created, so an emptied and refilled database never
    repeats an earlier (epoch, number)."""

    __tablename__ = "catalogue_revisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
