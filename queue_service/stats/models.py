"""The nightly statistics roll-up: one row per office, service, local day and local hour.

No personal data and no link to a ticket: counts, sums and the raw durations (seconds) so that
medians and percentiles of any range can be computed exactly from the rows. The retention purge
never touches this table.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow_default
from ..extensions import Model


class StatsRollup(Model):
    __tablename__ = "stats_rollup"
    __table_args__ = (
        UniqueConstraint("office_id", "service_id", "day", "hour", name="uq_stats_rollup_bucket"),
        Index("ix_stats_rollup_office_day", "office_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)  # office-local business day
    hour: Mapped[int] = mapped_column(Integer)  # office-local hour of issue (or check-in)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    served: Mapped[int] = mapped_column(Integer, default=0)
    no_show: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    not_served: Mapped[int] = mapped_column(Integer, default=0)
    walkin: Mapped[int] = mapped_column(Integer, default=0)
    appointment: Mapped[int] = mapped_column(Integer, default=0)
    persons: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waits: Mapped[list] = mapped_column(JSON, default=list)  # seconds issued -> first call
    service_times: Mapped[list] = mapped_column(JSON, default=list)  # seconds serving -> done
    punctuality: Mapped[list] = mapped_column(JSON, default=list)  # seconds check-in minus due_at
    # seconds from booking to appointment start (appointments of this local day and hour)
    lead_times: Mapped[list | None] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default)


class Rating(Model):
    """A resident's optional 1-5 rating after being served. No ticket, token or person: only
    office, service, day, the score and a comment with e-mail addresses and phone numbers
    removed."""

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_office_day", "office_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500))


class RatedTicket(Model):
    """Which tickets have rated (once per ticket); holds no link to the rating itself."""

    __tablename__ = "rated_tickets"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
