"""The API holds to its OpenAPI document on hostile input: clear 4xx problems, never a 500."""

from __future__ import annotations

import json

import pytest

from queue_service.auth.services import create_api_token, create_device

PROBLEM = "application/problem+json"
BIG = 2**63 + 1


@pytest.fixture
def kiosk(aegi):
    return {"X-Device-Token": create_device("aegi", "kiosk")}


@pytest.fixture
def bearer(aegi):
    return {"Authorization": f"Bearer {create_api_token('clerk-aegi')}"}


def _problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if field is not None:
        assert body.get("field") == field, body
    return body


def _nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


NESTED_TARGETS = [
    "/api/v1/offices/aegi/tickets",
    "/api/v1/offices/aegi/check-in",
    "/api/v1/holds",
    "/api/v1/appointments",
    "/api/v1/tickets/unknown/finish",
    "/api/v1/offices/aegi/counters/1/call",
]


@pytest.mark.parametrize("path", NESTED_TARGETS)
def test_json_nested_a_thousand_deep_is_a_422_not_a_recursion_error(client, kiosk, bearer, path):
    for depth in (1000, 17):
        body = b'{"service": ' + _nested(depth) + b"}"
        response = client.post(
            path, data=body, content_type="application/json", headers={**kiosk, **bearer}
        )
        _problem(response, 422, "body")


@pytest.mark.parametrize("action", ["call-next", "call", "open", "pause", "close"])
def test_counter_numbers_beyond_any_column_are_a_422(client, bearer, action):
    response = client.post(f"/api/v1/offices/aegi/counters/{BIG}/{action}", headers=bearer)
    _problem(response, 422, "number")
    response = client.get(f"/api/v1/offices/aegi/counters/{BIG}", headers=bearer)
    _problem(response, 422, "number")


def test_a_transfer_to_a_huge_counter_is_a_422(client, kiosk, bearer):
    token = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk
    ).get_json()["token"]
    response = client.post(
        f"/api/v1/tickets/{token}/transfer", json={"counter": BIG}, headers=bearer
    )
    _problem(response, 422, "counter")


@pytest.mark.parametrize("services", [True, 7, {"PA": 1}, [None], [["PA"]]])
@pytest.mark.parametrize("path", ["/api/v1/appointments", "/api/v1/holds", "/api/v1/waitlist"])
def test_services_of_the_wrong_type_are_a_422_naming_services(client, aegi, path, services):
    body = {
        "office": "aegi",
        "services": services,
        "start": "2026-11-30T09:00:00+01:00",
        "name": "Erika Mustermann",
        "email": "erika@example.org",
    }
    bearer = {"Authorization": f"Bearer {create_api_token('clerk-aegi')}"}
    response = client.post(path, json=body, headers=bearer)
    problem = _problem(response, 422)
    assert problem["field"].split(".")[0] == "services"


def test_a_list_of_nulls_as_performed_service_is_a_422(client, kiosk, bearer):
    token = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk
    ).get_json()["token"]
    client.post("/api/v1/offices/aegi/counters/1/call-next", headers=bearer)
    client.post(f"/api/v1/tickets/{token}/start", headers=bearer)
    response = client.post(
        f"/api/v1/tickets/{token}/finish", json={"performed_service": [None, None]}, headers=bearer
    )
    _problem(response, 422, "performed_service")


def test_bodies_past_the_size_limit_are_a_413_problem_before_they_are_read(client, kiosk, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit <= 256 * 1024
    padding = "x" * (limit + 1)
    response = client.post(
        "/api/v1/offices/aegi/tickets",
        data=json.dumps({"service": "PA", "pad": padding}),
        content_type="application/json",
        headers=kiosk,
    )
    _problem(response, 413)
    # no body may be read for a route that ignores it either, and anonymous callers get the same
    response = client.post(
        "/api/v1/tickets/unknown/cancel", data=padding, content_type="application/json"
    )
    _problem(response, 413)
    page = client.post("/admin/login", data={"username": padding})
    assert page.status_code == 413 and page.mimetype == "text/html"
    # a legitimate body still goes through
    ok = client.post("/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk)
    assert ok.status_code == 201


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_unknown_methods_on_api_routes_are_a_405_with_allow(client, method):
    for path in ("/api/v1/offices/aegi/tickets", "/api/v1/tickets/abc", "/api/v1/holds"):
        response = client.open(path, method=method)
        _problem(response, 405)
        assert "POST" in response.headers["Allow"] or "GET" in response.headers["Allow"]


def test_query_parameters_are_checked_as_documented(client, aegi):
    _problem(client.get("/api/v1/offices/aegi?lang=null"), 422, "lang")
    _problem(client.get("/api/v1/services?lang=xx"), 422, "lang")
    assert client.get("/api/v1/services?lang=en").status_code == 200
    _problem(client.get("/api/v1/offices/aegi/slots?services=PA&persons=two"), 422, "persons")
    _problem(client.get("/api/v1/tickets/abc/pdf?large=maybe"), 422, "large")
    # an empty service list is refused, and the document says so
    _problem(client.get("/api/v1/slots/earliest?services="), 422, "services")
    doc = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/slots/earliest", "/api/v1/offices/{slug}/slots"):
        (services,) = [
            p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == "services"
        ]
        assert services["required"] and services["schema"]["minLength"] == 1


def test_the_document_lists_every_error_status_a_route_can_answer(client):
    doc = client.get("/api/openapi.json").get_json()
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            assert "503" in codes, f"{method} {path}: database down"
            assert "401" in codes, f"{method} {path}: an invalid bearer token"
            if method == "post":
                assert {"400", "413", "422"} <= codes, f"{method} {path}"
            for code in codes - {"200", "201", "204", "304"}:
                content = op["responses"][code].get("content", {})
                assert PROBLEM in content, f"{method} {path} {code}"
