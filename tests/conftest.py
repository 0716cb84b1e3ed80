"""Shared fixtures: one database fixture run against SQLite and PostgreSQL, the catalogue, the
clock, a live server in a subprocess, and the rule that nothing may skip in CI.

Environment:
  QS_TEST_POSTGRES_URL  server to create throw-away databases on
                        (default postgresql+psycopg://postgres@127.0.0.1:5432/test)
  QS_TEST_REDIS_URL     Redis for the scaled-profile tests (default redis://127.0.0.1:6379/0)
  QS_CHROMIUM           Chromium binary for browser tests (default /usr/bin/chromium)
  QS_REQUIRE_SERVICES=1 a missing PostgreSQL, Redis or Chromium fails instead of skipping, and
                        any skipped test fails the run (set by .ci/run)
"""

from __future__ import annotations

import os
import secrets
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from queue_service import clock, create_app
from queue_service.extensions import db as _db

from .support import servers
from .support.require import REQUIRE, pytest_sessionfinish  # noqa: F401 (the hook)

PG_URL = os.environ.get("QS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("QS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("QS_CHROMIUM", "/usr/bin/chromium")
BERLIN = clock.LOCAL_TZ

# A Thursday: every office except Schützenplatz takes walk-ins and appointments.
THURSDAY_10 = datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)


def unavailable(what: str) -> None:
    """Skip locally, fail in CI."""
    if REQUIRE:
        pytest.fail(f"{what} is required (QS_REQUIRE_SERVICES=1) but not available", pytrace=False)
    pytest.skip(f"{what} not available")


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    yield from _throwaway_pg_database()


@pytest.fixture
def pg_empty_database_url():
    """Another fresh, empty PostgreSQL database, for one test (migrations, multi-process runs)."""
    yield from _throwaway_pg_database()


def _throwaway_pg_database():
    admin_url = make_url(PG_URL)
    try:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        unavailable(f"PostgreSQL at {PG_URL} ({exc.__class__.__name__})")
    name = f"qs_test_{os.getpid()}_{secrets.token_hex(4)}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name)
    yield url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_schema(pg_database_url):
    """Create the schema once per session on the PostgreSQL test database."""
    app = create_app(_test_config(pg_database_url))
    with app.app_context():
        _db.create_all()
        _db.engine.dispose()
    return pg_database_url


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
    _db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    _db.session.commit()


# ---------------------------------------------------------------- app and database


def _test_config(url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + secrets.token_hex(8),
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_ENABLED": False,
        "REDIS_URL": None,
        "SERVER_NAME": None,
        "REALTIME_EMIT_IN_BACKGROUND": False,  # in-process tests see the emits at once
    }
    config.update(extra)
    return config


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """The database of one test: a fresh SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        yield request.getfixturevalue("pg_schema")


@pytest.fixture
def app_config():
    """Override in a test module to add configuration."""
    return {}


def isolate_requests(app) -> None:
    """The test's app context outlives each request, and Flask-Login and Flask-WTF cache the user
    and the CSRF token in g: start every request with an empty g, as in production, so that
    several clients in one test do not see each other's user or token."""
    from flask import g

    @app.url_value_preprocessor  # runs before every before_request hook
    def _fresh_g(endpoint, values):
        g.__dict__.clear()


@pytest.fixture
def app(db_url, app_config):
    app = create_app(_test_config(db_url, **app_config))
    isolate_requests(app)
    with app.app_context():
        if db_url.startswith("sqlite"):
            _db.create_all()
        else:
            _truncate_all()
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path, app_config):
    """An app on SQLite only (for tests that are not about the database)."""
    app = create_app(_test_config(f"sqlite:///{tmp_path / 'test.sqlite3'}", **app_config))
    isolate_requests(app)
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


DEMO_CATALOGUE = (
    Path(__file__).resolve().parent.parent / "queue_service" / "offices" / "data" / "hannover.yaml"
)


@pytest.fixture
def catalogue(app):
    """The demo catalogue loaded into the test database."""
    from queue_service.offices.catalogue import load_catalogue_file

    return load_catalogue_file(DEMO_CATALOGUE)


@pytest.fixture(autouse=True)
def _fast_password_hashes(monkeypatch):
    """scrypt costs a quarter second per hash; only the hashing itself is not under test here."""
    from functools import partial

    from werkzeug.security import generate_password_hash

    cheap = partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr("queue_service.auth.services.generate_password_hash", cheap)


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()


@pytest.fixture
def thursday_morning():
    """Freeze the clock on Thursday 26 November 2026, 10:00 in Hannover."""
    clock.freeze(THURSDAY_10)
    return THURSDAY_10


# ---------------------------------------------------------------- staff helpers


@pytest.fixture
def make_user(app):
    from queue_service.auth.services import create_user

    def _make(name="clerk", role="clerk", offices=("aegi",)):
        return create_user(name, role, list(offices))

    return _make


def login(client, username: str, password: str):
    """Log in through the real login form (with its CSRF token)."""
    from .support.html import csrf_from

    page = client.get("/admin/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/admin/login", data={"username": username, "password": password, "csrf_token": token}
    )


# ---------------------------------------------------------------- services outside the process


@pytest.fixture(scope="session")
def redis_url():
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        unavailable(f"Redis at {REDIS_URL} ({exc.__class__.__name__})")
    return REDIS_URL


@pytest.fixture(scope="session")
def chromium_path():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        unavailable(f"Chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless Chromium driven by Playwright (the Debian package, not a downloaded build)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path):
    """Start real server processes: ``live_server(env={...}) -> base_url``; stopped afterwards."""
    started: list[servers.ServerProcess] = []

    def _start(database_url: str | None = None, env: dict | None = None, load_demo: bool = True):
        server = servers.start_server(
            tmp_path, database_url=database_url, env=env or {}, load_demo=load_demo
        )
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


# ---------------------------------------------------------------- markers from fixtures

# a test that uses one of these fixtures needs what the marker names (make test-fast leaves
# them out; make test runs everything)
FIXTURE_MARKERS = {
    "pg_database_url": "postgres",
    "pg_empty_database_url": "postgres",
    "pg_schema": "postgres",
    "redis_url": "redis",
    "chromium_path": "browser",
    "browser": "browser",
    "live_server": "live",
    "live": "live",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & FIXTURE_MARKERS.keys():
            item.add_marker(FIXTURE_MARKERS[fixture])


# ---------------------------------------------------------------- nothing skips in CI
