"""Migration authrev2 adds the triggers that make a write to the devices move the auth revision
(their last sighting excepted), on SQLite and PostgreSQL, and its downgrade removes them."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from queue_service import create_app
from queue_service.extensions import db


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    return request.getfixturevalue("pg_empty_database_url")


def _device_triggers() -> set[str]:
    if db.engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'devices'"
    else:
        query = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'devices'::regclass AND NOT tgisinternal"
        )
    with db.engine.connect() as conn:
        return set(conn.scalars(text(query)))


def _sqlite_update_trigger_sql() -> str:
    with db.engine.connect() as conn:
        return conn.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = 'qs_auth_revision_devices_update'")
        )


def test_authrev2_adds_and_removes_the_device_triggers(empty_db_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_db_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="authrev1")
        assert _device_triggers() == set()
        upgrade(revision="authrev2")
        if db.engine.dialect.name == "sqlite":
            assert _device_triggers() == {
                "qs_auth_revision_devices_insert",
                "qs_auth_revision_devices_update",
                "qs_auth_revision_devices_delete",
            }
            assert "last_seen_at" not in _sqlite_update_trigger_sql()
            assert "revoked_at" in _sqlite_update_trigger_sql()
        else:
            assert _device_triggers() == {"qs_auth_revision_devices"}
        downgrade(revision="authrev1")
        assert _device_triggers() == set()
        downgrade(revision="base")
        db.engine.dispose()
