"""A booking's rows as plain INSERTs built once: the appointment, and on PostgreSQL the
appointment with its outbox row written in the statement that claims its seats.

An ORM object and its flush cost about 1,500 Python calls per booking (the appointment and its
mail's row), more than the rest of the booking's own work; the rows are plain values here, and
the booking's view is built from them (``payloads.of_values``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from sqlalchemy import Table, insert
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


def _cte(name: str, table: Table, columns: tuple[str, ...], prefix: str) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    placeholders = ", ".join(f":{prefix}{c}" for c in columns)
    # the text adds the table's own names and placeholders only
    return f"{name} AS (INSERT INTO {table.name} ({quoted}) VALUES ({placeholders}) RETURNING id)"  # noqa: S608


@lru_cache(maxsize=1)
def _ahead_sql() -> tuple[str, tuple[tuple[str, TypeEngine], ...]]:
    sql = ", ".join(
        (
            _cte("appointment", _appointments, APPOINTMENT_COLUMNS, "a_"),
            _cte("mail", _outbox, OUTBOX_COLUMNS, "m_"),
        )
    )
    types = tuple(("a_" + c, _appointments.c[c].type) for c in APPOINTMENT_COLUMNS) + tuple(
        ("m_" + c, _outbox.c[c].type) for c in OUTBOX_COLUMNS
    )
    return sql, types


def ahead_of_seats(appointment: dict, mail: dict) -> seats.Ahead:
    """The appointment ``appointment`` and the outbox row ``mail`` (column values) written in
    the seats' statement (PostgreSQL); it returns the appointment's id and the row's."""
    sql, types = _ahead_sql()
    values = {"a_" + c: appointment[c] for c in APPOINTMENT_COLUMNS}
    values.update(("m_" + c, mail[c]) for c in OUTBOX_COLUMNS)
    return seats.Ahead(
        sql,
        "(SELECT id FROM appointment)",
        ("(SELECT id FROM appointment)", "(SELECT id FROM mail)"),
        types,
        values,
    )
