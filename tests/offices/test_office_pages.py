"""The pages residents read about the offices: every office with today's hours, the queue and
the next free appointment; one office's address with a map link, two weeks of hours, closures
with their reason, services and the building; the mobile office's dates and places. The start
page and the booking flow link to them; a closure's reason reaches the booking pages."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape

import pytest

from queue_service import clock
from queue_service.auth.services import create_user
from queue_service.management import closures

BERLIN = clock.LOCAL_TZ
# Thursday 3 December 2026: the mobile Bürgeramt is at the Martinshof (10:00-13:00)
THURSDAY = datetime(2026, 12, 3, 10, 30, tzinfo=BERLIN)
FLOW = "services=PA&persons=1"


@pytest.fixture
def pages(app, catalogue, monkeypatch):
    from functools import partial

    from werkzeug.security import generate_password_hash

    monkeypatch.setattr(
        "queue_service.auth.services.generate_password_hash",
        partial(generate_password_hash, method="pbkdf2:sha256:1000"),
    )
    app.config.update(STATUS_CACHE_SECONDS=0, NEXT_FREE_CACHE_SECONDS=0)
    clock.freeze(THURSDAY)
    manager = create_user("leitung-linden", "manager", ["linden"])
    closures.add_closure(
        "linden", [datetime(2026, 12, 10).date()], "Betriebsversammlung", actor=manager
    )
    return app.test_client()


def _text(html: str) -> str:
    """The page's visible text, roughly (tags dropped, whitespace collapsed)."""
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main)).split())


def test_the_office_list_shows_every_office_with_today_queue_and_next_appointment(pages):
    html = pages.get("/standorte").get_data(as_text=True)
    text = _text(html)
    for slug in ("aegi", "bemerode", "linden", "schuetzenplatz", "mobil"):
        assert f'href="/standorte/{slug}"' in html
    assert "Aegidientorplatz 1, 30159 Hannover" in text
    assert "https://www.openstreetmap.org/search?query=Aegidientorplatz+1%2C+30159+Hannover" in (
        unescape(html)
    )
    # Thursday: appointments and walk-ins in two windows at Aegi; no walk-ins at Schützenplatz
    assert (
        "Heute Termine: 08:00–13:00 und 14:00–18:00 Ohne Termin: 08:00–13:00 und 14:00–18:00"
        in (text)
    )
    assert "Jetzt nur mit Termin geöffnet" in text
    assert "Jetzt auch ohne Termin; niemand wartet." in text
    # the next free appointment is the one the public status API names
    status = pages.get("/api/v1/status").get_json()
    aegi = next(o for o in status["offices"] if o["office"]["slug"] == "aegi")
    start = datetime.fromisoformat(aegi["next_free_appointment"])
    assert f"Nächster freier Termin Donnerstag, 3. Dezember 2026, {start:%H:%M}" in text
    # the mobile office says where it is today
    assert "Heute: Pflege & Wohnen Martinshof , Misburg-Nord" in text
    assert "wechselnde Orte" not in text


def test_an_office_page_has_map_two_weeks_of_hours_closures_services_and_building(pages):
    text = _text(pages.get("/standorte/linden").get_data(as_text=True))
    assert "Lindener Rathaus, Lindener Marktplatz 1, 30449 Hannover" in text
    assert "Auf der Karte zeigen (OpenStreetMap)" in text
    assert "Diese Woche" in text and "Nächste Woche" in text
    assert "Montag, 30. November 08:00–13:00 –" in text  # walk-ins on Thursdays only
    assert "Donnerstag, 3. Dezember (heute) 08:00–13:00 und 14:00–18:00" in text
    assert "Donnerstag, 10. Dezember Geschlossen: Betriebsversammlung" in text
    assert "Sonntag, 13. Dezember – –" in text
    assert "Donnerstag, 10. Dezember 2026: Betriebsversammlung" in text  # closures list
    assert "Donnerstag, 24. Dezember 2026: Heiligabend" in text
    assert "Personalausweis beantragen (etwa 15 Minuten)" in text
    assert "Führungszeugnis beantragen" in text and "Fundsachen" not in text  # not at Linden
    assert "Zur Barrierefreiheit des Gebäudes liegen uns noch keine Angaben vor." in text
    podbi = _text(pages.get("/standorte/podbi").get_data(as_text=True))
    assert "Im 1. Obergeschoss des Podbi-Parks." in podbi


def test_the_office_page_is_english_when_chosen(pages):
    text = _text(pages.get("/standorte/linden?lang=en").get_data(as_text=True))
    assert "Show on the map (OpenStreetMap)" in text and "This week" in text
    assert "Thursday, 10 December Closed: Betriebsversammlung" in text
    assert "Apply for an identity card (about 15 minutes)" in text
    assert "Öffnungszeiten" not in text and "Termine" not in text


def test_the_mobile_office_page_lists_its_dates_and_places(pages):
    html = pages.get("/standorte/mobil").get_data(as_text=True)
    text = _text(html)
    assert "Termine und Orte" in text
    # issue 13, point 14: the dative plural ("in ... Stadtteilen", not "Stadtteile")
    assert "Kommt an festen Terminen in Pflegeeinrichtungen und Stadtteilen, für Menschen" in text
    assert (
        "Heute: Pflege & Wohnen Martinshof , Misburg-Nord · Donnerstag, 3. Dezember 2026, 10:00–13:00"
        in (text)
    )
    assert "Seniorenzentrum Linden (Demo) , Linden-Mitte · Donnerstag, 10. Dezember 2026" in text
    assert "Stadtteilzentrum Mühlenberg (Demo)" in text
    assert "openstreetmap.org/search?query=Pflege+%26+Wohnen+Martinshof" in html


def test_start_page_links_the_office_pages_and_says_where_the_mobile_office_is(pages):
    html = pages.get("/").get_data(as_text=True)
    assert "/api/" not in html
    assert 'href="/standorte"' in html and 'href="/standorte/aegi"' in html
    text = _text(html)
    assert "Heute: Pflege & Wohnen Martinshof , Misburg-Nord" in text
    assert "wechselnde Orte" not in text


def test_the_booking_flow_links_the_office_pages_and_shows_closure_reasons(pages):
    offices = pages.get(f"/termin/ort?{FLOW}").get_data(as_text=True)
    assert 'href="/standorte/linden"' in offices
    assert "Pflege &amp; Wohnen Martinshof" in offices  # the mobile office's place and date
    calendar = pages.get(f"/termin/kalender?office=linden&{FLOW}").get_data(as_text=True)
    text = _text(calendar)
    assert 'href="/standorte/linden"' in calendar
    assert "Schließtage" in text and "Donnerstag, 10. Dezember 2026: Betriebsversammlung" in text
    assert "Geschlossen: Betriebsversammlung" in text  # on the day in the month grid
    times = _text(
        pages.get(f"/termin/zeiten?office=linden&day=2026-12-10&{FLOW}").get_data(as_text=True)
    )
    assert "Das Bürgeramt ist an diesem Tag geschlossen: Betriebsversammlung." in times
    mobile = _text(
        pages.get(f"/termin/zeiten?office=mobil&day=2026-12-10&{FLOW}").get_data(as_text=True)
    )
    assert "Ort: Seniorenzentrum Linden (Demo)" in mobile


def test_an_unknown_office_page_is_a_german_404(pages):
    response = pages.get("/standorte/atlantis")
    assert response.status_code == 404
    assert "Unter dieser Adresse gibt es kein Bürgeramt." in response.get_data(as_text=True)
