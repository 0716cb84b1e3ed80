"""The clerk desk's pages: login, office scope, choosing a counter, the desk itself, 403/404."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from queue_service.auth.models import User
from queue_service.extensions import db
from queue_service.tickets import services as queue

from ..conftest import login
from ..support.html import csrf_from
from .conftest import PASSWORD, logged_in


def _page_json(html: str, element_id: str) -> dict:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _choose(client, office: str, counter: str):
    token = csrf_from(client.get("/admin/").get_data(as_text=True))
    return client.post(
        "/admin/desk", data={"office": office, "counter": counter, "csrf_token": token}
    )


def _counter(client, number: int = 1) -> dict:
    return client.get(f"/api/v1/offices/aegi/counters/{number}").get_json()


def test_the_desk_pages_need_a_login(app):
    anonymous = app.test_client()
    for url in ("/admin/desk", "/admin/desk/aegi/1"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_clerk_lands_on_the_counter_choice_of_their_own_office(app):
    client = app.test_client()
    response = login(client, "clerk-aegi", PASSWORD)
    assert response.headers["Location"].endswith("/admin/desk")
    html = client.get("/admin/desk").get_data(as_text=True)
    assert "Ihr Platz im Bürgeramt Aegi" in html
    assert 'id="office-choice"' not in html  # one office: nothing to choose
    assert len(re.findall(r'name="counter" value="\d+"', html)) == 14
    assert "nur AB, BG, EID, MB" in html  # Platz 13 serves only a few services
    assert "Linden" not in html
    # the staff navigation leads here, and the start page links to it
    assert 'href="/admin/desk" aria-current="page">Schalter</a>' in html
    assert 'href="/admin/desk"' in client.get("/admin/").get_data(as_text=True)


def test_managers_still_start_on_the_staff_start_page(app):
    response = login(app.test_client(), "manager-aegi", PASSWORD)
    assert response.headers["Location"].endswith("/admin/")


def test_choosing_a_counter_opens_it_for_the_clerk_and_the_choice_is_remembered(app):
    client = logged_in(app, "clerk-aegi")
    assert _counter(client)["status"] == "closed"
    response = _choose(client, "aegi", "1")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/admin/desk/aegi/1"
    )
    assert "qs_desk=aegi:1" in response.headers["Set-Cookie"]
    counter = _counter(client)
    assert counter["status"] == "open" and counter["user"]["username"] == "clerk-aegi"
    html = client.get("/admin/desk").get_data(as_text=True)
    assert re.search(r'id="counter-1" name="counter" value="1" required checked>', html)
    assert not re.search(r'id="counter-2" [^>]*checked', html)
    assert "für Sie geöffnet" in html


def test_a_counter_someone_else_has_open_shows_who_and_is_taken_over(app):
    other = logged_in(app, "manager-aegi")
    _choose(other, "aegi", "2")
    client = logged_in(app, "clerk-aegi")
    html = client.get("/admin/desk").get_data(as_text=True)
    assert re.search(r'id="counter-2-state">\s*geöffnet: ', html)
    _choose(client, "aegi", "2")
    assert _counter(client, 2)["user"]["username"] == "clerk-aegi"


def test_choosing_no_counter_or_an_unknown_one_asks_again(app):
    client = logged_in(app, "clerk-aegi")
    for value in ("", "99", "x"):
        response = _choose(client, "aegi", value)
        assert response.status_code == 302 and response.headers["Location"].endswith(
            "/admin/desk?office=aegi"
        )
        assert "Bitte wählen Sie einen Platz." in client.get("/admin/desk?office=aegi").get_data(
            as_text=True
        )


def test_the_desk_renders_the_clerks_counter_with_the_live_queue(app):
    clerk = _user("clerk-aegi")
    queue.issue_ticket("aegi", "PA", actor=clerk)
    queue.issue_ticket("aegi", "RP", actor=clerk)
    client = logged_in(app, "clerk-aegi")
    _choose(client, "aegi", "1")
    response = client.get("/admin/desk/aegi/1")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<h1>Bürgeramt Aegi · Platz 1</h1>" in html
    assert "Nächste Nummer aufrufen" in html and 'aria-keyshortcuts="N"' in html
    assert '<meta name="csrf-token"' in html and "desk.js" in html and "socket.io.min.js" in html
    config = _page_json(html, "desk-config")
    assert (config["office"], config["counter"], config["counterName"]) == ("aegi", 1, "Platz 1")
    assert config["api"] == "/api/v1/offices/aegi" and config["noShowAfterRecalls"] == 2
    assert config["strings"]["status.serving"] == "in Bearbeitung"
    initial = _page_json(html, "desk-initial")
    assert [t["number"] for t in initial["queue"]] == ["P001", "R001"]
    assert [(t["people_ahead"], t["estimated_wait_minutes"]) for t in initial["queue"]] == [
        (0, 0),
        (1, 15),
    ]
    # the finish and transfer choices list the office's services and the other counters
    assert '<option value="BPA">' in html
    assert (
        '<option value="2">Platz 2</option>' in html
        and '<option value="1">Platz 1</option>' not in html
    )


def test_the_desk_speaks_english_on_request(app):
    client = logged_in(app, "clerk-aegi")
    html = client.get("/admin/desk/aegi/1?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in html and "Call next number" in html and "Nächste" not in html
    strings = _page_json(html, "desk-config")["strings"]
    assert strings["status.serving"] == "being served" and strings["kind.walkin"] == "walk-in"


def test_a_clerk_of_another_office_gets_403_and_changes_nothing(app):
    client = logged_in(app, "clerk-linden")
    page = client.get("/admin/desk/aegi/1")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "Kein Zugriff" in html and "Ihr Konto hat keinen Zugriff auf Bürgeramt Aegi." in html
    assert client.get("/admin/desk?office=aegi").status_code == 403
    token = csrf_from(client.get("/admin/desk").get_data(as_text=True))
    opened = client.post(
        "/admin/desk", data={"office": "aegi", "counter": "1", "csrf_token": token}
    )
    assert opened.status_code == 403
    # their own office works, and Aegi's counter stayed closed
    assert client.get("/admin/desk/linden/1").status_code == 200
    assert _counter(logged_in(app, "clerk-aegi"))["status"] == "closed"


def test_an_unknown_office_or_counter_is_a_404_page(app):
    client = logged_in(app, "clerk-aegi")
    missing_counter = client.get("/admin/desk/aegi/99")
    assert missing_counter.status_code == 404
    assert "Bürgeramt Aegi hat keinen Platz 99." in missing_counter.get_data(as_text=True)
    assert client.get("/admin/desk/atlantis/1").status_code == 404


def test_an_administrator_chooses_among_all_offices(app):
    client = logged_in(app, "admin")
    html = client.get("/admin/desk").get_data(as_text=True)
    assert 'id="office-choice"' in html and "Bürgeramt Linden" in html and "Bürgeramt Aegi" in html
    linden = client.get("/admin/desk?office=linden").get_data(as_text=True)
    assert "Ihr Platz im Bürgeramt Linden" in linden
    assert len(re.findall(r'name="counter" value="\d+"', linden)) == 10


def test_the_api_calls_the_desk_script_makes_work_with_the_pages_csrf_token(app):
    """What desk.js does, step by step: the config's URLs and the meta tag's token."""
    queue.issue_ticket("aegi", "PA", actor=_user("clerk-aegi"))
    client = logged_in(app, "clerk-aegi")
    html = client.get("/admin/desk/aegi/1").get_data(as_text=True)
    config = _page_json(html, "desk-config")
    headers = {"X-CSRFToken": csrf_from(html), "Accept": "application/json"}
    called = client.post(
        config["api"] + f"/counters/{config['counter']}/call-next", headers=headers
    )
    assert called.status_code == 200 and called.get_json()["number"] == "P001"
    busy = client.post(config["api"] + "/counters/1/call-next", headers=headers)
    assert busy.status_code == 409 and busy.get_json()["reason"] == "counter_busy"
    assert busy.get_json()["ticket"] == "P001"  # desk.js names the ticket in its message
    token = called.get_json()["token"]
    assert client.post(config["ticketApi"] + token + "/start", headers=headers).status_code == 200
    assert (
        client.post(
            config["ticketApi"] + token + "/finish",
            headers=headers,
            json={"performed_service": "RP"},
        ).get_json()["performed_service"]
        == "RP"
    )
    nobody = client.post(config["api"] + "/counters/1/call-next", headers=headers)
    assert nobody.status_code == 204
    overview = client.get(config["api"] + "/queue").get_json()
    assert overview["waiting_total"] == 0 and overview["counters"][0]["current"] is None
    # without the token the same call is refused
    assert client.post(config["api"] + "/counters/1/call-next").status_code == 400
