"""The mail outbox: every mail is a row written in the transaction of the change it reports."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, str_enum
from ..extensions import Model


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # not delivered yet: sent after the commit, else retried by the scheduler
    SENT = "sent"  # the mail server accepted it; the message (personal data) is deleted
    REJECTED = "rejected"  # the mail server refused it for good (e.g. unknown recipient)


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
    # machine time, like the scheduler that retries it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a sender holds the row until then; a sender that died loses it at that time
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
