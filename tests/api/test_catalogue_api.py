from __future__ import annotations

from ..offices.test_catalogue import NINE


def test_offices_lists_exactly_the_nine_and_the_mobile_office(client, catalogue):
    response = client.get("/api/v1/offices")
    assert response.status_code == 200
    offices = response.get_json()["offices"]
    assert {o["slug"] for o in offices} == NINE | {"mobil"}
    assert offices[-1]["slug"] == "mobil"
    aegi = next(o for o in offices if o["slug"] == "aegi")
    assert aegi == {
        "slug": "aegi",
        "name": "Bürgeramt Aegi",
        "address": "Aegidientorplatz 1, 30159 Hannover",
        "mobile": False,
    }


def test_office_detail_has_services_counters_and_hours(client, catalogue):
    body = client.get("/api/v1/offices/linden?lang=en").get_json()
    assert body["counters"] == 10
    assert body["opening_hours"]["walkin"] == {"thu": [["08:00", "13:00"], ["14:00", "18:00"]]}
    names = {s["code"]: s["name"] for s in body["services"]}
    assert names["PA"] == "Apply for an identity card"
    assert "BPA" not in names
    german = client.get("/api/v1/offices/linden?lang=de").get_json()
    assert {s["code"]: s["name"] for s in german["services"]}["PA"] == "Personalausweis beantragen"


def test_mobile_office_lists_its_dates(client, catalogue, thursday_morning):
    body = client.get("/api/v1/offices/mobil").get_json()
    assert body["mobile"] is True
    first = body["mobile_events"][0]
    assert set(first.pop("services")) == {"PA", "RP", "BEF", "AN"}
    assert first == {
        "date": "2026-12-03",
        "start": "10:00",
        "end": "13:00",
        "place": "Pflege & Wohnen Martinshof",
        "address": "Misburg-Nord",
    }


def test_unknown_office_is_a_problem_json_404(client, catalogue):
    response = client.get("/api/v1/offices/atlantis")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["title"] == "Unbekanntes Bürgeramt"
    assert client.get("/api/v1/offices/atlantis?lang=en").get_json()["title"] == "Unknown office"
    assert "atlantis" in problem["detail"]
    assert problem["status"] == 404


def test_a_forged_bearer_token_is_refused_not_treated_as_anonymous(client, catalogue):
    response = client.get("/api/v1/offices", headers={"Authorization": "Bearer qs_forged"})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_unknown_api_route_and_method_are_problem_json_in_the_request_s_language(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.mimetype == "application/problem+json"
    assert (missing.get_json()["title"], missing.get_json()["status"]) == (
        "Seite nicht gefunden",
        404,
    )
    assert missing.get_json()["detail"].startswith("Unter dieser Adresse gibt es keine Seite.")
    token = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
    response = client.delete("/api/v1/offices", headers={"X-CSRFToken": token})
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "So nicht möglich"
    assert "GET" in response.headers["Allow"]
    # ?lang=en stays for the session, as on the pages
    english = client.get("/api/v1/nothing-here?lang=en").get_json()
    assert english["title"] == "Page not found"
    assert english["detail"].startswith("There is no page at this address.")


def test_a_failed_csrf_check_is_problem_json_in_the_request_s_language(client, catalogue):
    """A browser client's state change without its CSRF token: a 400 a resident's page can show
    as it is (German first, English on request), with a reason a script can act on."""
    refused = client.post("/api/v1/appointments", json={"office": "linden"})
    assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["reason"] == "csrf"
    assert problem["title"] == "Die Anfrage konnte nicht bearbeitet werden"
    assert problem["detail"] == (
        "Das Formular war abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch "
        "einmal."
    )
    english = client.post("/api/v1/appointments?lang=en", json={"office": "linden"}).get_json()
    assert english["reason"] == "csrf"
    assert english["title"] == "The request could not be processed"
    assert english["detail"] == "The form had expired. Please reload the page and try again."


def test_services_list(client, catalogue):
    services = client.get("/api/v1/services").get_json()["services"]
    assert len(services) == 17
    fz = next(s for s in services if s["code"] == "FZ")
    assert fz["duration_minutes"] == 8 and fz["documents"]


def test_openapi_describes_every_api_route(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    described = set(doc["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = rule.rule.replace("<", "{").replace(">", "}")
            path = __import__("re").sub(r"\{[a-z]+:", "{", path)
            assert path in described, f"{rule.rule} is not in the OpenAPI document"
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in doc["paths"][path], f"{method} {rule.rule} undocumented"


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {
        "status": "ok",
        "database": "reachable",
        "redis": "not configured",
    }
