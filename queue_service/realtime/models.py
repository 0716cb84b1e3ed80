"""The per-office event sequence of the displays (see docs/realtime-protocol.md)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model


class OfficeEventSeq(Model):
    """The last ``seq`` handed to an event of the office's displays.

    Bumped by ``realtime.publish`` inside the transaction that makes the change, so a rolled back
    change allocates nothing and, as the row stays locked until the commit, seq order is commit
    order within an office.
    """

    __tablename__ = "office_event_seqs"

    office_id: Mapped[int] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class OfficeEventLog(Model):
    """The office's recent calls and withdrawn calls by seq, so that a display that reconnects
    gets every call it missed, not only the snapshot's last ten (``join_office`` with ``since``).

    Written by ``realtime.publish`` in the change's own transaction, with its seq; bounded: only
    the last ``DISPLAY_REPLAY_SEQS`` seqs of an office are kept. In the database, so that every
    process answers for calls made through any other.
    """

    __tablename__ = "office_event_log"

    office_id: Mapped[int] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON)
