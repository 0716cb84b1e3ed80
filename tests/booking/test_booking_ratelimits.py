"""Per-address rate limits on searches and bookings (Flask-Limiter); bearer clients are exempt."""

from __future__ import annotations

import pytest

from queue_service.offices.catalogue import DEMO_FILE, load_catalogue_file


@pytest.fixture
def app_config():
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_BOOKING_SEARCH": "3 per minute",
        "RATELIMIT_BOOKING_WRITE": "2 per minute",
        "MAIL_BACKEND": "memory",
        "MAIL_ASYNC": False,
    }


def test_searches_and_bookings_are_limited_per_address(sqlite_app, monday_morning):
    load_catalogue_file(DEMO_FILE)
    client = sqlite_app.test_client()
    for _ in range(2):
        assert client.get("/api/v1/slots/earliest?services=PA").status_code == 200
    assert client.get("/termin/ort?services=PA").status_code == 200  # pages share the budget
    limited = client.get("/api/v1/offices/aegi/slots?services=PA")
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    other = sqlite_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert other.get("/api/v1/slots/earliest?services=PA").status_code == 200
    # booking attempts have their own, smaller budget (failed attempts count too)
    token = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
    for _ in range(2):
        assert (
            client.post("/api/v1/appointments", json={}, headers={"X-CSRFToken": token}).status_code
            == 422
        )
    assert (
        client.post("/api/v1/appointments", json={}, headers={"X-CSRFToken": token}).status_code
        == 429
    )
    assert client.get("/termin/").status_code == 200  # reading the start page is never limited


def test_integrations_with_a_bearer_token_are_not_limited(sqlite_app, monday_morning):
    from queue_service.auth.services import create_api_token, create_user

    load_catalogue_file(DEMO_FILE)
    create_user("hanni", "admin")
    headers = {"Authorization": f"Bearer {create_api_token('hanni', 'chatbot')}"}
    client = sqlite_app.test_client()
    for _ in range(5):
        assert client.get("/api/v1/slots/earliest?services=PA", headers=headers).status_code == 200


def test_a_made_up_bearer_token_neither_lifts_the_limit_nor_csrf(sqlite_app, monday_morning):
    load_catalogue_file(DEMO_FILE)
    client = sqlite_app.test_client()
    forged = {"Authorization": "Bearer qs_made-up"}
    refused = client.get("/api/v1/slots/earliest?services=PA", headers=forged)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert client.post("/api/v1/appointments", json={}, headers=forged).status_code == 401
    for _ in range(3):
        assert client.get("/api/v1/slots/earliest?services=PA").status_code == 200
    assert client.get("/api/v1/slots/earliest?services=PA").status_code == 429
