"""The per-office event sequence of the displays (see docs/realtime-protocol.md)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey
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
