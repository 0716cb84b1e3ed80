"""Gapless ticket numbers and daily caps, both from locked per-day counter rows.

``bump`` is one ``INSERT ... ON CONFLICT DO UPDATE SET value = value + 1 RETURNING value``: on
PostgreSQL the row stays locked until the transaction ends, on SQLite the whole write transaction
is serialized by BEGIN IMMEDIATE. A rollback (a refusal, a failed insert) takes the increment
back, so numbers have no gaps; UNIQUE(office, day, prefix, seq) on tickets is the backstop.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import N_, Refused
from .models import DayCounter

MAX_SEQ = 999


def upsert(session, model):
    """An INSERT of the session's dialect, which has ``on_conflict_do_update/nothing``."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def bump_statement(dialect: str, office_id=None, day=None):
    """The counter's upsert (``name`` bound as ``counter_name``, ``office_id`` and ``day`` as
    given or bound by those names), without its RETURNING."""
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(DayCounter)
        .values(
            office_id=bindparam("office_id") if office_id is None else office_id,
            business_date=bindparam("day") if day is None else day,
            name=bindparam("counter_name"),
            value=1,
        )
        .on_conflict_do_update(
            index_elements=[DayCounter.office_id, DayCounter.business_date, DayCounter.name],
            set_={"value": DayCounter.value + 1},
        )
    )


@lru_cache(maxsize=4)
def _bump_stmt(dialect: str):
    return bump_statement(dialect).returning(DayCounter.value)


def bump(session, office_id: int, day: date, name: str) -> int:
    """Add one to the counter ``name`` of office and day; return the new value."""
    stmt = _bump_stmt(session.get_bind().dialect.name)
    params = {"office_id": office_id, "day": day, "counter_name": name}
    return session.connection().execute(stmt, params).scalar_one()


def format_number(prefix: str, seq: int) -> str:
    return f"{prefix}{seq:03d}"


def counter_name(prefix: str) -> str:
    """The day counter of the numbers of ``prefix``."""
    return f"number:{prefix}"


def checked(seq: int, prefix: str) -> int:
    """``seq``, a number of ``prefix`` just taken; refused past 999 (the rollback of the refusal
    takes the counter's bump back, so the numbers stay gapless)."""
    if seq > MAX_SEQ:
        raise Refused(
            N_("All numbers %(first)s to %(last)s have been given out today."),
            params={"first": f"{prefix}001", "last": f"{prefix}{MAX_SEQ}"},
            reason="numbers_exhausted",
        )
    return seq


def count_walkin(
    session,
    office_id: int,
    day: date,
    cap: int | None,
    key: str,
    what: dict[str, str],
    *,
    lock: bool = False,
) -> None:
    """Count one walk-in against a daily cap (if there is one); refuse once the cap is reached.
    ``what`` names what the cap is for: ``name`` (English) and, if it differs, ``name_de``.
    ``lock``: count it without a cap too, for the counter's row lock (held to the commit)."""
    if cap is None and not lock:
        return
    issued = bump(session, office_id, day, key)
    if cap is not None and issued > cap:
        raise Refused(
            N_(
                "The daily limit of %(cap)s walk-in tickets for %(name)s has been reached. "
                "Please come back another day or book an appointment online."
            ),
            params={"cap": cap, "name_de": what["name"], **what},
            reason="cap_reached",
            cap=cap,
        )
