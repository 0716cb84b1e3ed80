"""One row per occurrence of a scheduled job: claimed before the work, so it runs once."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, str_enum
from ..extensions import Model


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"  # the process died while running it


class JobRun(Model):
    __tablename__ = "job_runs"
    # Two schedulers (split brain) may both try an occurrence: the second INSERT fails here.
    __table_args__ = (
        UniqueConstraint("job", "scheduled_for", name="uq_job_runs_job_scheduled_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(80))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus), default=RunStatus.RUNNING)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict | None] = mapped_column(JSON)
    # host and process id of the scheduler that ran it
    runner: Mapped[str] = mapped_column(String(120))
