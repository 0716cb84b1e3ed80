"""GET /api/v1/status: every office at once, ETag and 304, public caching, no personal data."""

from __future__ import annotations

from queue_service.stats import live
from queue_service.tickets import services as queue


def test_the_status_lists_every_office_with_waiting_estimates_and_counters(app, client, clerk):
    queue.open_counter("aegi", 1, actor=clerk)
    queue.issue_ticket("aegi", "PA")
    queue.issue_ticket("aegi", "PA")
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=15"
    body = response.get_json()
    slugs = [o["office"]["slug"] for o in body["offices"]]
    assert len(slugs) == 10 and {"aegi", "schuetzenplatz", "mobil"} <= set(slugs)  # nine + mobile
    aegi = next(o for o in body["offices"] if o["office"]["slug"] == "aegi")
    assert aegi["open"] is True and aegi["walkin_open"] is True
    assert aegi["open_counters"] == 1 and aegi["waiting_total"] == 2 and aegi["served_today"] == 0
    pa = next(s for s in aegi["services"] if s["code"] == "PA")
    assert pa["waiting"] == 2 and pa["estimated_wait_minutes"] is not None
    schuetzenplatz = next(o for o in body["offices"] if o["office"]["slug"] == "schuetzenplatz")
    assert schuetzenplatz["walkin_open"] is False


def test_an_unchanged_status_answers_304_to_its_etag_and_a_change_gives_a_new_etag(
    app, client, aegi
):
    app.config["STATUS_CACHE_SECONDS"] = 0
    first = client.get("/api/v1/status")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = client.get("/api/v1/status", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "public, max-age=15"
    queue.issue_ticket("aegi", "PA")
    changed = client.get("/api/v1/status", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_the_status_is_cached_for_a_few_seconds_then_recomputed(app, client, aegi):
    app.config["STATUS_CACHE_SECONDS"] = 60
    before = client.get("/api/v1/status").get_json()
    queue.issue_ticket("aegi", "PA")
    assert client.get("/api/v1/status").get_json() == before  # served from the cache
    live.clear_cache()
    after = client.get("/api/v1/status").get_json()
    assert next(o for o in after["offices"] if o["office"]["slug"] == "aegi")["waiting_total"] == 1


def test_the_status_holds_no_tokens_numbers_or_staff_names(app, client, clerk):
    app.config["STATUS_CACHE_SECONDS"] = 0
    queue.open_counter("aegi", 1, actor=clerk)
    ticket = queue.issue_ticket("aegi", "PA")
    queue.call_next("aegi", 1, actor=clerk)
    text = client.get("/api/v1/status").get_data(as_text=True)
    for secret in (
        ticket["token"],
        ticket["number"],
        "clerk-aegi",
        clerk.display_name or "clerk-aegi",
    ):
        assert secret not in text


def test_the_status_is_in_the_openapi_document(app, client, aegi):
    document = client.get("/api/openapi.json").get_json()
    operation = document["paths"]["/api/v1/status"]["get"]
    assert {"200", "304", "503"} <= set(operation["responses"])
    assert "CityStatus" in document["components"]["schemas"]


def test_concurrent_requests_share_one_computation_and_get_the_previous_answer_meanwhile(
    app, monkeypatch
):
    import threading
    import time

    app.config["STATUS_CACHE_SECONDS"] = 60
    calls = []

    def slow_status(lang):
        calls.append(lang)
        time.sleep(0.2)
        return {"server_time": None, "offices": [{"n": len(calls)}]}

    monkeypatch.setattr(live, "city_status", slow_status)
    results = []

    def ask():
        with app.app_context():
            results.append(live.cached_city_status("de")[0])

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1  # the first computation, shared
    app.config["STATUS_CACHE_SECONDS"] = 0.001  # expired: one refresh, the others get the old body
    time.sleep(0.01)
    results.clear()
    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) <= 3 and b'"n":1' in b"".join(results)
