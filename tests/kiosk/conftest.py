"""The kiosk tests share the live-queue fixtures (tests/tickets/conftest.py): a prepared database
with the demo catalogue and staff accounts, reset per test, on SQLite and on PostgreSQL, and the
clock frozen on Thursday 26 November 2026, 10:00 in Hannover (``aegi`` fixture)."""

from __future__ import annotations

import pytest

from queue_service.auth.services import create_device

from ..tickets import conftest as _queue

# the live-queue fixtures, used here under the same names (assigned, so that fixture arguments
# of the same names below are not mistaken for redefinitions)
for _name in (
    "_queue_apps",
    "admin",
    "aegi",
    "app",
    "catalogue",
    "clerk",
    "client",
    "db_url",
    "manager",
    "pg_queue_database",
    "pytest_generate_tests",
    "sqlite_template",
):
    globals()[_name] = getattr(_queue, _name)


@pytest.fixture
def kiosk_token(aegi):
    """The device token of a registered kiosk of Aegi."""
    return create_device("aegi", "kiosk", "Kiosk Eingang")


@pytest.fixture
def kiosk_client(app, client, kiosk_token):
    """A browser that holds Aegi's kiosk registration cookie (as after /kiosk/register)."""
    from queue_service.auth.web import DEVICE_COOKIE

    client.set_cookie(DEVICE_COOKIE, kiosk_token, domain="localhost")
    return client


def csrf_of(client, path: str = "/kiosk/aegi") -> str:
    from ..support.html import csrf_from

    return csrf_from(client.get(path).get_data(as_text=True))
