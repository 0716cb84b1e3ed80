"""Fixtures for the live queue.

Every test still runs on a fresh-looking SQLite file AND on PostgreSQL, but the demo catalogue
and three staff accounts are prepared once per session (loading the catalogue and hashing
passwords would otherwise dominate the run time):

- SQLite: a template file is copied for each test (a really fresh database file);
- PostgreSQL: one database for this package; before each test the queue tables are emptied and
  whatever a test changed in the catalogue through the helpers below is put back.

The clock is frozen on Thursday 26 November 2026, 10:00 in Hannover (walk-ins open at Aegi).
"""

from __future__ import annotations

import shutil

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select, text

from queue_service import create_app
from queue_service.auth.models import User
from queue_service.extensions import db

from ..conftest import DEMO_CATALOGUE, _test_config, _throwaway_pg_database

PASSWORD = "queue-test-password"
STAFF = [
    ("clerk-aegi", "clerk", ["aegi"]),
    ("clerk-linden", "clerk", ["linden"]),
    ("manager-aegi", "manager", ["aegi"]),
    ("admin", "admin", []),
]
QUEUE_TABLES = [
    "ticket_events",
    "tickets",
    "counter_states",
    "ticket_day_counters",
    "devices",
    "api_tokens",
    "office_event_seqs",
    "office_event_log",
]


def _prepare(url: str) -> dict:
    """Schema, demo catalogue and staff accounts; returns the highest ids (the baseline)."""
    from queue_service.auth.services import create_user
    from queue_service.offices.catalogue import load_catalogue_file

    app = create_app(_test_config(url))
    with app.app_context():
        db.create_all()
        load_catalogue_file(DEMO_CATALOGUE)
        for name, role, offices in STAFF:
            create_user(name, role, offices, password=PASSWORD)
        baseline = {
            table: db.session.execute(
                text(f"SELECT coalesce(max(id), 0) FROM {table}")
            ).scalar_one()
            for table in ("users", "counters", "closures")
        }
        db.session.remove()
        db.engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return baseline


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("queue-template") / "template.sqlite3"
    _prepare(f"sqlite:///{path}")
    assert (
        not path.with_name(path.name + "-wal").exists()
        or not path.with_name(path.name + "-wal").stat().st_size
    )
    return path


@pytest.fixture(scope="session")
def pg_queue_database():
    for url in _throwaway_pg_database():
        baseline = _prepare(url)
        yield url, baseline


_UNDO: list = []  # (model, primary key, attribute, old value) of catalogue changes in a test


def _reset_postgres(baseline: dict) -> None:
    db.session.rollback()
    for model, key, attribute, value in reversed(_UNDO):
        setattr(db.session.get(model, key), attribute, value)
    _UNDO.clear()
    db.session.execute(text(f"TRUNCATE {', '.join(QUEUE_TABLES)} RESTART IDENTITY CASCADE"))
    for table, top in baseline.items():
        db.session.execute(text(f"DELETE FROM {table} WHERE id > :top"), {"top": top})
    db.session.commit()


@pytest.fixture(scope="session")
def _queue_apps(tmp_path_factory):
    """One app per database for the whole package (creating an app costs more than a test)."""
    return {"dir": tmp_path_factory.mktemp("queue-db")}


@pytest.fixture
def app(request, db_url, app_config, _queue_apps):
    """A fresh database behind a reused app (replaces the root fixture for this package).

    SQLite: the template is copied over the database file (the engine's connections are closed
    after every test). PostgreSQL: the queue tables are emptied and catalogue changes undone.
    Configuration a test changes is put back afterwards.
    """
    if db_url not in _queue_apps:
        if db_url == "sqlite":
            path = _queue_apps["dir"] / "queue.sqlite3"
            url, baseline = f"sqlite:///{path}", None
        else:
            url, baseline = request.getfixturevalue("pg_queue_database")
        _queue_apps[db_url] = (create_app(_test_config(url)), baseline)
    app, baseline = _queue_apps[db_url]
    if baseline is None:
        path = _queue_apps["dir"] / "queue.sqlite3"
        for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        # the copy brings the template's catalogue revision back: what the app kept under the
        # revisions a test went through is not that catalogue (a restore starts a new epoch)
        app.extensions.pop("qs_catalogue_memo", None)
        app.extensions.pop("qs_auth_memo", None)  # and its auth revision
    app.extensions.pop("qs_shared_reads", None)  # the queue reads of another test's offices
    saved = dict(app.config)
    app.config.update(app_config)
    try:
        with app.app_context():
            yield app
            if baseline is not None:
                _reset_postgres(baseline)  # undoes this test's catalogue changes
            db.session.remove()
            if baseline is None:
                db.engine.dispose()
    finally:
        _UNDO.clear()
        app.config.clear()
        app.config.update(saved)
        # the next test's fresh database reuses ticket ids: forget the positions pushed
        from queue_service.realtime.publish import forget_pushed_positions

        forget_pushed_positions(app)


@pytest.fixture
def db_url(request):
    return request.param


def pytest_generate_tests(metafunc):
    if "db_url" in metafunc.fixturenames:
        metafunc.parametrize(
            "db_url",
            ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
            indirect=True,
        )


class _Client(FlaskClient):
    """A test client that forgets the previous request's user.

    The test's app context stays pushed, so requests share ``g``, where Flask-Login caches the
    user of the first request; a real server has a fresh app context per request.
    """

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = _Client
    return app.test_client()


@pytest.fixture
def catalogue(app):
    """Already loaded by the prepared database."""
    return None


@pytest.fixture
def aegi(app, thursday_morning):
    return "aegi"


def staff(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def clerk(aegi):
    return staff("clerk-aegi")


@pytest.fixture
def other_clerk(aegi):
    return staff("clerk-linden")


@pytest.fixture
def manager(aegi):
    return staff("manager-aegi")


@pytest.fixture
def admin(aegi):
    return staff("admin")


# ---------------------------------------------------------------- helpers


def ticket_row(token: str):
    """The ticket as stored, read fresh from the database."""
    from queue_service.tickets.models import Ticket

    db.session.rollback()
    return db.session.scalar(
        select(Ticket).where(Ticket.token == token).execution_options(populate_existing=True)
    )


def events_of(token: str) -> list[tuple[str, str | None, str]]:
    """(action, from_status, to_status) of a ticket's event log, in order."""
    from queue_service.tickets.models import TicketEvent

    ticket = ticket_row(token)
    rows = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    )
    return [
        (e.action, e.from_status.value if e.from_status else None, e.to_status.value) for e in rows
    ]


def _change(row, key, **values) -> None:
    for attribute, value in values.items():
        _UNDO.append((type(row), key, attribute, getattr(row, attribute)))
        setattr(row, attribute, value)


def set_office(slug: str, **values) -> None:
    from queue_service.db import unit_of_work
    from queue_service.offices.services import get_office

    with unit_of_work():
        office = get_office(slug)
        _change(office, office.id, **values)


def set_office_service(slug: str, code: str, **values) -> None:
    from queue_service.db import unit_of_work
    from queue_service.offices.models import OfficeService
    from queue_service.offices.services import get_office, get_service

    with unit_of_work() as session:
        key = (get_office(slug).id, get_service(code).id)
        _change(session.get(OfficeService, key), key, **values)


def set_service(code: str, **values) -> None:
    from queue_service.db import unit_of_work
    from queue_service.offices.services import get_service

    with unit_of_work():
        service = get_service(code)
        _change(service, service.id, **values)


def add_counters(slug: str, numbers: range, codes: list[str] | None = None) -> None:
    """Extra counters serving ``codes`` (default: every service of the office)."""
    from queue_service.db import unit_of_work
    from queue_service.offices.models import Counter
    from queue_service.offices.services import get_office, get_service, office_services

    with unit_of_work() as session:
        office = get_office(slug)
        services = [get_service(c) for c in codes] if codes else office_services(office)
        for number in numbers:
            session.add(Counter(office_id=office.id, number=number, active=True, services=services))
