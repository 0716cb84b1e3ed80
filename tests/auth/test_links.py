"""Absolute links (status_url, pdf_url, the kiosk's QR) never follow an untrusted Host header."""

from __future__ import annotations

import pytest

from queue_service.auth.services import create_device

EVIL = {"Host": "evil.example"}


@pytest.fixture
def kiosk(app, catalogue, thursday_morning):
    return {"X-Device-Token": create_device("aegi", "kiosk")}


def issue(client, kiosk, **headers):
    return client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers={**kiosk, **headers}
    )


def test_ticket_links_ignore_a_forged_host_header(client, kiosk):
    body = issue(client, kiosk, **EVIL).get_json()
    for link in (body["status_url"], body["pdf_url"]):
        assert "evil.example" not in link
        assert link.startswith("http://127.0.0.1:5000/")


def test_ticket_links_use_the_public_base_url(app, client, kiosk):
    app.config["PUBLIC_BASE_URL"] = "https://termine.hannover.example/"
    answer = issue(client, kiosk, **EVIL)
    body = answer.get_json()
    assert body["status_url"] == f"https://termine.hannover.example/t/{body['token']}"
    assert body["pdf_url"].startswith("https://termine.hannover.example/api/v1/tickets/")
    assert answer.headers["Location"] == body["status_url"]
    page = client.get(f"/kiosk/aegi/tickets/{body['token']}", headers={**kiosk, **EVIL})
    assert "evil.example" not in page.get_data(as_text=True)


def test_with_trusted_hosts_the_request_host_is_used_and_others_are_refused(app, client, kiosk):
    app.config["TRUSTED_HOSTS"] = ["termine.hannover.example"]
    good = issue(client, kiosk, Host="termine.hannover.example").get_json()
    assert good["status_url"].startswith("http://termine.hannover.example/t/")
    refused = issue(client, kiosk, **EVIL)
    assert refused.status_code == 400
