"""The waitlist pages without JavaScript: the link from the booking calendar, the form with
friendly errors, the request page, leaving the list behind a confirmation page, the offer page
with POST-only accept and decline, and "an earlier time" from the manage page."""

from __future__ import annotations

import re

from queue_service.booking import services as booking

from ..support.html import csrf_from
from .conftest import THURSDAY, at, book


def _form(client, **extra):
    page = client.get("/termin/warteliste?services=PA&persons=1&office=linden")
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "services": "PA",
        "persons": "1",
        "offices": "linden",
        "first_day": THURSDAY.isoformat(),
        "last_day": THURSDAY.isoformat(),
        "earliest": "08:00",
        "latest": "08:00",
        "name": "Erika Mustermann",
        "email": "erika@example.org",
        "consent": "yes",
    }
    data.update(extra)
    return client.post("/termin/warteliste", data=data)


def test_the_calendar_links_to_the_waitlist_form(mails, catalogue_app):
    client = catalogue_app.test_client()
    page = client.get("/termin/kalender?office=linden&services=PA&persons=1").get_data(as_text=True)
    assert "/termin/warteliste?" in page
    form = client.get("/termin/warteliste?services=PA&persons=1&office=linden")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert 'id="office-linden"' in html and 'name="offices" value="linden" checked' in html


def test_joining_shows_the_request_and_a_friendly_error(mails, catalogue_app):
    client = catalogue_app.test_client()
    bad = _form(client, email="not-an-address", consent="")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "error-summary" in text and 'href="#email"' in text and 'href="#consent"' in text
    ok = _form(client)
    assert ok.status_code == 302 and "/termin/warteliste/" in ok.headers["Location"]
    page = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "erika@example.org" in page


def test_offer_page_accepts_by_post_only_and_leads_to_the_appointment(mails, catalogue_app):
    client = catalogue_app.test_client()
    first, _ = book(start=at(THURSDAY, 8)), book(start=at(THURSDAY, 8))
    location = _form(client).headers["Location"]
    booking.cancel_appointment(first.token)
    page = client.get(location).get_data(as_text=True)
    offer_path = re.search(r'href="(/termin/angebot/[^"]+)"', page).group(1)
    offer = client.get(offer_path)
    html = offer.get_data(as_text=True)
    assert offer.status_code == 200 and "08:00" in html
    assert client.get(offer_path + "/annehmen").status_code == 405  # never a GET
    accepted = client.post(offer_path + "/annehmen", data={"csrf_token": csrf_from(html)})
    assert accepted.status_code == 302 and "/termin/verwalten/" in accepted.headers["Location"]
    manage = client.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "Erika Mustermann" in manage


def test_leaving_the_list_is_a_post_behind_a_page(mails, catalogue_app):
    client = catalogue_app.test_client()
    location = _form(client).headers["Location"].split("?")[0]
    confirm = client.get(location + "/abmelden")
    assert confirm.status_code == 200
    left = client.post(
        location + "/abmelden", data={"csrf_token": csrf_from(confirm.get_data(as_text=True))}
    )
    assert left.status_code == 302
    assert "status-cancelled" in client.get(location).get_data(as_text=True)


def test_an_earlier_time_from_the_manage_page(mails, catalogue_app):
    client = catalogue_app.test_client()
    mine = book(start=at(THURSDAY, 11))
    manage = client.get(f"/termin/verwalten/{mine.token}").get_data(as_text=True)
    assert f"/termin/verwalten/{mine.token}/frueher" in manage
    page = client.get(f"/termin/verwalten/{mine.token}/frueher")
    created = client.post(
        f"/termin/verwalten/{mine.token}/frueher",
        data={"csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert created.status_code == 302 and "/termin/warteliste/" in created.headers["Location"]
