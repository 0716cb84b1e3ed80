"""Turn alert tests run on the live-queue fixtures (prepared catalogue and staff, Thursday
26 November 2026, 10:00, walk-ins open at Aegi), on SQLite and PostgreSQL, with mail kept in
memory unless a test starts a real SMTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from queue_service.extensions import db
from queue_service.notify.models import OutboxMail, TurnAlert

from ..tickets.conftest import (  # noqa: F401  (shared fixtures)
    _queue_apps,
    aegi,
    app,
    catalogue,
    clerk,
    client,
    db_url,
    manager,
    other_clerk,
    pg_queue_database,
    pytest_generate_tests,
    sqlite_template,
)


@pytest.fixture
def app_config():
    return {
        "MAIL_BACKEND": "memory",
        "MAIL_ASYNC": False,
        "PUBLIC_BASE_URL": "https://termine.example",
    }


def _wipe() -> None:
    db.session.rollback()
    db.session.execute(delete(TurnAlert))
    db.session.execute(delete(OutboxMail))
    db.session.commit()


@pytest.fixture
def mails(app, aegi):  # noqa: F811  (the imported fixtures, requested by name)
    """The mails sent (memory backend); alerts and the outbox emptied around the test."""
    _wipe()
    sent = app.extensions.setdefault("mail_outbox", [])
    sent.clear()
    yield sent
    _wipe()
    sent.clear()
