"""Staff for the authentication tests: an administrator and an Aegi clerk."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from queue_service import create_app
from queue_service.extensions import db

from ..conftest import _test_config, isolate_requests, login


@pytest.fixture(autouse=True)
def _fast_password_hashes(monkeypatch):
    """scrypt costs a quarter second per hash; these tests are not about hashing."""
    from functools import partial

    from werkzeug.security import generate_password_hash

    cheap = partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr("queue_service.auth.services.generate_password_hash", cheap)


@pytest.fixture
def people(app, catalogue, make_user):
    return SimpleNamespace(
        admin=make_user("admin", "admin", []), clerk=make_user("sb-aegi", "clerk", ["aegi"])
    )


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.username, user.password).status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    return client


@pytest.fixture
def other_app(app, db_url):
    """A second app on the same database, with its own kept authentication (another process)."""
    other = create_app(_test_config(db_url))
    isolate_requests(other)
    yield other
    with other.app_context():
        db.engine.dispose()
