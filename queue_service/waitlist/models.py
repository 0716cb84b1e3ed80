"""Waitlist requests ("Terminwecker") and the offers made to them.

A request waits for a time that matches it; when capacity frees up, the longest-waiting matching
request gets an offer: a held appointment on the freed seats for WAITLIST_OFFER_MINUTES. The
database keeps the promises: a partial unique index allows one open offer per request, and the
seat rows (booking/models.py) make it impossible to offer one seat to two people.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Time, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, str_enum, utcnow_default
from ..extensions import Model


class RequestStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the e-mail confirmation (same rule as bookings)
    ACTIVE = "active"  # on the list
    OFFERED = "offered"  # holds an open offer
    FULFILLED = "fulfilled"  # accepted an offer
    CANCELLED = "cancelled"  # by the resident
    EXPIRED = "expired"  # its date range passed, or it was never confirmed


class OfferStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"  # the request was cancelled while the offer was open


class WaitlistRequest(Model):
    __tablename__ = "waitlist_requests"
    __table_args__ = (
        CheckConstraint("persons >= 1", name="ck_waitlist_requests_persons"),
        CheckConstraint("first_day <= last_day", name="ck_waitlist_requests_range"),
        Index("ix_waitlist_requests_queue", "status", "queued_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus), index=True)
    service_codes: Mapped[list] = mapped_column(JSON)
    persons: Mapped[int] = mapped_column(Integer, default=1)
    units: Mapped[int] = mapped_column(Integer)  # capacity units the services take
    office_ids: Mapped[list | None] = mapped_column(JSON)  # None: any office offering them
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    weekdays: Mapped[list | None] = mapped_column(JSON)  # 0 = Monday; None: any day
    earliest: Mapped[time | None] = mapped_column(Time)  # local time of day, inclusive
    latest: Mapped[time | None] = mapped_column(Time)  # local time by which it must start
    # an appointment the resident holds and wants to move to an earlier time
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    # personal data, removed with the request's retention (see privacy)
    name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    lang: Mapped[str] = mapped_column(String(5), default="de")
    token_salt: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)
    # the place in the queue: when the request was confirmed (first come, first served)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # pending only
    # the first free time when it was made, for "days gained"
    baseline_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offers: Mapped[list[WaitlistOffer]] = relationship(
        back_populates="request", order_by="WaitlistOffer.id"
    )


class WaitlistOffer(Model):
    __tablename__ = "waitlist_offers"
    __table_args__ = (
        # one open offer per request: never two times offered to one resident at once
        Index(
            "uq_waitlist_offers_one_open",
            "request_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_waitlist_offers_open_expiry", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("waitlist_requests.id", ondelete="CASCADE"), index=True
    )
    # the held appointment that keeps the offered seats
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[OfferStatus] = mapped_column(str_enum(OfferStatus), index=True)
    token_salt: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[WaitlistRequest] = relationship(back_populates="offers")
