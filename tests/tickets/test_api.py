"""The queue API wired to the services: status codes, problem details, who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, update

from queue_service import clock
from queue_service.auth.models import ApiToken, Device
from queue_service.auth.services import create_api_token, create_device
from queue_service.auth.web import current_device
from queue_service.db import unit_of_work
from queue_service.offices.services import get_office

from ..conftest import login
from ..support.html import csrf_from
from ..support.sql import statements_sent
from .conftest import PASSWORD


@pytest.fixture
def kiosk(aegi):
    return {"X-Device-Token": create_device("aegi", "kiosk")}


@pytest.fixture
def bearer(aegi):
    return {"Authorization": f"Bearer {create_api_token('clerk-aegi')}"}


def _issue(client, headers, service="PA", **extra):
    return client.post(
        "/api/v1/offices/aegi/tickets", json={"service": service, **extra}, headers=headers
    )


def test_a_kiosk_issues_a_ticket_with_links_people_ahead_and_estimate(client, kiosk):
    _issue(client, kiosk)
    response = _issue(client, kiosk, "PA")
    assert response.status_code == 201
    body = response.get_json()
    assert body["number"] == "P002" and body["status"] == "waiting"
    assert (body["people_ahead"], body["estimated_wait_minutes"]) == (1, 15)
    # no PUBLIC_BASE_URL or TRUSTED_HOSTS in tests: links use HOST:PORT, not the Host header
    assert body["status_url"] == f"http://127.0.0.1:5000/t/{body['token']}"
    assert body["pdf_url"] == f"http://127.0.0.1:5000/api/v1/tickets/{body['token']}/pdf"
    assert response.headers["Location"] == body["status_url"]
    assert body["service"]["code"] == "PA" and body["office"]["slug"] == "aegi"
    assert body["issued_at"] == "2026-11-26T10:00:00+01:00"


def test_issuing_needs_staff_or_a_kiosk_of_that_office(client, aegi, bearer):
    anonymous = client.post(
        "/api/v1/offices/aegi/tickets",
        json={"service": "PA"},
        headers={"X-Device-Token": "dev_unknown"},
    )
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
    other = _issue(client, {"X-Device-Token": create_device("linden", "kiosk")})
    assert other.status_code == 403
    display = _issue(client, {"X-Device-Token": create_device("aegi", "display")})
    assert display.status_code == 403
    staff = _issue(client, bearer, priority=True)
    assert staff.status_code == 201 and staff.get_json()["priority"] is True
    clerk_elsewhere = {"Authorization": f"Bearer {create_api_token('clerk-linden')}"}
    assert _issue(client, clerk_elsewhere).status_code == 403


def test_refusals_are_409_problems_with_a_reason_and_bad_input_is_422(client, kiosk):
    unknown = _issue(client, kiosk, "NOPE")
    assert unknown.status_code == 422 and unknown.get_json()["field"] == "service"
    missing = client.post("/api/v1/offices/aegi/tickets", json={}, headers=kiosk)
    assert missing.status_code == 422 and missing.get_json()["field"] == "service"
    not_json = client.post(
        "/api/v1/offices/aegi/tickets", data="[1]", headers=kiosk, content_type="application/json"
    )
    assert not_json.status_code == 422
    clock.advance(timedelta(hours=9))  # 19:00
    late = _issue(client, kiosk)
    assert late.status_code == 409 and late.mimetype == "application/problem+json"
    assert late.get_json()["reason"] == "outside_walkin_hours"
    assert (
        client.post(
            "/api/v1/offices/atlantis/tickets", json={"service": "PA"}, headers=kiosk
        ).status_code
        == 404
    )


def test_the_idempotency_key_header_returns_the_same_ticket(client, kiosk):
    first = _issue(client, {**kiosk, "Idempotency-Key": "tap-42"}).get_json()
    again = _issue(client, {**kiosk, "Idempotency-Key": "tap-42"}).get_json()
    assert again["token"] == first["token"]
    assert _issue(client, kiosk).get_json()["number"] == "P002"


def test_the_public_status_has_no_secrets_and_unknown_tokens_are_404(client, kiosk):
    token = _issue(client, kiosk).get_json()["token"]
    response = client.get(f"/api/v1/tickets/{token}")
    body = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert body["number"] == "P001" and body["status"] == "waiting" and body["counter"] is None
    assert "token" not in body and "actions" not in body
    assert client.get("/api/v1/tickets/not-a-token").status_code == 404


def test_a_clerk_works_through_the_queue_over_the_api(client, kiosk, bearer):
    tokens = [_issue(client, kiosk, code).get_json()["token"] for code in ("PA", "AB", "RP")]
    called = client.post("/api/v1/offices/aegi/counters/2/call-next", headers=bearer)
    assert called.status_code == 200
    ticket = called.get_json()
    assert ticket["token"] == tokens[0] and ticket["counter"] == {"number": 2, "name": "Platz 2"}
    assert client.get(f"/api/v1/tickets/{tokens[0]}").get_json()["counter"]["number"] == 2
    for action in ("recall", "start"):
        assert (
            client.post(f"/api/v1/tickets/{tokens[0]}/{action}", headers=bearer).status_code == 200
        )
    done = client.post(
        f"/api/v1/tickets/{tokens[0]}/finish", json={"performed_service": "VD"}, headers=bearer
    )
    assert done.get_json()["performed_service"] == "VD"
    second = client.post("/api/v1/offices/aegi/counters/2/call-next", headers=bearer).get_json()
    for action in ("recall", "recall"):
        client.post(f"/api/v1/tickets/{second['token']}/{action}", headers=bearer)
    assert (
        client.post(f"/api/v1/tickets/{second['token']}/no-show", headers=bearer).get_json()[
            "status"
        ]
        == "no_show"
    )
    third = client.post(
        "/api/v1/offices/aegi/counters/2/call", json={"number": "r001"}, headers=bearer
    )
    assert third.status_code == 200 and third.get_json()["token"] == tokens[2]
    parked = client.post(f"/api/v1/tickets/{tokens[2]}/park", headers=bearer)
    assert parked.get_json()["status"] == "parked"
    back = client.post(
        f"/api/v1/tickets/{tokens[2]}/unpark", json={"position": "back"}, headers=bearer
    )
    assert back.get_json()["status"] == "waiting"
    moved = client.post(
        f"/api/v1/tickets/{tokens[2]}/transfer",
        json={"counter": 13, "service": "MB"},
        headers=bearer,
    )
    assert moved.get_json()["target_counter"]["number"] == 13
    assert (
        client.post("/api/v1/offices/aegi/counters/2/call-next", headers=bearer).status_code == 204
    )
    cancelled = client.post(f"/api/v1/tickets/{tokens[2]}/cancel", headers=bearer)
    assert cancelled.get_json()["status"] == "cancelled"


def test_invalid_transitions_are_409_and_bad_bodies_422(client, kiosk, bearer):
    token = _issue(client, kiosk).get_json()["token"]
    response = client.post(f"/api/v1/tickets/{token}/finish", headers=bearer)
    assert response.status_code == 409
    problem = response.get_json()
    assert problem["reason"] == "invalid_transition" and problem["status_now"] == "waiting"
    # the refusal names the status and the action in the request's language (German first)
    assert problem["detail"] == (
        "Die Wartenummer P001 ist wartend; sie kann nur abgeschlossen werden, "
        "wenn sie in Bearbeitung ist."
    )
    english = client.post(f"/api/v1/tickets/{token}/finish?lang=en", headers=bearer).get_json()
    assert english["detail"] == (
        "Ticket P001 is waiting; it can only be finished when it is serving."
    )
    transfer = client.post(
        f"/api/v1/tickets/{token}/transfer", json={"position": "front"}, headers=bearer
    )
    assert transfer.status_code == 422 and transfer.get_json()["field"] == "service"
    client.post("/api/v1/offices/aegi/counters/1/call-next", headers=bearer)
    _issue(client, kiosk)
    busy = client.post("/api/v1/offices/aegi/counters/1/call-next", headers=bearer)
    assert busy.status_code == 409 and busy.get_json()["reason"] == "counter_busy"
    assert (
        client.post("/api/v1/offices/aegi/counters/99/call-next", headers=bearer).status_code == 404
    )


def test_staff_routes_need_a_login_and_the_right_office(client, kiosk, bearer):
    token = _issue(client, kiosk).get_json()["token"]
    assert (
        client.post("/api/v1/offices/aegi/counters/1/call-next", headers=kiosk).status_code == 401
    )
    assert client.post(f"/api/v1/tickets/{token}/recall", headers=kiosk).status_code == 401
    assert client.get("/api/v1/offices/aegi/queue").status_code == 401
    elsewhere = {"Authorization": f"Bearer {create_api_token('clerk-linden')}"}
    for method, url in (
        ("post", "/api/v1/offices/aegi/counters/1/call-next"),
        ("post", f"/api/v1/tickets/{token}/cancel"),
        ("post", "/api/v1/offices/aegi/counters/1/open"),
        ("get", "/api/v1/offices/aegi/queue"),
        ("get", "/api/v1/offices/aegi/counters/1"),
    ):
        response = getattr(client, method)(url, headers=elsewhere)
        assert response.status_code == 403, url
        assert response.mimetype == "application/problem+json"
    admin = {"Authorization": f"Bearer {create_api_token('admin')}"}
    assert client.get("/api/v1/offices/aegi/queue", headers=admin).status_code == 200


def test_the_queue_lists_waiting_per_service_parked_tickets_and_counters(client, kiosk, bearer):
    _issue(client, kiosk, "PA")
    clock.advance(timedelta(minutes=7))
    _issue(client, kiosk, "PA")
    parked = _issue(client, kiosk, "AB").get_json()["token"]
    client.post(f"/api/v1/tickets/{parked}/park", headers=bearer)
    client.post("/api/v1/offices/aegi/counters/3/open", headers=bearer)
    queue = client.get("/api/v1/offices/aegi/queue", headers=bearer).get_json()
    assert queue["waiting_total"] == 2 and [t["number"] for t in queue["queue"]] == ["P001", "P002"]
    pa = next(s for s in queue["services"] if s["code"] == "PA")
    assert (pa["waiting"], pa["longest_wait_minutes"]) == (2, 7)
    assert [t["waiting_minutes"] for t in pa["tickets"]] == [7, 0]
    assert [t["number"] for t in queue["parked"]] == ["H001"]
    counter = next(c for c in queue["counters"] if c["number"] == 3)
    assert counter["status"] == "open" and counter["user"]["username"] == "clerk-aegi"
    assert counter["waiting_for_counter"] == 2 and counter["current"] is None
    called = client.post("/api/v1/offices/aegi/counters/3/call-next", headers=bearer).get_json()
    mine = client.get("/api/v1/offices/aegi/counters/3", headers=bearer).get_json()
    assert mine["current"]["token"] == called["token"] and "start" in mine["current"]["actions"]
    assert client.post("/api/v1/offices/aegi/counters/3/close", headers=bearer).status_code == 409
    client.post(f"/api/v1/tickets/{called['token']}/park", headers=bearer)
    assert (
        client.post("/api/v1/offices/aegi/counters/3/pause", headers=bearer).get_json()["status"]
        == "paused"
    )
    assert (
        client.post("/api/v1/offices/aegi/counters/3/close", headers=bearer).get_json()["status"]
        == "closed"
    )


def test_the_public_office_status_needs_no_login(client, kiosk):
    _issue(client, kiosk, "PA")
    body = client.get("/api/v1/offices/aegi/status").get_json()
    assert body["walkin_open"] is True and body["waiting_total"] == 1
    assert next(s for s in body["services"] if s["code"] == "PA")["waiting"] == 1
    assert client.get("/api/v1/offices/atlantis/status").status_code == 404


def test_a_logged_in_clerk_uses_the_session_with_a_csrf_token(client, kiosk):
    _issue(client, kiosk)
    assert login(client, "clerk-aegi", PASSWORD).status_code == 302
    without = client.post("/api/v1/offices/aegi/counters/1/call-next")
    assert without.status_code == 400  # CSRF
    csrf = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
    called = client.post("/api/v1/offices/aegi/counters/1/call-next", headers={"X-CSRFToken": csrf})
    assert called.status_code == 200 and called.get_json()["number"] == "P001"


def test_the_visitor_cancels_from_the_status_page_with_the_token(client, kiosk):
    token = _issue(client, kiosk).get_json()["token"]
    page = client.get(f"/t/{token}")
    csrf = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
    response = client.post(f"/api/v1/tickets/{token}/cancel", headers={"X-CSRFToken": csrf})
    assert page.status_code == 200
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert "token" not in response.get_json()


def test_the_status_page_shows_number_position_and_estimate(client, kiosk):
    _issue(client, kiosk)
    token = _issue(client, kiosk).get_json()["token"]
    html = client.get(f"/t/{token}").get_data(as_text=True)
    assert "P002" in html and "Personen vor Ihnen" in html and "etwa 15 Minuten" in html
    english = client.get(f"/t/{token}?lang=en").get_data(as_text=True)
    assert "People ahead of you" in english and "about 15 minutes" in english
    assert client.get("/t/unknown-token").status_code == 404


def test_the_status_page_opens_in_the_tickets_language_right_to_left_for_arabic(client, kiosk):
    token = _issue(client, kiosk, lang="ar").get_json()["token"]
    assert client.get(f"/api/v1/tickets/{token}").get_json()["lang"] == "ar"
    html = client.get(f"/t/{token}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "رقم انتظارك" in html and "عدد الأشخاص قبلك" in html and "طلب بطاقة هوية شخصية" in html
    # nobody ahead: the same words as on the kiosk and the paper, never "about 0 minutes"
    assert "قريباً جداً" in html and "حوالي 0" not in html
    # a switch to every language a ticket can be issued in; German on request
    for code in ("de", "en", "tr", "uk"):
        assert f'href="/t/{token}?lang={code}"' in html
    german = client.get(f"/t/{token}?lang=de").get_data(as_text=True)
    assert '<html lang="de" dir="ltr">' in german and "Personen vor Ihnen" in german
    assert "gleich" in german and "etwa 0 Minuten" not in german
    turkish = client.get(f"/t/{token}?lang=tr").get_data(as_text=True)
    assert "Önünüzdeki kişi sayısı" in turkish and "Kimlik kartı başvurusu" in turkish


def test_giving_an_arabic_ticket_back_happens_in_arabic_and_a_switch_is_kept(client, kiosk):
    token = _issue(client, kiosk, lang="ar").get_json()["token"]
    status = client.get(f"/t/{token}").get_data(as_text=True)
    assert f'href="/t/{token}/cancel?lang=ar"' in status  # the button keeps the page's language
    page = client.get(f"/t/{token}/cancel").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "هل تريد إلغاء التذكرة P001؟" in page and "نعم، ألغِ تذكرتي" in page
    assert "zurückgeben" not in page and "cancel my ticket" not in page
    for code in ("de", "en", "tr", "uk"):  # the status page's languages, not only the site's
        assert f'href="/t/{token}/cancel?lang={code}"' in page
    # a visitor who switched to Turkish gives the ticket back in Turkish and stays there
    turkish = client.get(f"/t/{token}/cancel?lang=tr").get_data(as_text=True)
    assert "P001 numaralı sıra fişi iptal edilsin mi?" in turkish
    assert f'action="/t/{token}/cancel?lang=tr"' in turkish
    answer = client.post(f"/t/{token}/cancel?lang=tr", data={"csrf_token": csrf_from(turkish)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/t/{token}?lang=tr")
    done = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Sıra fişiniz iptal edildi. Sıradan ayrılabilirsiniz." in done
    # cancelled: asking again leads back to the Arabic page with an Arabic note
    again = client.get(f"/t/{token}/cancel")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/t/{token}")
    note = client.get(again.headers["Location"]).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in note and "لم يعد من الممكن إلغاء هذه التذكرة." in note


def _reads_of(sent: list[str], table: str) -> int:
    return sum(1 for s in sent if s.lstrip().startswith("SELECT") and f"FROM {table} " in f"{s} ")


def test_who_asked_is_read_once_per_request_not_again_inside_the_change(client, kiosk, bearer):
    """The kiosk or the token's user, authenticated at the request's start, stays loaded through
    the request's unit of work (before, the change reloaded it to check the same office)."""
    _issue(client, kiosk)  # the kiosk's first request also records that it was seen
    with statements_sent() as sent:
        assert _issue(client, kiosk).status_code == 201
    # the device is kept by the process under the auth revision (tests/auth/test_devices_across_processes.py)
    assert _reads_of(sent, "devices") == 0
    client.post("/api/v1/offices/aegi/counters/1/open", headers=bearer)
    with statements_sent() as sent:
        called = client.post("/api/v1/offices/aegi/counters/1/call-next", headers=bearer)
    assert called.status_code == 200
    with statements_sent() as started:
        response = client.post(
            f"/api/v1/tickets/{called.get_json()['token']}/start", headers=bearer
        )
    assert response.status_code == 200
    for statements in (sent, started):
        # the token and its user are kept by the process since the counter's opening (under the
        # auth revision, tests/auth/test_bearer_across_processes.py)
        assert _reads_of(statements, "api_tokens") == 0
        assert _reads_of(statements, "users") == 0


def test_a_revoked_kiosk_or_token_is_refused_at_its_next_request(client, kiosk, bearer):
    assert _issue(client, kiosk).status_code == 201
    assert client.post("/api/v1/offices/aegi/counters/1/open", headers=bearer).status_code == 200
    with unit_of_work() as session:
        session.execute(update(Device).values(revoked_at=clock.now()))
        session.execute(update(ApiToken).values(revoked_at=clock.now()))
    assert _issue(client, kiosk).status_code == 401
    assert (
        client.post("/api/v1/offices/aegi/counters/1/call-next", headers=bearer).status_code == 401
    )


def test_a_unit_of_work_keeps_only_the_request_principal_loaded(app, aegi):
    """Everything else the request read before its change is read again inside it."""
    device_token = create_device("aegi", "kiosk")
    with app.test_request_context(headers={"X-Device-Token": device_token}):
        device = current_device()
        office = get_office("aegi")
        with unit_of_work():
            assert "kind" in inspect(device).dict  # kept: not reloaded
            assert "name" not in inspect(office).dict  # expired: the change reads it anew
        with unit_of_work():  # and again after a unit of work that kept its objects
            assert "kind" in inspect(device).dict
            assert "name" not in inspect(office).dict
