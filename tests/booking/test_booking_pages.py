"""The resident's pages without JavaScript: the whole flow, accessible errors, both languages."""

from __future__ import annotations

import base64
import io
import re
from html import unescape

import zxingcpp
from PIL import Image

from queue_service.booking import services as booking

from .conftest import THURSDAY, at, book


def _links(html: str, prefix: str) -> list[str]:
    return [unescape(h) for h in re.findall(rf'href="({re.escape(prefix)}[^"]*)"', html)]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _hold(client, times: str, services: str, start: str):
    """Post the times page's form for ``start`` at Linden (one person)."""
    return client.post(
        "/termin/halten",
        data={
            "csrf_token": _csrf(times),
            "office": "linden",
            "services": services,
            "persons": "1",
            "start": start,
        },
    )


def test_the_whole_flow_works_without_javascript(bookings, catalogue_app):
    client = catalogue_app.test_client()
    start = client.get("/termin/").get_data(as_text=True)
    assert '<html lang="de"' in start and "Reisepass beantragen" in start
    assert 'value="FUN"' not in start  # lost property cannot be booked online
    offices = client.get("/termin/ort?services=RP&persons=1").get_data(as_text=True)
    assert "Früheste freie Termine in allen Bürgerämtern" in offices
    calendar = client.get(_links(offices, "/termin/kalender?office=linden")[0]).get_data(
        as_text=True
    )
    assert (
        "<caption>November 2026</caption>" in calendar
        and "<caption>Januar 2027</caption>" in calendar
    )
    day_links = _links(calendar, "/termin/zeiten?office=linden")
    assert any("day=2026-11-26" in link for link in day_links)
    assert not any("day=2026-11-28" in link for link in day_links)  # Saturday: closed
    times = client.get(next(link for link in day_links if "day=2026-11-26" in link)).get_data(
        as_text=True
    )
    assert (
        'value="2026-11-26T08:00:00+01:00"' in times
        and 'value="2026-11-26T17:45:00+01:00"' in times
    )
    held = _hold(client, times, "RP", "2026-11-26T08:00:00+01:00")
    assert held.status_code == 302
    form = client.get(held.headers["Location"]).get_data(as_text=True)
    assert "bis 09:10 Uhr für Sie frei" in form
    done = client.post(
        held.headers["Location"],
        data={
            "csrf_token": _csrf(form),
            "name": "Erika Mustermann",
            "email": "erika@example.org",
            "phone": "",
            "consent": "yes",
        },
    )
    assert done.status_code == 302 and "neu=1" in done.headers["Location"]
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    token = done.headers["Location"].split("/verwalten/")[1].split("?")[0]
    view = booking.get_appointment(token)
    assert "Ihr Termin ist gebucht" in page and view.display_code in page
    assert "Lindener Rathaus, Lindener Marktplatz 1, 30449 Hannover" in page
    assert "Alter Reisepass oder Personalausweis" in page  # documents to bring
    qr = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(qr))))
    assert [b.text for b in decoded] == [view.code]
    assert view.lang == "de" and bookings[-1]["To"] == "erika@example.org"


def test_form_errors_are_announced_and_linked_to_their_fields(bookings, catalogue_app):
    client = catalogue_app.test_client()
    hold = booking.hold_slot("linden", "PA", 1, at(THURSDAY, 8))
    url = f"/termin/daten/{hold.token}"
    form = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": _csrf(form), "name": "", "email": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="error-summary" role="alert" tabindex="-1"' in html
    assert "<title>Fehler: " in html
    # every problem at once, each linked to its field and described by its message
    for field in ("name", "email", "consent"):
        assert f'href="#{field}"' in html and f'id="{field}-error"' in html
    assert re.search(
        r'id="consent"[^>]*aria-describedby="consent-hint consent-error" aria-invalid="true"', html
    )
    response = client.post(
        url, data={"csrf_token": _csrf(form), "name": "", "email": "x", "consent": "yes"}
    )
    html = response.get_data(as_text=True)
    assert 'href="#name"' in html and 'href="#consent"' not in html
    assert re.search(
        r'id="name"[^>]*aria-describedby="name-hint name-error" aria-invalid="true"', html
    )
    assert 'value="x"' in html  # what was typed stays
    assert booking.get_appointment(hold.token).status == "held"
    # every input has a label
    for field_id in re.findall(r'<input type="(?:text|email|tel|checkbox)" id="([^"]+)"', html):
        assert f'for="{field_id}"' in html


def test_services_step_errors_and_the_online_alternative(bookings, catalogue_app):
    client = catalogue_app.test_client()
    empty = client.get("/termin/ort?persons=1")
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert 'href="#services"' in html and "mindestens ein Anliegen" in html
    offices = client.get("/termin/ort?services=AN&lang=en").get_data(as_text=True)
    alternative = offices.index("is also possible online")
    assert alternative < offices.index("Earliest free appointments in any Bürgeramt")
    assert 'href="https://www.hannover.de/"' in offices


def test_english_pages_are_english(bookings, catalogue_app):
    client = catalogue_app.test_client()
    html = client.get("/termin/?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in html and "Apply for a passport" in html and "Continue" in html
    calendar = client.get("/termin/kalender?office=aegi&services=PA").get_data(as_text=True)
    assert "<caption>December 2026</caption>" in calendar and 'title="Monday"' in calendar
    for german in ("Weiter", "Anliegen", "Bürgeramt wählen", "Uhr"):
        assert german not in html


def test_a_time_taken_meanwhile_sends_the_resident_back_with_a_message(bookings, catalogue_app):
    client = catalogue_app.test_client()
    book(start=at(THURSDAY, 8))
    book(start=at(THURSDAY, 8))
    times = client.get(
        "/termin/zeiten?office=linden&services=PA&persons=1&day=2026-11-26"
    ).get_data(as_text=True)
    assert 'value="2026-11-26T08:00:00+01:00"' not in times
    taken = _hold(client, times, "PA", "2026-11-26T08:00:00+01:00")
    assert taken.status_code == 302 and "/termin/zeiten" in taken.headers["Location"]
    assert "gerade vergeben" in client.get(taken.headers["Location"]).get_data(as_text=True)


def test_moving_from_the_manage_page_goes_through_a_confirmation(bookings, catalogue_app):
    client = catalogue_app.test_client()
    view = book(start=at(THURSDAY, 8))
    manage = client.get(f"/termin/verwalten/{view.token}").get_data(as_text=True)
    calendar = client.get(
        _links(manage, f"/termin/verwalten/{view.token}/verschieben")[0]
    ).get_data(as_text=True)
    times = client.get(
        _links(calendar, f"/termin/verwalten/{view.token}/verschieben/zeiten?day=2026-11-27")[0]
    )
    confirm_url = _links(
        times.get_data(as_text=True), f"/termin/verwalten/{view.token}/verschieben/bestaetigen"
    )[0]
    page = client.get(confirm_url).get_data(as_text=True)
    assert "Diesen Termin verschieben?" in page and booking.get_appointment(view.token).start == at(
        THURSDAY, 8
    )
    client.post(confirm_url, data={"csrf_token": _csrf(page)})
    moved = booking.get_appointment(view.token)
    assert moved.start.date().isoformat() == "2026-11-27" and moved.name == view.name


def test_moving_to_a_past_time_by_editing_the_url_is_refused_up_front(bookings, catalogue_app):
    client = catalogue_app.test_client()
    view = book(start=at(THURSDAY, 8))
    base = f"/termin/verwalten/{view.token}/verschieben/bestaetigen?start="
    csrf = _csrf(client.get(f"/termin/verwalten/{view.token}/absagen").get_data(as_text=True))
    for start, message in (
        ("2026-11-20T08:00:00%2B01:00", "Diese Zeit ist schon vorbei."),  # last Friday
        ("2026-11-23T08:00:00%2B01:00", "Diese Zeit ist schon vorbei."),  # this morning
        ("2026-11-26T08:07:00%2B01:00", "Zu dieser Zeit gibt es keinen Termin."),  # off the grid
        ("2027-03-04T08:00:00%2B01:00", "Dieser Tag ist noch nicht buchbar."),  # not released
    ):
        shown = client.get(base + start)
        assert shown.status_code == 302
        assert shown.headers["Location"].endswith(f"/termin/verwalten/{view.token}/verschieben")
        calendar = client.get(shown.headers["Location"]).get_data(as_text=True)
        assert message in calendar and "Neue Zeit" not in calendar
        assert "gerade vergeben" not in calendar
        posted = client.post(base + start, data={"csrf_token": csrf})
        assert posted.status_code == 302
        assert message in client.get(posted.headers["Location"]).get_data(as_text=True)
    assert booking.get_appointment(view.token).start == at(THURSDAY, 8)


def test_holding_a_past_time_says_so_instead_of_taken(bookings, catalogue_app):
    client = catalogue_app.test_client()
    times = client.get(
        "/termin/zeiten?office=linden&services=PA&persons=1&day=2026-11-26"
    ).get_data(as_text=True)
    past = _hold(client, times, "PA", "2026-11-23T08:00:00+01:00")
    assert past.status_code == 302 and "/termin/kalender" in past.headers["Location"]
    page = client.get(past.headers["Location"]).get_data(as_text=True)
    assert "Diese Zeit ist schon vorbei." in page and "gerade vergeben" not in page


def test_the_earliest_times_anywhere_are_the_soonest_of_the_fixed_offices(bookings, catalogue_app):
    from datetime import UTC, datetime

    from queue_service import clock
    from queue_service.booking import slots
    from queue_service.offices import calendar

    # a Friday noon: Schützenplatz opens on Saturday, the other offices on Monday
    clock.freeze(datetime(2026, 11, 27, 11, 0, tzinfo=UTC))
    page = catalogue_app.test_client().get("/termin/ort?services=RP&persons=1")
    section = page.get_data(as_text=True).split('class="anywhere"', 1)[1].split("</section>")[0]
    shown = list(
        zip(
            re.findall(r'name="office" value="([^"]+)"', section),
            re.findall(r'name="start" value="([^"]+)"', section),
            strict=True,
        )
    )
    req = slots.resolve_request("RP", 1)
    offices = {o.id: o for o in slots.offices_offering(req, include_mobile=True)}
    earliest = {
        offices[s.office_id].slug: s.start.astimezone(calendar.office_tz(offices[s.office_id]))
        for s in slots.earliest_slots(req, list(offices.values()))
        if not offices[s.office_id].is_mobile
    }
    assert len(shown) == min(3, len(earliest)) > 0
    assert all(earliest[slug].isoformat() == start for slug, start in shown)
    starts = [earliest[slug] for slug, _start in shown]
    assert starts == sorted(starts)
    left_out = [start for slug, start in earliest.items() if slug not in dict(shown)]
    assert all(start >= starts[-1] for start in left_out)
