"""The mail outbox (every mail is a row written in the transaction of the change it reports) and
the visitors' turn alerts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, str_enum
from ..extensions import Model


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # not delivered yet: sent after the commit, else retried by the scheduler
    SENT = "sent"  # the mail server accepted it; the message (personal data) is deleted
    REJECTED = "rejected"  # the mail server refused it for good (e.g. unknown recipient)
    # not sent: by the time it was composed it had nothing true left to say (its appointment
    # was cancelled or is gone; what it reported is mailed by a later row, if at all)
    SUPERSEDED = "superseded"


class OutboxMail(Model):
    __tablename__ = "outbox_mails"
    __table_args__ = (Index("ix_outbox_mails_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. booked, reminder (no personal data)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    # the whole message as sent (RFC 5322 bytes, Message-ID included, so a retry is the same
    # mail); emptied once it is sent
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    # until the message is composed: what to compose it from (JSON: the composer's name, the
    # Message-ID and its data), written in the change's transaction instead of the message so
    # that the change does not wait for templates and attachments; emptied once composed
    draft: Mapped[str | None] = mapped_column(Text)
    # machine time, like the scheduler that retries it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a sender holds the row until then; a sender that died loses it at that time
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TurnAlert(Model):
    """A visitor's wish to be alerted when at most ``ahead`` people are before their ticket.

    One row per ticket (the primary key), so the mail goes out at most once per ticket:
    ``mailed_at`` is set by a conditional UPDATE in the transaction that writes the mail into
    the outbox. ``email`` is the only personal data; it is cleared when the mail is written,
    when the visitor removes the alert, and by the nightly retention job for past days.
    """

    __tablename__ = "turn_alerts"
    __table_args__ = (CheckConstraint("ahead >= 1 AND ahead <= 10", name="ck_turn_alerts_ahead"),)

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    ahead: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(254))
    lang: Mapped[str] = mapped_column(String(5), default="de")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
