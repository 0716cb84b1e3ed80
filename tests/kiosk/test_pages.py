"""The kiosk page as the server renders it: who may see it, its states, languages and settings."""

from __future__ import annotations

import re
from datetime import datetime

from queue_service import clock
from queue_service.auth.services import create_device, revoke_device
from queue_service.auth.web import DEVICE_COOKIE
from queue_service.tickets import services as q

from ..conftest import BERLIN
from ..tickets.conftest import set_office, set_office_service


def page(client, path="/kiosk/aegi"):
    response = client.get(path)
    return response, response.get_data(as_text=True)


def test_an_unregistered_browser_sees_what_staff_must_do(client, aegi):
    response, html = page(client)
    assert response.status_code == 403 and response.headers["Cache-Control"] == "no-store"
    assert "Dieses Gerät ist nicht als Wartemarken-Automat von Bürgeramt Aegi registriert" in html
    assert 'href="/kiosk/register?office=aegi"' in html and "data-service" not in html
    english = page(client, "/kiosk/aegi?lang=en")[1]
    assert "This device is not registered as a kiosk of Bürgeramt Aegi" in english


def test_a_display_or_another_offices_kiosk_is_told_so(client, aegi):
    client.set_cookie(DEVICE_COOKIE, create_device("aegi", "display", "Wartezimmer"))
    response, html = page(client)
    assert response.status_code == 403 and "Aufrufanzeige („Wartezimmer“)" in html
    client.set_cookie(DEVICE_COOKIE, create_device("linden", "kiosk", "Kiosk Linden"))
    response, html = page(client)
    assert response.status_code == 403 and 'href="/kiosk/linden"' in html
    assert page(client, "/kiosk/linden")[0].status_code == 200


def test_a_revoked_kiosk_is_an_unregistered_browser_again(app, kiosk_client, kiosk_token):
    from queue_service.auth.services import device_for_token

    assert page(kiosk_client)[0].status_code == 200
    revoke_device(device_for_token(kiosk_token).id)
    assert page(kiosk_client)[0].status_code == 403


def test_the_kiosk_page_lists_the_walkin_services_grouped_and_renews_its_cookie(kiosk_client):
    response, html = page(kiosk_client)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert '<html lang="de" dir="ltr">' in html
    groups = re.findall(r'<h2 id="group-(\w+)">([^<]+)</h2>', html)
    assert groups[:2] == [("documents", "Ausweise und Pässe"), ("short", "Kurzanliegen")]
    assert len(re.findall(r'data-service="\w+"', html)) == 17
    assert "Personalausweis beantragen" in html and "Wartemarken gibt es bis 13:00 Uhr." in html
    assert 'name="csrf-token"' in html and 'data-idle="45"' in html and 'data-paper="80mm"' in html
    cookie = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "=")
    )
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=34560000" in cookie
    assert "site-footer" not in html  # a kiosk offers no way off its page


def test_languages_switch_per_page_and_are_not_remembered(kiosk_client):
    html = page(kiosk_client, "/kiosk/aegi?lang=ar")[1]
    assert '<html lang="ar" dir="rtl">' in html
    assert "طلب بطاقة هوية شخصية" in html and "ما هي معاملتك؟" in html
    assert 'aria-current="true">العربية</a>' in html
    assert "Kimlik kartı başvurusu" in page(kiosk_client, "/kiosk/aegi?lang=tr")[1]
    assert "Заява на посвідчення особи" in page(kiosk_client, "/kiosk/aegi?lang=uk")[1]
    english = page(kiosk_client, "/kiosk/aegi?lang=en")[1]
    assert "Apply for an identity card" in english and "What is your matter?" in english
    # the next visitor starts in German: the choice lives in the URL only
    assert '<html lang="de"' in page(kiosk_client)[1]
    assert '<html lang="de"' in page(kiosk_client, "/kiosk/aegi?lang=xx")[1]


def test_large_print_and_paper_are_kept_while_switching_languages(kiosk_client):
    html = page(kiosk_client, "/kiosk/aegi?large=1&paper=58mm")[1]
    assert 'class="kiosk-page kiosk-large"' in html and 'data-paper="58mm"' in html
    assert 'href="/kiosk/aegi?paper=58mm&amp;lang=en&amp;large=1"' in html
    assert 'aria-pressed="true"' in html
    # the reset goes back to German without large print, on the device's paper
    assert 'data-start-url="/kiosk/aegi?paper=58mm"' in html


def test_closed_states_say_when_the_office_opens(kiosk_client):
    clock.freeze(datetime(2026, 11, 29, 10, 0, tzinfo=BERLIN))  # Sunday
    html = page(kiosk_client)[1]
    assert "Heute geschlossen" in html and "data-service" not in html
    assert "Nächste Öffnung: morgen um 08:00 Uhr." in html
    clock.freeze(datetime(2026, 11, 26, 13, 30, tzinfo=BERLIN))  # lunch break
    html = page(kiosk_client, "/kiosk/aegi?lang=en")[1]
    assert "Closed now" in html and "Next opening: today at 14:00." in html
    clock.freeze(datetime(2026, 12, 24, 10, 0, tzinfo=BERLIN))
    html = page(kiosk_client)[1]
    assert (
        "Heiligabend" in html and "Nächste Öffnung: Montag, 28. Dezember 2026 um 08:00 Uhr." in html
    )


def test_appointments_only_and_ausgabe_beendet(kiosk_client, client):
    clock.freeze(datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN))
    client.set_cookie(DEVICE_COOKIE, create_device("schuetzenplatz", "kiosk"))
    html = page(client, "/kiosk/schuetzenplatz")[1]
    assert "Zurzeit keine Wartemarken" in html and "keine Wartemarken ohne Termin aus" in html
    client.set_cookie(DEVICE_COOKIE, create_device("aegi", "kiosk"))
    set_office("aegi", walkin_daily_cap=1)
    q.issue_ticket("aegi", "PA")
    html = page(client)[1]
    assert "Ausgabe beendet" in html and "data-service" not in html
    assert "Nächste Ausgabe von Wartemarken: morgen um 08:00 Uhr." in html


def test_a_service_past_its_own_cap_is_shown_but_cannot_be_tapped(kiosk_client):
    set_office_service("aegi", "PA", walkin_daily_cap=1)
    q.issue_ticket("aegi", "PA")
    html = page(kiosk_client)[1]
    assert 'data-service="PA"' not in html and 'data-service="RP"' in html
    assert re.search(
        r'<button type="button" class="kiosk-service" disabled[^>]*>\s*'
        r'<span class="kiosk-service-name">Personalausweis beantragen</span>\s*'
        r'<span class="kiosk-service-gone"[^>]*>Ausgabe beendet</span>',
        html,
    )


def test_the_appointment_button_follows_kiosk_checkin(app, kiosk_client):
    # auto: shown because the check-in API exists (online booking)
    assert "data-open-checkin" in page(kiosk_client)[1]
    app.config["KIOSK_CHECKIN"] = "on"
    html = page(kiosk_client)[1]
    assert "Ich habe einen Termin" in html and 'id="checkin-code"' in html
    assert 'data-checkin-url="/api/v1/offices/aegi/check-in"' in html
    app.config["KIOSK_CHECKIN"] = "off"
    assert "data-open-checkin" not in page(kiosk_client)[1]


def test_settings_reach_the_page(app, kiosk_client):
    app.config.update(KIOSK_IDLE_SECONDS=20, KIOSK_TICKET_SECONDS=12, KIOSK_PAPER="a6")
    html = page(kiosk_client)[1]
    assert (
        'data-idle="20"' in html
        and 'data-ticket-seconds="12"' in html
        and 'data-paper="a6"' in html
    )


def test_the_ticket_screen_shows_number_service_wait_and_the_qr_code(kiosk_client, kiosk_token):
    issued = kiosk_client.post(
        "/api/v1/offices/aegi/tickets",
        json={"service": "PA"},
        headers={"X-Device-Token": kiosk_token},
    ).get_json()
    response, html = page(kiosk_client, f"/kiosk/aegi/tickets/{issued['token']}?lang=en")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert 'id="ticket-number" dir="ltr">P001<' in html and "Apply for an identity card" in html
    assert '<dd id="ticket-ahead">0</dd>' in html and "<svg" in html
    assert f'data-status-url="{issued["status_url"]}"' in html
    arabic = page(kiosk_client, f"/kiosk/aegi/tickets/{issued['token']}?lang=ar")[1]
    assert "طلب بطاقة هوية شخصية" in arabic and "رقمك" in arabic
    assert page(kiosk_client, "/kiosk/aegi/tickets/nope")[0].status_code == 404


def test_the_ticket_screen_is_for_the_kiosk_of_the_tickets_office(client, kiosk_token, aegi):
    issued = client.post(
        "/api/v1/offices/aegi/tickets",
        json={"service": "PA"},
        headers={"X-Device-Token": kiosk_token},
    ).get_json()
    assert client.get(f"/kiosk/aegi/tickets/{issued['token']}").status_code == 403
    client.set_cookie(DEVICE_COOKIE, create_device("linden", "kiosk"))
    assert client.get(f"/kiosk/linden/tickets/{issued['token']}").status_code == 403


def test_wait_texts_use_the_plural_rules_of_each_language(app, kiosk_client):
    from flask_babel import force_locale

    from kiosk.views import wait_text

    with app.test_request_context():
        # a minute or less is "gleich", as on the paper ticket and the phone
        assert [wait_text(n) for n in (None, 0, 1, 2, 7)] == [
            "noch keine Schätzung",
            "gleich",
            "gleich",
            "ca. 2 Minuten",
            "ca. 7 Minuten",
        ]
        with force_locale("ar"):
            assert [wait_text(n) for n in (1, 2, 5, 15, 100)] == [
                "قريباً جداً",
                "حوالي دقيقتين",
                "حوالي 5 دقائق",
                "حوالي 15 دقيقة",
                "حوالي 100 دقيقة",
            ]
        with force_locale("uk"):
            assert [wait_text(n) for n in (1, 3, 11, 21)] == [
                "зовсім скоро",
                "близько 3 хвилин",
                "близько 11 хвилин",
                "близько 21 хвилини",
            ]


def test_kiosk_settings_come_from_the_environment(monkeypatch, tmp_path):
    from queue_service.config import from_environment

    defaults = from_environment(str(tmp_path))
    assert (defaults["KIOSK_IDLE_SECONDS"], defaults["KIOSK_TICKET_SECONDS"]) == (45, 25)
    assert (defaults["KIOSK_PAPER"], defaults["KIOSK_CHECKIN"]) == ("80mm", "auto")
    assert defaults["KIOSK_RATELIMIT_TICKETS"] == "30 per minute"
    monkeypatch.setenv("KIOSK_IDLE_SECONDS", "30")
    monkeypatch.setenv("KIOSK_TICKET_SECONDS", "15")
    monkeypatch.setenv("KIOSK_PAPER", "58mm")
    monkeypatch.setenv("KIOSK_CHECKIN", " On ")
    monkeypatch.setenv("KIOSK_RATELIMIT_TICKETS", "10 per minute")
    config = from_environment(str(tmp_path))
    assert (
        config["KIOSK_IDLE_SECONDS"],
        config["KIOSK_TICKET_SECONDS"],
        config["KIOSK_PAPER"],
        config["KIOSK_CHECKIN"],
        config["KIOSK_RATELIMIT_TICKETS"],
    ) == (30, 15, "58mm", "on", "10 per minute")
