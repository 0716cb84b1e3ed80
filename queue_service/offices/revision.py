"""The catalogue's revision (and others kept the same way: the auth revision of
``auth/tokens.py``) and per-process caches of catalogue reads that stay correct across processes.

Every write to a catalogue table (offices, services, which office offers what, counters and what
they serve, opening windows, closures, the mobile Bürgeramt's dates and their services) bumps the one ``catalogue_revisions`` row in its own
transaction. Triggers do it, not the application, so ORM flushes, bulk statements, the catalogue
loader, migrations and raw SQL are all covered. A reader takes the revision once per transaction
(one primary-key read) and keeps what it derived from the catalogue under it: a change committed
in any process is seen by the next transaction of every process.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from flask import current_app, has_request_context, request
from sqlalchemy import (
    String,
    column,
    delete,
    event,
    insert,
    literal_column,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause

from ..db import UNKNOWN_TABLE, forget_when_work_begins, tables_written
from ..extensions import db

T = TypeVar("T")
E = TypeVar("E")

# the tables whose rows a catalogue read depends on
TABLES = (
    "offices",
    "services",
    "office_services",
    "counters",
    "counter_services",
    "opening_windows",
    "closures",
    "mobile_events",
    "mobile_event_services",
)


@dataclass(frozen=True)
class Tracked:
    """A revision kept by triggers: ``table``'s one row is bumped in the transaction of every
    write to ``watched`` (table -> the columns whose update moves it; None: any column)."""

    name: str
    table: str
    watched: Mapping[str, tuple[str, ...] | None]
    setting: str  # the configuration flag that turns its per-process memo off
    depends_on: tuple[str, ...] = ()  # other revisions what is kept under it derives from
    # PostgreSQL: bump once per transaction, at its commit (a deferred constraint trigger per
    # row, and a statement trigger for TRUNCATE), instead of after each statement: the revision
    # row is then every writer's last lock, held only through the commit, and two writers never
    # wait for it while holding rows the other needs. For tables written by many concurrent
    # transactions (the seats): a statement trigger holds the row from the first write to the
    # commit, and every writer of the city queues there.
    at_commit: bool = False

    def tables(self) -> tuple[str, ...]:
        return tuple(self.watched)


CATALOGUE = Tracked("catalogue", "catalogue_revisions", dict.fromkeys(TABLES), "CATALOGUE_CACHE")
_TRACKED: dict[str, Tracked] = {CATALOGUE.name: CATALOGUE}


# per kind: the revisions its memo is kept under, and the tables whose writes in a transaction
# keep that transaction from it (its own and those of the revisions it depends on)
_KEYED_BY: dict[str, tuple[str, ...]] = {CATALOGUE.name: (CATALOGUE.name,)}
_WRITES_SEEN: dict[str, frozenset[str]] = {CATALOGUE.name: frozenset(CATALOGUE.tables())}


def track(kind: Tracked) -> None:
    """Keep ``kind`` too (its triggers are made with the tables, its revision is read with the
    catalogue's in the same statement)."""
    _TRACKED[kind.name] = kind
    _KEYED_BY[kind.name] = (kind.name, *kind.depends_on)
    _WRITES_SEEN[kind.name] = frozenset(
        table for name in _KEYED_BY[kind.name] for table in _TRACKED[name].tables()
    )
    _read.cache_clear()


def _bump(kind: Tracked, random: str) -> str:
    return (
        f"INSERT INTO {kind.table} (id, epoch, number) VALUES (1, {random}, 1) "  # noqa: S608 (names from code)
        f"ON CONFLICT (id) DO UPDATE SET number = {kind.table}.number + 1"
    )


def _pg_function(kind: Tracked) -> str:
    bump = _bump(kind, "floor(random() * 2147483647)::integer")
    if kind.at_commit:
        # a row trigger: bump at the first of the transaction's rows only (a setting local to
        # the transaction remembers it; a rolled back savepoint forgets it with its bump)
        done = f"qs.{kind.name}_revision_bumped_in"
        bump = (
            f"IF current_setting('{done}', true) IS DISTINCT FROM txid_current()::text THEN "
            f"{bump}; PERFORM set_config('{done}', txid_current()::text, true); END IF"
        )
    return (
        f"CREATE OR REPLACE FUNCTION qs_bump_{kind.name}_revision() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        + bump
        + "; RETURN NULL; END $$"  # an AFTER trigger's value is ignored
    )


def _trigger_name(table: str, action: str = "", kind: Tracked = CATALOGUE) -> str:
    return f"qs_{kind.name}_revision_{table}{'_' + action if action else ''}"


def _update_of(kind: Tracked, table: str) -> str:
    columns = kind.watched.get(table)
    return f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"


def install_triggers(
    connection: Connection, tables: tuple[str, ...] | None = None, kind: Tracked = CATALOGUE
) -> None:
    """Create the triggers that bump ``kind``'s revision on writes to ``tables`` (all it
    watches by default; PostgreSQL: one per table and statement, TRUNCATE included; SQLite: one
    per table and kind of row change)."""
    tables = kind.tables() if tables is None else tables
    if connection.dialect.name == "postgresql":
        connection.execute(text(_pg_function(kind)))
        function = f"qs_bump_{kind.name}_revision()"
        for table in tables:
            name = _trigger_name(table, kind=kind)
            truncate = _trigger_name(table, "truncate", kind)
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            connection.execute(text(f"DROP TRIGGER IF EXISTS {truncate} ON {table}"))
            changes = f"INSERT OR {_update_of(kind, table)} OR DELETE"
            if kind.at_commit:
                connection.execute(
                    text(
                        f"CREATE CONSTRAINT TRIGGER {name} AFTER {changes} ON {table} "
                        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}"
                    )
                )
                connection.execute(
                    text(
                        f"CREATE TRIGGER {truncate} AFTER TRUNCATE ON {table} "
                        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}"
                    )
                )
                continue
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} AFTER {changes} OR TRUNCATE ON {table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {function}"
                )
            )
        return
    bump = _bump(kind, "abs(random() % 2147483647)")
    for table in tables:
        for action in ("INSERT", "UPDATE", "DELETE"):
            name = _trigger_name(table, action.lower(), kind)
            event_ = _update_of(kind, table) if action == "UPDATE" else action
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            connection.execute(
                text(f"CREATE TRIGGER {name} AFTER {event_} ON {table} BEGIN {bump}; END")
            )


def drop_triggers(
    connection: Connection, tables: tuple[str, ...] | None = None, kind: Tracked = CATALOGUE
) -> None:
    """Drop the triggers of ``tables`` (the function with them when all are dropped)."""
    tables = kind.tables() if tables is None else tables
    if connection.dialect.name == "postgresql":
        for table in tables:
            for name in (_trigger_name(table, kind=kind), _trigger_name(table, "truncate", kind)):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        if set(tables) >= set(kind.tables()):
            connection.execute(text(f"DROP FUNCTION IF EXISTS qs_bump_{kind.name}_revision()"))
        return
    for table in tables:
        for action in ("insert", "update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(table, action, kind)}"))


@event.listens_for(db.metadata, "after_create")
def _after_create(target, connection, **kw) -> None:
    # databases made from the models (tests, `create_all`) get the triggers the migrations add
    for kind in _TRACKED.values():
        install_triggers(connection, kind=kind)


def _row_table(kind: Tracked) -> TableClause:
    return table(kind.table, column("id"), column("epoch"), column("number"))


@lru_cache
def _read(names: tuple[str, ...]):
    """The revisions ``names`` in one statement: a primary-key read per revision table, one
    row (name, epoch, number) per revision that has its row."""
    parts = []
    for name in names:
        row = _row_table(_TRACKED[name])
        label = literal_column(f"'{name}'", String)
        parts.append(select(label, row.c.epoch, row.c.number).where(row.c.id == 1))
    return parts[0] if len(parts) == 1 else union_all(*parts)


_NONE = (0, 0)  # no row yet: nothing was ever written (the first write makes it, new epoch)
_SEEN = "qs_catalogue_revision"
forget_when_work_begins(_SEEN)


def start_new_epoch(session) -> None:
    """Give every revision a new random epoch, in ``session``'s unit of work. After a restore
    has brought back older revision rows, the numbers would run through values that processes
    already kept other contents under."""
    for kind in _TRACKED.values():
        row = _row_table(kind)
        session.execute(delete(row))
        session.execute(insert(row).values(id=1, epoch=secrets.randbelow(2_147_483_647), number=1))


def revisions(kind: str = CATALOGUE.name) -> dict[str, tuple[int, int]]:
    """The revisions this transaction sees, with ``kind``'s and those it depends on among
    them: read once per transaction and request, in one statement with those, so that a bearer
    token's check reads the catalogue's revision for the view (a session that outlives a
    request, as in tests, reads them again in the next one)."""
    session = db.session()
    seen = session.info.get(_SEEN)
    # the request itself, not the proxy (the same proxy stands for every request)
    asker = request._get_current_object() if has_request_context() else None  # type: ignore[attr-defined]
    if seen is not None and seen[0] is session.get_transaction() and seen[1] is asker:
        if kind in seen[2]:
            return seen[2]
        found = dict(seen[2])
    else:
        found = {}
    # what this transaction saw already stays what it sees
    names = _KEYED_BY[kind]
    if found:
        names = tuple(name for name in names if name not in found)
    found.update(dict.fromkeys(names, _NONE))
    for name, epoch, number in session.connection().execute(_read(names)):
        found[name] = (epoch, number)
    session.info[_SEEN] = (session.get_transaction(), asker, found)
    return found


def current(kind: str = CATALOGUE.name) -> tuple[int, int]:
    """``kind``'s revision this transaction sees (the catalogue's by default)."""
    return revisions(kind)[kind]


class _Memo:
    """What this app derived from the catalogue, per revision (the latest two kept: a
    transaction that began before a change may still ask for the one before)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_revision: dict[Hashable, dict[Hashable, object]] = {}

    def entries(self, revision: Hashable) -> dict[Hashable, object]:
        found = self.by_revision.get(revision)
        if found is None:
            with self.lock:
                found = self.by_revision.setdefault(revision, {})
                while len(self.by_revision) > 2:
                    del self.by_revision[next(iter(self.by_revision))]  # the oldest seen
        return found


def _memo(kind: str) -> _Memo:
    key = f"qs_{kind}_memo"  # qs_catalogue_memo, qs_auth_memo
    memo = current_app.extensions.get(key)
    if memo is None:
        memo = current_app.extensions.setdefault(key, _Memo())
    return memo


def memo(kind: str = CATALOGUE.name) -> dict[Hashable, object]:
    """What this process keeps for ``kind``'s revision of this transaction (the catalogue's by
    default; a dict to read and fill with values derived from the tables it watches only, never
    changed once stored; empty and thrown away with its setting off, and in a transaction that
    wrote those tables: its revision is not committed, and its own reads must see its writes)."""
    if not current_app.config.get(_TRACKED[kind].setting, True):
        return {}
    written = tables_written(db.session())
    if written and (UNKNOWN_TABLE in written or not _WRITES_SEEN[kind].isdisjoint(written)):
        return {}
    seen, keyed_by = revisions(kind), _KEYED_BY[kind]
    if len(keyed_by) == 1:
        return _memo(kind).entries(seen[kind])
    return _memo(kind).entries(tuple(seen[name] for name in keyed_by))


# ---------------------------------------------------------------- a transaction's own writes


def flush_catalogue_changes() -> None:
    """Flush the session's pending changes, as the query a kept value stands for would have
    (autoflush): a pending catalogue change then marks the transaction (``memo`` is empty)."""
    session = db.session()
    if session.autoflush and (session.new or session.deleted or session.dirty):
        session.flush()


def kept_entities(key: Hashable, load: Callable[[Session], list[E]]) -> list[E]:
    """Catalogue entities ``load(session)`` finds, loaded once per revision and process and
    merged into this request's session without a query (the kept ones stay detached and
    unchanged: changes made to the merged copies are written as usual and bump the revision)."""
    entries = memo()
    kept = entries.get(key)
    if kept is None:
        with Session(bind=db.session.connection()) as side:  # same connection and snapshot
            kept = entries[key] = load(side)
            side.expunge_all()
    session = db.session()
    return [session.merge(entity, load=False) for entity in kept]  # type: ignore[attr-defined]


def remembered(key: Hashable, load: Callable[[], T]) -> T:
    """``load()``'s value at the catalogue revision of this transaction, computed once per
    revision and process."""
    entries = memo()
    try:
        return entries[key]  # type: ignore[return-value]
    except KeyError:
        value = entries[key] = load()
        return value
