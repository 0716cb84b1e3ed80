"""The realtime tests reuse the live-queue fixtures (prepared catalogue and staff, frozen
Thursday morning, one app per database) for their in-process tests; the socket tests run real
server processes (``live_server``)."""

import pytest

from ..tickets.conftest import (  # noqa: F401
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
from .clients import live_env, start_live


@pytest.fixture
def live(tmp_path):
    """Start live servers (``live(env=..., database_url=..., prepare=...)``); stopped afterwards."""
    started = []

    def _start(
        env: dict | None = None,
        database_url: str | None = None,
        prepare: bool = True,
        port: int | None = None,
    ):
        server = start_live(tmp_path, env or live_env(), database_url, prepare, port)
        started.append(server)
        return server

    yield _start
    for server in reversed(started):
        server.stop()
