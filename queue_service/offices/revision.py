"""The catalogue's revision and per-process caches of catalogue reads that stay correct across
processes.

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
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app, has_request_context, request
from sqlalchemy import delete, event, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..db import UNKNOWN_TABLE, forget_when_work_begins, tables_written
from ..extensions import db
from .models import CatalogueRevision

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

_BUMP = (
    "INSERT INTO catalogue_revisions (id, epoch, number) VALUES (1, {random}, 1) "
    "ON CONFLICT (id) DO UPDATE SET number = catalogue_revisions.number + 1"
)
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION qs_bump_catalogue_revision() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    + _BUMP.format(random="floor(random() * 2147483647)::integer")
    + "; RETURN NULL; END $$"
)


def _trigger_name(table: str, action: str = "") -> str:
    return f"qs_catalogue_revision_{table}{'_' + action if action else ''}"


def install_triggers(connection: Connection, tables: tuple[str, ...] = TABLES) -> None:
    """Create the triggers that bump the revision on writes to ``tables`` (PostgreSQL: one per
    table and statement, TRUNCATE included; SQLite: one per table and kind of row change)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_FUNCTION))
        for table in tables:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(table)} ON {table}"))
            connection.execute(
                text(
                    f"CREATE TRIGGER {_trigger_name(table)} "
                    f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION qs_bump_catalogue_revision()"
                )
            )
        return
    bump = _BUMP.format(random="abs(random() % 2147483647)")
    for table in tables:
        for action in ("INSERT", "UPDATE", "DELETE"):
            name = _trigger_name(table, action.lower())
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            connection.execute(
                text(f"CREATE TRIGGER {name} AFTER {action} ON {table} BEGIN {bump}; END")
            )


def drop_triggers(connection: Connection, tables: tuple[str, ...] = TABLES) -> None:
    """Drop the triggers of ``tables`` (the function with them when all are dropped)."""
    if connection.dialect.name == "postgresql":
        for table in tables:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(table)} ON {table}"))
        if set(tables) >= set(TABLES):
            connection.execute(text("DROP FUNCTION IF EXISTS qs_bump_catalogue_revision()"))
        return
    for table in tables:
        for action in ("insert", "update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(table, action)}"))


@event.listens_for(db.metadata, "after_create")
def _after_create(target, connection, **kw) -> None:
    # databases made from the models (tests, `create_all`) get the triggers the migration adds
    install_triggers(connection)


_READ = select(CatalogueRevision.epoch, CatalogueRevision.number).where(CatalogueRevision.id == 1)
_SEEN = "qs_catalogue_revision"
forget_when_work_begins(_SEEN)


def start_new_epoch(session) -> None:
    """Give the revision a new random epoch, in ``session``'s unit of work. After a restore has
    brought back an older revision row, the numbers would run through values that processes
    already kept other catalogue contents under."""
    session.execute(delete(CatalogueRevision))
    session.execute(
        insert(CatalogueRevision).values(id=1, epoch=secrets.randbelow(2_147_483_647), number=1)
    )


def current() -> tuple[int, int]:
    """The catalogue revision this transaction sees: read once per transaction and request
    (a session that outlives a request, as in tests, reads it again in the next one)."""
    session = db.session()
    seen = session.info.get(_SEEN)
    # the request itself, not the proxy (the same proxy stands for every request)
    asker = request._get_current_object() if has_request_context() else None  # type: ignore[attr-defined]
    if seen is not None and seen[0] is session.get_transaction() and seen[1] is asker:
        return seen[2]
    row = session.connection().execute(_READ).first()
    revision = (row[0], row[1]) if row is not None else (0, 0)
    session.info[_SEEN] = (session.get_transaction(), asker, revision)
    return revision


class _Memo:
    """What this app derived from the catalogue, per revision (the latest two kept: a
    transaction that began before a change may still ask for the one before)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_revision: dict[tuple[int, int], dict[Hashable, object]] = {}

    def entries(self, revision: tuple[int, int]) -> dict[Hashable, object]:
        found = self.by_revision.get(revision)
        if found is None:
            with self.lock:
                found = self.by_revision.setdefault(revision, {})
                while len(self.by_revision) > 2:
                    del self.by_revision[next(iter(self.by_revision))]  # the oldest seen
        return found


def _memo() -> _Memo:
    extensions = current_app.extensions
    memo = extensions.get("qs_catalogue_memo")
    if memo is None:
        memo = extensions.setdefault("qs_catalogue_memo", _Memo())
    return memo


def memo() -> dict[Hashable, object]:
    """What this process keeps for the catalogue revision of this transaction (a dict to read
    and fill with values derived from catalogue tables only, never changed once stored; empty
    and thrown away with CATALOGUE_CACHE off, and in a transaction that wrote the catalogue:
    its revision is not committed, and its own reads must see its writes)."""
    if not current_app.config.get("CATALOGUE_CACHE", True):
        return {}
    written = tables_written(db.session())
    if UNKNOWN_TABLE in written or not written.isdisjoint(TABLES):
        return {}
    return _memo().entries(current())


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
