"""The realtime tests reuse the live-queue fixtures (prepared catalogue and staff, frozen
Thursday morning, one app per database) for their in-process tests; the socket tests run real
server processes (``live_server``)."""

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
