"""The audit entry. Details hold ids and changed settings, never residents' personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow_default
from ..extensions import Model


class AuditEntry(Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_office_at", "office_id", "at"),
        Index("ix_audit_entries_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_default, index=True)
    # the staff account; None for the system (scheduler, command line without a user)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # kept as written, so the entry stays readable after the account is renamed or deleted
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id", ondelete="SET NULL"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
