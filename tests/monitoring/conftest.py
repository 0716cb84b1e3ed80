"""The monitoring tests use the live-queue fixtures (prepared catalogue and staff, Thursday
morning, one app per database)."""

from ..tickets.conftest import (  # noqa: F401
    _queue_apps,
    aegi,
    app,
    catalogue,
    clerk,
    client,
    db_url,
    pg_queue_database,
    pytest_generate_tests,
    sqlite_template,
)
