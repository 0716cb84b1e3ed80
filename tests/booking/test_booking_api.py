"""The booking API: slot lists with offsets, problems naming the field, CSRF, holds, manage."""

from __future__ import annotations

from datetime import datetime

from queue_service import clock

from .conftest import BERLIN


def _csrf(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/csrf-token").get_json()["csrf_token"]}


def _problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    if field:
        assert problem["field"] == field, problem
    return problem


BODY = {
    "office": "linden",
    "services": ["PA"],
    "persons": 1,
    "start": "2026-11-26T08:00:00+01:00",
    "name": "Erika Mustermann",
    "email": "erika@example.org",
}


def test_slots_are_local_times_with_their_offset(bookings, catalogue_app):
    client = catalogue_app.test_client()
    body = client.get(
        "/api/v1/offices/aegi/slots?services=PA,MB&persons=1&from=2026-11-26&to=2026-11-26"
    ).get_json()
    assert body["duration_minutes"] == 20 and body["services"] == ["PA", "MB"]
    assert body["slots"][0] == {
        "start": "2026-11-26T08:00:00+01:00",
        "end": "2026-11-26T08:20:00+01:00",
    }
    assert body["slots"][-1]["end"] == "2026-11-26T18:00:00+01:00"
    assert body["bookable_until"] == "2027-01-04"
    clock.freeze(datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN))
    summer = client.get(
        "/api/v1/offices/aegi/slots?services=PA&from=2026-03-30&to=2026-03-30"
    ).get_json()
    assert summer["slots"][0]["start"] == "2026-03-30T08:00:00+02:00"
    earliest = client.get("/api/v1/slots/earliest?services=RP").get_json()
    assert len(earliest["offices"]) == 9
    assert earliest["offices"][0]["start"] == "2026-03-27T10:00:00+01:00"
    assert {"slug", "name", "address"} <= set(earliest["offices"][0]["office"])


def test_the_slot_list_written_as_text_is_what_the_json_provider_writes_of_every_slot(
    bookings, catalogue_app
):
    """The six-week list is spliced into the answer as JSON text: byte for byte what jsonify
    made of one dict per slot with datetimes formatted one by one (DST days included)."""
    from queue_service.api.booking import slot_json
    from queue_service.booking import slots
    from queue_service.offices import calendar
    from queue_service.offices.services import cached_office

    client = catalogue_app.test_client()
    for moment, query in (
        (None, "services=PA"),
        (None, "services=AN&persons=2"),
        (datetime(2026, 3, 20, 9, 0, tzinfo=BERLIN), "services=PA,MB"),  # across 29 March
        (datetime(2026, 10, 20, 9, 0, tzinfo=BERLIN), "services=RP"),  # across 25 October
    ):
        if moment:
            clock.freeze(moment)
        answer = client.get(f"/api/v1/offices/aegi/slots?{query}")
        body = answer.get_json()
        office = cached_office("aegi")
        request = slots.resolve_request(body["services"], body["persons"], office)
        tz = calendar.office_tz(office)
        expected = {key: value for key, value in body.items() if key != "slots"}
        expected["slots"] = [
            slot_json(slot, tz) for run in slots.free_runs(office, request) for slot in run.slots()
        ]
        assert len(expected["slots"]) > 500
        assert answer.get_data() == catalogue_app.json.response(expected).get_data()


def test_malformed_searches_are_problems_naming_the_field(bookings, catalogue_app):
    client = catalogue_app.test_client()
    _problem(client.get("/api/v1/offices/aegi/slots"), 422, "services")
    _problem(client.get("/api/v1/offices/aegi/slots?services=PA&persons=many"), 422, "persons")
    for lang, expected in [
        ("de", "Unbekannte Dienstleistungskürzel: XX, YY."),
        ("en", "Unknown service code(s): XX, YY."),
    ]:
        unknown = client.get(f"/api/v1/offices/aegi/slots?services=PA,XX,YY&lang={lang}")
        assert _problem(unknown, 422, "services")["detail"] == expected
    _problem(client.get("/api/v1/offices/aegi/slots?services=PA&from=2026-13-01"), 422, "from")
    _problem(
        client.get("/api/v1/offices/aegi/slots?services=PA&from=2026-12-02&to=2026-12-01"),
        422,
        "to",
    )
    _problem(client.get("/api/v1/offices/linden/slots?services=BPA"), 422, "services")
    _problem(client.get("/api/v1/offices/atlantis/slots?services=PA"), 404)
    _problem(client.get("/api/v1/slots/earliest?services=NOPE"), 422, "services")


def test_booking_needs_csrf_then_gives_201_and_409_when_full(bookings, catalogue_app):
    client = catalogue_app.test_client()
    _problem(client.post("/api/v1/appointments", json=BODY), 400)  # no CSRF token, no bearer
    headers = _csrf(client)
    created = client.post("/api/v1/appointments", json=BODY, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["status"] == "confirmed" and len(body["code"]) == 6
    assert (body["start"], body["end"]) == (
        "2026-11-26T08:00:00+01:00",
        "2026-11-26T08:15:00+01:00",
    )
    assert body["office"]["slug"] == "linden" and body["documents"]
    assert body["manage_url"].startswith("https://termine.example/termin/verwalten/")
    assert created.headers["Location"] == body["manage_url"]
    assert (
        client.post(
            "/api/v1/appointments", json=BODY | {"email": "b@example.org"}, headers=headers
        ).status_code
        == 201
    )
    gone = _problem(
        client.post(
            "/api/v1/appointments", json=BODY | {"email": "c@example.org"}, headers=headers
        ),
        409,
    )
    assert gone["title"] == "Termin nicht mehr frei"  # German first, like the detail


def test_malformed_bookings_are_problems_naming_the_field(bookings, catalogue_app):
    client = catalogue_app.test_client()
    headers = _csrf(client)
    _problem(
        client.post(
            "/api/v1/appointments", data="[1]", content_type="application/json", headers=headers
        ),
        422,
        "body",
    )
    for field, value in [
        ("office", None),
        ("start", "tomorrow"),
        ("start", None),
        ("name", ""),
        ("email", "nope"),
        ("services", []),
        ("persons", 0),
        ("phone", 42),
    ]:
        _problem(
            client.post("/api/v1/appointments", json=BODY | {field: value}, headers=headers),
            422,
            field,
        )
    _problem(
        client.post(
            "/api/v1/appointments",
            json=BODY | {"start": "2026-11-26T08:03:00+01:00"},
            headers=headers,
        ),
        409,
        "start",
    )  # not on the slot grid
    _problem(
        client.post(
            "/api/v1/appointments",
            json=BODY | {"start": "2026-11-28T08:00:00+01:00"},
            headers=headers,
        ),
        409,
        "start",
    )  # a Saturday


def test_hold_then_book_then_manage_by_token(bookings, catalogue_app):
    client = catalogue_app.test_client()
    headers = _csrf(client)
    hold = client.post(
        "/api/v1/holds", json={k: BODY[k] for k in ("office", "services", "start")}, headers=headers
    )
    assert hold.status_code == 201
    held = hold.get_json()
    assert held["expires_at"] == "2026-11-23T09:10:00+01:00"
    _problem(
        client.post(
            "/api/v1/appointments",
            json=BODY | {"hold": held["hold"], "persons": 2},
            headers=headers,
        ),
        422,
        "hold",
    )
    booked = client.post(
        "/api/v1/appointments", json=BODY | {"hold": held["hold"], "lang": "en"}, headers=headers
    )
    assert booked.status_code == 201 and booked.get_json()["lang"] == "en"
    token = booked.get_json()["manage_url"].rsplit("/", 1)[1]
    assert token == held["hold"]
    assert client.get(f"/api/v1/appointments/{token}").get_json()["name"] == "Erika Mustermann"
    moved = client.post(
        f"/api/v1/appointments/{token}/reschedule",
        json={"start": "2026-11-26T14:00:00+01:00"},
        headers=headers,
    )
    assert moved.status_code == 200 and moved.get_json()["start"] == "2026-11-26T14:00:00+01:00"
    _problem(
        client.post(f"/api/v1/appointments/{token}/reschedule", json={}, headers=headers),
        422,
        "start",
    )
    cancelled = client.post(f"/api/v1/appointments/{token}/cancel", headers=headers)
    assert cancelled.get_json()["status"] == "cancelled"
    _problem(client.post(f"/api/v1/appointments/{token}/cancel", headers=headers), 409)
    _problem(client.get("/api/v1/appointments/" + "x" * 43), 404)


def test_bearer_clients_need_no_csrf_token(bookings, catalogue_app):
    from queue_service.auth.services import create_api_token, create_user

    name = f"hanni-{clock.now().timestamp()}"
    create_user(name, "admin")
    token = create_api_token(name, "chatbot")
    client = catalogue_app.test_client()
    created = client.post(
        "/api/v1/appointments", json=BODY, headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201
    # the confirmation goes out even though the request loaded a user (no DB access after commit)
    assert [m["To"] for m in bookings] == [BODY["email"]]


def test_the_openapi_document_describes_booking_and_the_csrf_rule(catalogue_app):
    doc = catalogue_app.test_client().get("/api/openapi.json").get_json()
    for path in (
        "/api/v1/offices/{slug}/slots",
        "/api/v1/slots/earliest",
        "/api/v1/holds",
        "/api/v1/appointments",
        "/api/v1/appointments/{token}/cancel",
        "/api/v1/appointments/{token}/reschedule",
    ):
        assert path in doc["paths"]
    assert "X-CSRFToken" in doc["paths"]["/api/v1/appointments"]["post"]["description"]
    assert "409" in doc["paths"]["/api/v1/appointments"]["post"]["responses"]


def test_the_api_and_the_booking_pages_say_the_same_about_contact_details(bookings, catalogue_app):
    """One wording per contact problem (the service's message, translated in one place,
    errors.translate): the API's problem+json and the booking page read alike, in German and
    in English."""
    import html as html_lib
    import re

    from queue_service.booking import services as booking

    client = catalogue_app.test_client()
    hold = booking.hold_slot("linden", "PA", 1, datetime(2026, 11, 26, 9, tzinfo=BERLIN))
    url = f"/termin/daten/{hold.token}"
    for lang, expected in [
        ("en", "Please enter a valid e-mail address, e.g. name@example.org."),
        ("de", "Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@beispiel.de."),
    ]:
        problem = _problem(
            client.post(
                f"/api/v1/appointments?lang={lang}",
                json=BODY | {"email": "nope"},
                headers=_csrf(client),
            ),
            422,
            "email",
        )
        assert problem["detail"] == expected
        form = client.get(f"{url}?lang={lang}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        page = client.post(
            url, data={"csrf_token": token, "name": "Erika Mustermann", "email": "nope"}
        )
        assert page.status_code == 422
        assert expected in html_lib.unescape(page.get_data(as_text=True))
