"""Appointments and the seat rows that make double booking impossible.

An appointment occupies one ``SlotSeat`` per 5-minute unit of its duration. The primary key
(office, unit start, seat number) is the guarantee: two bookings can never hold the same seat, and
a booking only ever takes a seat number below the capacity of its window, so no unit ever holds
more appointments than its capacity. A seat with ``occupied_until`` in the past (an expired hold,
an unconfirmed booking, a cancelled slot after the release delay) is free again: the next booking
takes it over in the same statement that claims it, so no job is needed for correctness.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, str_enum, utcnow_default
from ..extensions import Model
from ..offices import revision
from ..offices.models import Office


class AppointmentStatus(enum.StrEnum):
    HELD = "held"  # a time held while the resident fills in the form (no personal data yet)
    PENDING = "pending"  # booked, waiting for the confirmation click (double opt-in)
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # a hold or an unconfirmed booking that ran out
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"


ACTIVE_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED)


class Appointment(Model):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("persons >= 1", name="ck_appointments_persons"),
        CheckConstraint('start < "end"', name="ck_appointments_order"),
        Index("ix_appointments_office_start", "office_id", "start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # calendar UID
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    status: Mapped[AppointmentStatus] = mapped_column(str_enum(AppointmentStatus), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    persons: Mapped[int] = mapped_column(Integer, default=1)
    service_codes: Mapped[list] = mapped_column(JSON)
    lang: Mapped[str] = mapped_column(String(5), default="de")
    # personal data: only these three, removed by anonymise_appointments_before()
    name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    # booking code for the kiosk (short, never authorises changes) and the manage-link secret:
    # the link token is HMAC(SECRET_KEY, token_salt); only its SHA-256 is stored for look-ups
    code: Mapped[str | None] = mapped_column(String(8), unique=True)
    token_salt: Mapped[str | None] = mapped_column(String(32))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # calendar SEQUENCE
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # held / pending only
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(Integer)  # the queue ticket made at check-in
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    office: Mapped[Office] = relationship()

    def __repr__(self) -> str:
        return f"<Appointment {self.id} {self.status.value} {self.start.isoformat()}>"


class SlotSeat(Model):
    """One appointment's claim on one seat of one 5-minute unit of an office."""

    __tablename__ = "slot_seats"
    __table_args__ = (
        CheckConstraint("seat_no >= 0", name="ck_slot_seats_seat_no"),
        # covers the slot search (live seats per unit) without touching the table rows
        Index("ix_slot_seats_live", "office_id", "unit_start", "occupied_until"),
    )

    office_id: Mapped[int] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    unit_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    seat_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    # None: occupied for good (a booking); a moment: free again from then on
    occupied_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SeatRevision(Model):
    """The one row numbering the writes to the seats (``SEATS``), so a process may keep a slot
    search's answer until the seats change (``slots.kept_free_runs``). ``epoch`` is random when
    the row is (re)created, as the catalogue revision's."""

    __tablename__ = "seat_revisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)


# what a slot search counts: any write to the seats moves it (a booking, a hold, a
# confirmation, a cancellation, a reschedule, the expiry and retention jobs, raw SQL). One row
# for the city. On PostgreSQL it is bumped once per writing transaction, at its commit: the row
# is the last lock of every seat writer, held only through the commit. Taken at the first seat
# write (as until session 11), it made every seat writer of the city queue from its claim to
# its commit; a row per office, taken when a statement's trigger first knows the office, would
# deadlock two bookings through claim's next numbers.
SEATS = revision.Tracked(
    "seats",
    "seat_revisions",
    {"slot_seats": None},
    setting="SEARCH_CACHE",
    depends_on=("catalogue",),  # a kept search derives from the catalogue's windows too
    at_commit=True,
)
revision.track(SEATS)
