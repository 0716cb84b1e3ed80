"""Invalid input is answered with the message next to the field and changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import select

from queue_service.auth.models import User
from queue_service.extensions import db
from queue_service.offices.models import Closure, Office, OpeningWindow, Service

from ..support.html import csrf_from
from .conftest import audit_count, logged_in


def _snapshot() -> tuple:
    """Everything these forms could change."""

    def rows(model, *cols):
        return sorted(tuple(getattr(r, c) for c in cols) for r in db.session.scalars(select(model)))

    db.session.expire_all()
    return (
        rows(Office, "slug", "name", "email", "walkin_daily_cap"),
        rows(OpeningWindow, "office_id", "weekday", "kind", "start_time", "end_time", "capacity"),
        rows(Closure, "office_id", "day"),
        rows(User, "username", "role"),
        rows(Service, "code", "prefix", "duration_minutes"),
        audit_count(),
    )


CASES = [
    # url, posted fields, the field that must show the error, a word of the (German) message
    ("/admin/manage/offices/aegi/edit", {"name": "", "email": "kein-mail"}, "name", "erforderlich"),
    (
        "/admin/manage/offices/aegi/edit",
        {"name": "Aegi", "email": "kein-mail"},
        "email",
        "E-Mail-Adresse",
    ),
    (
        "/admin/manage/offices/aegi/edit",
        {"name": "Aegi", "walkin_daily_cap": "0"},
        "walkin_daily_cap",
        "1",
    ),
    (
        "/admin/manage/offices/aegi/hours/0",
        {"appointment-0-start": "12:00", "appointment-0-end": "08:00"},
        "appointment-0-end",
        "nach seinem Beginn enden",
    ),
    (
        "/admin/manage/offices/aegi/hours/0",
        {
            "appointment-0-start": "08:00",
            "appointment-0-end": "12:00",
            "appointment-1-start": "11:00",
            "appointment-1-end": "13:00",
        },
        "appointment-1-start",
        "überschneiden",
    ),
    (
        "/admin/manage/offices/aegi/closures",
        {"start": "2027-02-10", "end": "2027-02-01", "reason": "x"},
        "end",
        "vor dem ersten",
    ),
    (
        "/admin/manage/offices/aegi/closures",
        {"start": "2020-02-10", "reason": "Zu spät"},
        "start",
        "Vergangenheit",
    ),
    (
        "/admin/manage/offices/aegi/closures",
        {"start": "2027-02-10", "reason": ""},
        "reason",
        "erforderlich",
    ),
    (
        "/admin/manage/staff/new",
        {"username": "zwei worte", "role": "clerk", "offices": "aegi"},
        "username",
        "Leerzeichen",
    ),
    (
        "/admin/manage/staff/new",
        {"username": "admin", "role": "clerk", "offices": "aegi"},
        "username",
        "vergeben",
    ),
    (
        "/admin/manage/services/new",
        {
            "code": "NEU",
            "name_de": "Neu",
            "name_en": "New",
            "prefix": "I",
            "duration_minutes": "10",
        },
        "prefix",
        "nicht I",
    ),
    (
        "/admin/manage/services/PA",
        {"name_de": "Personalausweis", "name_en": "ID", "prefix": "P", "duration_minutes": "500"},
        "duration_minutes",
        "240",
    ),
]


def test_invalid_input_shows_the_error_at_the_field_and_changes_nothing(web, subtests):
    client = logged_in(web.app, web.staff.admin)
    for url, data, field, words in CASES:
        with subtests.test(url=url, field=field):
            _check_refused(client, url, data, field, words)


def _check_refused(client, url, data, field, words):
    page = client.get(url, headers={"Accept-Language": "de"})
    before = _snapshot()
    response = client.post(
        url,
        data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))},
        headers={"Accept-Language": "de"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[-2000:]
    error = re.search(
        rf'<p class="field-error" id="{re.escape(field)}-error">(.*?)</p>', html, re.S
    )
    assert error and words in error.group(1), html[html.find("error-summary") :][:1500]
    # the input points at its message and is marked invalid; the summary links to it
    control = re.search(rf'<input[^>]*\bid="{re.escape(field)}"[^>]*>', html)
    assert (
        control
        and f"{field}-error" in control.group(0)
        and 'aria-invalid="true"' in control.group(0)
    )
    assert f'href="#{field}"' in html
    assert _snapshot() == before


def test_a_manager_describes_the_buildings_accessibility_and_residents_read_it(web):
    client = logged_in(web.app, web.staff.linden_manager)
    page = client.get("/admin/manage/offices/linden/edit").get_data(as_text=True)
    assert 'name="accessibility_de"' in page and 'name="accessibility_en"' in page
    text_de = "Stufenloser Eingang am Marktplatz, Aufzug ins 1. OG, barrierefreies WC."
    text_en = "Step-free entrance on the market square, lift to the first floor, accessible WC."
    saved = client.post(
        "/admin/manage/offices/linden/edit",
        data={
            "csrf_token": csrf_from(page),
            "name": "Bürgeramt Linden",
            "address": "Lindener Rathaus, Lindener Marktplatz 1, 30449 Hannover",
            "accessibility_de": text_de,
            "accessibility_en": text_en,
        },
    )
    assert saved.status_code == 302
    resident = web.app.test_client()
    assert text_de in resident.get("/standorte/linden").get_data(as_text=True)
    assert text_en in resident.get("/standorte/linden?lang=en").get_data(as_text=True)
    # the editing form shows what is saved
    again = client.get("/admin/manage/offices/linden/edit").get_data(as_text=True)
    assert text_de in again
