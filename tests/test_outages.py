"""Degrade, don't fail: answers while Redis or the database is unreachable (in-process; the
fault runs with real processes that stop and restart are in tests/test_fault_processes.py)."""

from __future__ import annotations

import logging

import pytest

from queue_service import create_app
from queue_service.auth.services import create_device, create_user
from queue_service.extensions import db

from .conftest import THURSDAY_10, _test_config, isolate_requests, login
from .support.servers import free_port

NOBODY_LISTENS = f"127.0.0.1:{free_port()}"


@pytest.fixture
def app_without_database(tmp_path):
    url = f"postgresql+psycopg://postgres@{NOBODY_LISTENS}/gone"
    app = create_app(_test_config(url))
    isolate_requests(app)  # a fresh g per request, as in production (no cached anonymous user)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_without_the_database_the_api_answers_503_with_retry_after(app_without_database):
    client = app_without_database.test_client()
    for method, path in (
        ("get", "/api/v1/offices"),
        ("get", "/api/v1/offices/aegi/status"),
        ("post", "/api/v1/offices/aegi/tickets"),
        ("get", "/api/v1/tickets/abc"),
    ):
        headers = {"Authorization": "Bearer some-token"} if method == "post" else {}
        response = getattr(client, method)(path, headers=headers, json={"service": "PA"})
        assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 503
        assert int(response.headers["Retry-After"]) > 0


def test_without_the_database_pages_show_a_notice_in_german_and_english(app_without_database):
    client = app_without_database.test_client()
    german = client.get("/t/some-ticket", headers={"Accept-Language": "de"})
    english = client.get("/t/some-ticket?lang=en")
    for page, words in ((german, "kurz nicht erreichbar"), (english, "briefly unavailable")):
        html = page.get_data(as_text=True)
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert int(page.headers["Retry-After"]) > 0
        assert words in html, html[:600]
        assert 'class="brand"' in html  # the site's layout, not a bare framework page


def test_readyz_reports_each_dependency_as_json(app_without_database, tmp_path):
    response = app_without_database.test_client().get("/readyz")
    assert response.status_code == 503 and response.is_json
    assert response.get_json() == {
        "status": "unavailable",
        "database": "unreachable",
        "redis": "not configured",
    }
    app = create_app(
        _test_config(
            f"sqlite:///{tmp_path / 'ok.sqlite3'}", REDIS_URL=f"redis://{NOBODY_LISTENS}/0"
        )
    )
    with app.app_context():
        db.create_all()
        response = app.test_client().get("/readyz")
        assert response.status_code == 200
        assert response.get_json() == {
            "status": "degraded",
            "database": "reachable",
            "redis": "unreachable",
        }
        db.engine.dispose()


@pytest.fixture
def app_with_dead_redis(tmp_path):
    """Rate limits on, their storage (and the Socket.IO queue) on a Redis nobody answers."""
    from .conftest import DEMO_CATALOGUE

    config = _test_config(
        f"sqlite:///{tmp_path / 'test.sqlite3'}",
        REDIS_URL=f"redis://{NOBODY_LISTENS}/0",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=f"redis://{NOBODY_LISTENS}/0",
        KIOSK_RATELIMIT_TICKETS="3 per minute",
    )
    app = create_app(config)
    with app.app_context():
        from queue_service import clock
        from queue_service.offices.catalogue import load_catalogue_file

        db.create_all()
        load_catalogue_file(DEMO_CATALOGUE)
        clock.freeze(THURSDAY_10)
        yield app
        db.session.remove()
        db.engine.dispose()


def test_with_redis_down_kiosks_search_and_login_work_and_limits_hold_in_memory(
    app_with_dead_redis, caplog
):
    app = app_with_dead_redis
    client = app.test_client()
    kiosk = {"X-Device-Token": create_device("aegi", "kiosk")}
    user = create_user("clerk-aegi", "clerk", ["aegi"])
    caplog.set_level(logging.WARNING)
    answers = [
        client.post(
            "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk
        ).status_code
        for _ in range(4)
    ]
    assert answers == [201, 201, 201, 429]  # the per-kiosk limit still holds, in memory
    assert "falling back to in-memory storage" in caplog.text
    slots = client.get("/api/v1/offices/aegi/slots?services=PA")
    assert slots.status_code == 200, slots.get_data(as_text=True)[:300]
    response = login(app.test_client(), "clerk-aegi", user.password)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
