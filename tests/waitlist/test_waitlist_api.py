"""The waitlist API: join (201 with code, manage_url and status), look up, accept an offer that a
cancellation produced, cancel; problems name the field; every route is in the OpenAPI document."""

from __future__ import annotations

from queue_service.booking import services as booking

from .conftest import THURSDAY, at, book


def _csrf(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/csrf-token").get_json()["csrf_token"]}


BODY = {
    "services": ["PA"],
    "persons": 1,
    "offices": ["linden"],
    "first_day": THURSDAY.isoformat(),
    "last_day": THURSDAY.isoformat(),
    "earliest": "08:00",
    "latest": "08:00",
    "name": "Erika Mustermann",
    "email": "erika@example.org",
}


def test_join_get_accept_through_the_api(mails, catalogue_app):
    client = catalogue_app.test_client()
    first, _ = book(start=at(THURSDAY, 8)), book(start=at(THURSDAY, 8))
    created = client.post("/api/v1/waitlist", json=BODY, headers=_csrf(client))
    assert created.status_code == 201, created.get_data(as_text=True)
    entry = created.get_json()
    assert entry["status"] == "active" and entry["code"]
    assert entry["manage_url"].startswith("https://termine.example/termin/warteliste/")
    token = entry["manage_url"].rsplit("/", 1)[-1]

    booking.cancel_appointment(first.token)
    looked_up = client.get(f"/api/v1/waitlist/{token}").get_json()
    assert looked_up["status"] == "offered"
    offer = looked_up["offer"]
    assert offer["start"] == "2026-11-26T08:00:00+01:00" and offer["status"] == "open"
    offer_token = offer["offer_url"].rsplit("/", 1)[-1]
    assert client.get(f"/api/v1/waitlist/offers/{offer_token}").get_json()["status"] == "open"

    accepted = client.post(
        f"/api/v1/waitlist/offers/{offer_token}/accept", headers=_csrf(client)
    ).get_json()
    assert accepted["status"] == "confirmed" and accepted["email"] == "erika@example.org"
    again = client.post(f"/api/v1/waitlist/offers/{offer_token}/accept", headers=_csrf(client))
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/waitlist/{token}").get_json()["status"] == "fulfilled"


def test_cancel_and_bad_input(mails, catalogue_app):
    client = catalogue_app.test_client()
    token = (
        client.post("/api/v1/waitlist", json=BODY, headers=_csrf(client))
        .get_json()["manage_url"]
        .rsplit("/", 1)[-1]
    )
    cancelled = client.post(f"/api/v1/waitlist/{token}/cancel", headers=_csrf(client))
    assert cancelled.get_json()["status"] == "cancelled"
    bad = client.post(
        "/api/v1/waitlist", json={**BODY, "first_day": "2020-01-01"}, headers=_csrf(client)
    )
    assert bad.status_code == 422 and bad.get_json()["field"] == "first_day"
    bad = client.post("/api/v1/waitlist", json={**BODY, "services": True}, headers=_csrf(client))
    assert bad.status_code in (400, 422) and bad.get_json()["field"] == "services"
    missing = client.get("/api/v1/waitlist/" + "x" * 43)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    no_csrf = client.post("/api/v1/waitlist", json=BODY)
    assert no_csrf.status_code in (400, 401, 403)


def test_every_waitlist_route_is_described(catalogue_app):
    paths = catalogue_app.test_client().get("/api/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/waitlist",
        "/api/v1/waitlist/{token}",
        "/api/v1/waitlist/{token}/cancel",
        "/api/v1/waitlist/{token}/confirm",
        "/api/v1/appointments/{token}/waitlist",
        "/api/v1/waitlist/offers/{token}",
        "/api/v1/waitlist/offers/{token}/accept",
        "/api/v1/waitlist/offers/{token}/decline",
    ):
        assert path in paths, path


def test_the_e_mail_limit_is_refused_in_the_requests_language(mails, catalogue_app):
    catalogue_app.config["WAITLIST_MAX_ACTIVE_PER_EMAIL"] = 1
    client = catalogue_app.test_client()
    assert client.post("/api/v1/waitlist", json=BODY, headers=_csrf(client)).status_code == 201
    for lang, expected in [
        (
            "de",
            "Diese E-Mail-Adresse ist bereits 1-mal beim Terminwecker angemeldet. Bitte melden "
            "Sie zuerst eine Anmeldung ab, die Sie nicht mehr brauchen.",
        ),
        (
            "en",
            "This e-mail address is already on the waitlist 1 times. Please cancel a request you "
            "no longer need first.",
        ),
    ]:
        refused = client.post(f"/api/v1/waitlist?lang={lang}", json=BODY, headers=_csrf(client))
        assert refused.status_code == 409 and refused.get_json()["field"] == "email"
        assert refused.get_json()["detail"] == expected
