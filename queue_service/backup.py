"""Backup and restore for both profiles (docs/operations.md).

- SQLite: sqlite3's online backup API copies the database page by page while the servers keep
  serving (WAL: readers never wait; a write during the copy makes it restart that step), into a
  file that is checked with ``PRAGMA integrity_check``.
- PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot, servers keep serving) and
  ``pg_restore --clean --if-exists --single-transaction`` (all or nothing).

After a restore the data is as it was at the backup, but the world went on: visitors hold paper
tickets issued after it, displays know event numbers from after it. ``after_restore`` therefore
moves today's ticket numbers of every office and prefix forward (new numbers cannot repeat one
already handed out), moves every office's event seq forward (displays see a gap and fetch a fresh
snapshot at once) gives the catalogue revision a new epoch (servers that kept catalogue reads drop them) and, on
PostgreSQL, sets every id sequence past its table's highest id.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url

from . import clock
from .db import unit_of_work
from .extensions import db

# displays treat a jump of their office's seq as a gap and resync (docs/realtime-protocol.md)
SEQ_JUMP = 1_000_000
DEFAULT_SKIP_NUMBERS = 100


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why."""


@dataclass(frozen=True)
class Target:
    kind: str  # "sqlite" or "postgresql"
    location: str  # the SQLite file, or the libpq URL


def target_of(database_url: str) -> Target:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("An in-memory database cannot be backed up.")
        return Target("sqlite", url.database)
    if backend == "postgresql":
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return Target("postgresql", libpq)
    raise BackupError(f"No backup for {backend} databases.")


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)),
        None,
    )
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return found


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603 - fixed programs (pg_dump, pg_restore), no shell
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()}")


def backup(database_url: str, destination: Path) -> int:
    """Write a backup of the database to ``destination`` (new file); its size in bytes."""
    target = target_of(database_url)
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file name.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    if target.kind == "sqlite":
        source = sqlite3.connect(target.location, timeout=30)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=1024, sleep=0.005)
            check = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"The copy failed its integrity check: {check}")
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
            source.close()
    else:
        _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", target.location])
    os.replace(partial, destination)
    return destination.stat().st_size


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents by the backup ``source`` (stop the servers first)."""
    target = target_of(database_url)
    if not source.is_file():
        raise BackupError(f"{source} is not a file.")
    if target.kind == "sqlite":
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check = backup_db.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"{source} failed its integrity check: {check}")
            live = sqlite3.connect(target.location, timeout=30)
            try:
                backup_db.backup(live)
            finally:
                live.close()
        finally:
            backup_db.close()
    else:
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={target.location}",
                str(source),
            ]
        )


def after_restore(skip_numbers: int = DEFAULT_SKIP_NUMBERS) -> dict:
    """Make the restored database safe to serve from (inside an app context)."""
    from flask import current_app

    from .offices import revision
    from .offices.models import Office, Service
    from .realtime.models import OfficeEventLog, OfficeEventSeq
    from .tickets.models import DayCounter
    from .tickets.numbering import upsert

    db.engine.dispose()  # connections opened before the restore may see the old file
    day = clock.today()
    prefixes = set(db.session.scalars(select(Service.prefix)))
    if current_app.config.get("APPOINTMENT_TICKET_PREFIX"):
        prefixes.add(current_app.config["APPOINTMENT_TICKET_PREFIX"])
    with unit_of_work() as session:
        offices = list(session.scalars(select(Office.id)))
        for office_id in offices:
            for prefix in sorted(prefixes):
                stmt = upsert(session, DayCounter).values(
                    office_id=office_id,
                    business_date=day,
                    name=f"number:{prefix}",
                    value=skip_numbers,
                )
                session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[
                            DayCounter.office_id,
                            DayCounter.business_date,
                            DayCounter.name,
                        ],
                        set_={"value": DayCounter.value + skip_numbers},
                    )
                )
        seqs = session.execute(
            update(OfficeEventSeq).values(seq=OfficeEventSeq.seq + SEQ_JUMP)
        ).rowcount
        # calls of the restored past are not replayed to displays that reconnect after the jump
        session.execute(delete(OfficeEventLog))
        # processes that kept catalogue reads of a later revision must not take them for current
        revision.start_new_epoch(session)
        sequences = 0
        if session.get_bind().dialect.name == "postgresql":
            for table in db.metadata.sorted_tables:
                id_column = table.c.get("id")
                if id_column is None or not id_column.autoincrement:
                    continue
                sequence = session.scalar(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                )
                if sequence is None:
                    continue
                highest = session.scalar(select(func.max(id_column)))
                session.execute(
                    text("SELECT setval(:s, :v, :called)"),
                    {"s": sequence, "v": highest or 1, "called": highest is not None},
                )
                sequences += 1
    return {
        "offices": len(offices),
        "prefixes": len(prefixes),
        "skipped_numbers": skip_numbers,
        "event_seqs_moved": seqs,
        "sequences_set": sequences,
    }
