"""A booking's rows as plain INSERTs built once: the appointment, and on PostgreSQL the
appointment with its outbox row written in the statement that claims its seats.

An ORM object and its flush cost about 1,500 Python calls per booking (the appointment and its
mail's row), more than the rest of the booking's own work; the rows are plain values here, and
the booking's view is built from them (``payloads.of_values``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from sqlalchemy import Integer, Table, insert
from sqlalchemy.types import TypeEngine

from ..notify.models import OutboxMail
from . import seats
from .models import Appointment

_appointments = cast(Table, Appointment.__table__)
_outbox = cast(Table, OutboxMail.__table__)

# what a booking writes (every other column is NULL, as the ORM wrote it)
APPOINTMENT_COLUMNS = (
    "public_id",
    "office_id",
    "status",
    "start",
    "end",
    "persons",
    "service_codes",
    "lang",
    "name",
    "email",
    "phone",
    "code",
    "token_salt",
    "token_hash",
    "revision",
    "created_at",
    "booked_at",
    "confirmed_at",
    "expires_at",
)
OUTBOX_COLUMNS = (
    "kind",
    "status",
    "message",
    "draft",
    "created_at",
    "next_attempt_at",
    "claimed_until",
    "attempts",
)


@lru_cache(maxsize=1)
def _insert_appointment_stmt():
    return insert(_appointments).returning(_appointments.c.id)


def insert_appointment(session, values: dict) -> int:
    """Insert the appointment ``values`` (``APPOINTMENT_COLUMNS``); its id."""
    return session.connection().execute(_insert_appointment_stmt(), values).scalar_one()


def _cte(name: str, table: Table, columns: tuple[str, ...], prefix: str, where: str) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    placeholders = ", ".join(f":{prefix}{c}" for c in columns)
    # the text adds the table's own names, placeholders and fixed conditions only
    return (
        f"{name} AS (INSERT INTO {table.name} ({quoted}) SELECT {placeholders} {where} "
        "RETURNING id)"
    )


_AHEAD: dict[str, tuple[str, tuple[tuple[str, TypeEngine], ...]]] = {}


def _ahead_sql(below: seats.Along) -> tuple[str, tuple[tuple[str, TypeEngine], ...]]:
    found = _AHEAD.get(below.sql)
    if found is None:
        sql = ", ".join(
            (
                _cte(
                    "appointment",
                    _appointments,
                    APPOINTMENT_COLUMNS,
                    "a_",
                    f"WHERE {below.sql} < :a_limit",
                ),
                _cte("mail", _outbox, OUTBOX_COLUMNS, "m_", "FROM appointment"),
            )
        )
        types = (
            tuple(("a_" + c, _appointments.c[c].type) for c in APPOINTMENT_COLUMNS)
            + tuple(("m_" + c, _outbox.c[c].type) for c in OUTBOX_COLUMNS)
            + (("a_limit", Integer()),)
            + below.types
        )
        found = _AHEAD[below.sql] = (sql, types)
    return found


def ahead_of_seats(appointment: dict, mail: dict, below: seats.Along, limit: int) -> seats.Ahead:
    """The appointment ``appointment`` and the outbox row ``mail`` (column values) written in
    the seats' statement (PostgreSQL), only while ``below`` (the address's count, read in that
    statement's own snapshot) is below ``limit``; it returns the appointment's id (None when
    the count had reached the limit: nothing written) and the row's."""
    sql, types = _ahead_sql(below)
    values = {"a_" + c: appointment[c] for c in APPOINTMENT_COLUMNS}
    values.update(("m_" + c, mail[c]) for c in OUTBOX_COLUMNS)
    values["a_limit"] = limit
    values.update(below.values)
    return seats.Ahead(
        sql,
        "appointment",
        ("(SELECT id FROM appointment)", "(SELECT id FROM mail)"),
        types,
        values,
    )
