"""Fixtures for the clerk desk pages.

The databases are the queue tests' prepared ones (schema, demo catalogue and staff accounts made
once per session); each test gets a fresh copy (SQLite) or emptied queue tables (PostgreSQL), on
both databases, with the clock on Thursday 26 November 2026, 10:00 in Hannover.
"""

from __future__ import annotations

import shutil

import pytest

from queue_service import create_app
from queue_service.extensions import db

from ..conftest import _test_config, isolate_requests, login
from ..tickets.conftest import (  # noqa: F401  (session fixtures used by name)
    PASSWORD,
    _reset_postgres,
    pg_queue_database,
    sqlite_template,
)


@pytest.fixture(scope="session")
def _desk_apps(tmp_path_factory):
    """One app per database for the whole package (creating an app costs more than a test)."""
    return {"dir": tmp_path_factory.mktemp("desk-db")}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, _desk_apps, thursday_morning):
    key = request.param
    path = _desk_apps["dir"] / "desk.sqlite3"
    if key not in _desk_apps:
        if key == "sqlite":
            url, baseline = f"sqlite:///{path}", None
        else:
            url, baseline = request.getfixturevalue("pg_queue_database")
        fresh = create_app(_test_config(url))
        isolate_requests(fresh)
        _desk_apps[key] = (fresh, baseline)
    app, baseline = _desk_apps[key]
    if baseline is None:
        for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        # the copy brings the template's catalogue revision back: what the app kept under the
        # revisions a test went through is not that catalogue (a restore starts a new epoch)
        app.extensions.pop("qs_catalogue_memo", None)
        app.extensions.pop("qs_auth_memo", None)  # and its auth revision
    with app.app_context():
        yield app
        if baseline is not None:
            _reset_postgres(baseline)
        db.session.remove()
        if baseline is None:
            db.engine.dispose()


def logged_in(app, username: str):
    """A test client logged in through the real login form."""
    client = app.test_client()
    response = login(client, username, PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
