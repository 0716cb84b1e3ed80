"""The turn alert on the status page: the form (with CSRF), its JSON answer for the page's
script and the redirect without script; the address is never shown back."""

from __future__ import annotations

from queue_service.notify import turn_alerts
from queue_service.tickets import services as q

from ..support.html import csrf_from


def _page(client, token: str, lang: str = "de") -> str:
    response = client.get(f"/t/{token}?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_form_sets_the_alert_and_the_page_keeps_the_address_to_itself(mails, client):
    token = q.issue_ticket("aegi", "PA")["token"]
    page = _page(client, token)
    assert "Benachrichtigen, wenn noch so viele Personen (oder weniger) vor mir sind" in page
    assert '<option value="3" selected>' in page  # default N
    assert 'id="turn-alert-config"' in page and "js/turn-alert.js" in page
    form = {"csrf_token": csrf_from(page), "lang": "de", "ahead": "4", "email": "erika@example.org"}
    # without consent: refused, with the reason for the consent field
    response = client.post(f"/t/{token}/alert", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert response.json["field"] == "consent"
    assert "Einverständnis" in response.json["message"]
    response = client.post(
        f"/t/{token}/alert", data={**form, "consent": "1"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.json == {
        "ok": True,
        "ahead": 4,
        "email": True,
        "message": "Benachrichtigung eingerichtet: wenn noch 4 oder weniger Personen vor Ihnen "
        "sind. Sie bekommen außerdem eine E-Mail.",
    }
    page = _page(client, token)
    assert '<option value="4" selected>' in page
    assert "Sie bekommen außerdem eine E-Mail." in page
    assert "erika@example.org" not in page  # never shown back, not even to its owner
    assert turn_alerts.turn_alert_of(token).has_email


def test_without_script_the_form_redirects_back_with_a_message_in_english(mails, client):
    token = q.issue_ticket("aegi", "PA")["token"]
    page = _page(client, token, "en")
    response = client.post(
        f"/t/{token}/alert", data={"csrf_token": csrf_from(page), "lang": "en", "ahead": "2"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/t/{token}?lang=en#turn-alert")
    page = _page(client, token, "en")
    assert "Alert set: when 2 or fewer people are ahead of you." in page
    assert "Remove alert" in page
    response = client.post(
        f"/t/{token}/alert",
        data={"csrf_token": csrf_from(page), "lang": "en", "remove": "1"},
    )
    assert response.status_code == 303
    assert turn_alerts.turn_alert_of(token) is None


def test_the_form_needs_the_csrf_token(mails, client):
    token = q.issue_ticket("aegi", "PA")["token"]
    response = client.post(f"/t/{token}/alert", data={"lang": "de", "ahead": "2"})
    assert response.status_code == 400
    assert turn_alerts.turn_alert_of(token) is None
