"""The statistics pages and the city overview: roles, charts with tables, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.auth.models import Device
from queue_service.auth.services import create_device
from queue_service.extensions import db
from queue_service.offices.services import get_office
from queue_service.stats import compute
from queue_service.tickets import services as queue
from queue_service.tickets.kiosk_watch import fast_kiosks

from ..conftest import login
from .conftest import PASSWORD, THURSDAY, Traffic, generate_bookings, generate_day, staff


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


COLUMNS = [
    "label",
    "issued",
    "requests",
    "persons",
    "served",
    "no_show",
    "cancelled",
    "not_served",
    "walkin_share",
    "wait_median_min",
    "wait_p90_min",
    "service_median_min",
    "punctuality_median_min",
    "on_time_share",
    "lead_median_days",
    "lead_p90_days",
]
RANGE = {"from": THURSDAY.isoformat(), "to": THURSDAY.isoformat()}


def test_a_manager_sees_statistics_of_their_office_only_and_a_clerk_none(client, aegi):
    login(client, "manager-aegi", PASSWORD)
    assert client.get("/admin/statistics", query_string={"office": "aegi"}).status_code == 200
    assert client.get("/admin/statistics", query_string={"office": "linden"}).status_code == 403
    assert (
        client.get(
            "/admin/statistics", query_string={"office": "linden", "format": "csv"}
        ).status_code
        == 403
    )
    page = client.get("/admin/statistics").get_data(as_text=True)
    assert "Aegi" in page and 'value="linden"' not in page


def test_a_clerk_sees_neither_statistics_nor_the_overview(client, aegi):
    assert login(client, "clerk-aegi", PASSWORD).status_code == 302
    assert client.get("/admin/statistics").status_code == 403
    assert client.get("/admin/statistics", query_string={"format": "csv"}).status_code == 403
    assert client.get("/admin/overview").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client, aegi):
    response = client.get("/admin/statistics")
    assert response.status_code in (302, 401) and "login" in response.headers.get(
        "Location", "login"
    )


def test_an_administrator_sees_every_office_and_the_overview(client, aegi):
    login(client, "admin", PASSWORD)
    page = client.get("/admin/statistics", query_string={"office": "linden"})
    assert page.status_code == 200
    overview = client.get("/admin/overview").get_data(as_text=True)
    for name in ("Aegi", "Linden", "Schützenplatz"):
        assert name in overview
    assert "/api/v1/status" in overview and "overview.js" in overview


def test_the_overview_shows_each_office_s_next_free_appointment(client, aegi):
    from queue_service.booking import next_free

    login(client, "admin", PASSWORD)
    linden = get_office("linden")
    start = next_free.next_free_appointments([linden])[linden.id]["start"]
    assert start is not None
    overview = client.get("/admin/overview", headers={"Accept-Language": "de"}).get_data(
        as_text=True
    )
    assert '<th scope="col">Nächster freier Termin</th>' in overview
    row = overview.split('data-office="linden"')[1].split("</tr>")[0]
    local = start.astimezone(clock.LOCAL_TZ)
    assert f'data-value="{local.isoformat(timespec="seconds")}"' in row
    assert f"{local:%d.%m.} {local:%H:%M}" in row


def test_the_page_draws_accessible_charts_next_to_data_tables(client, clerk):
    generate_bookings("aegi", Traffic(THURSDAY), count=8)
    generate_day("aegi", clerk, visitors=15)
    login(client, "manager-aegi", PASSWORD)
    page = client.get("/admin/statistics", query_string={"office": "aegi", **RANGE}).get_data(
        as_text=True
    )
    assert page.count("<svg") >= 4 and page.count("<title id=") == page.count("<svg")
    assert page.count("<desc id=") == page.count("<svg") and 'role="img"' in page
    assert page.count('<table class="data"') >= 4
    assert "format=csv" in page
    # booking lead time: a chart per appointment day and per service, a column in each table
    assert "Buchungsvorlauf je Termintag" in page and "Buchungsvorlauf je Leistung" in page
    # soft hyphen: the narrow column breaks the word as "Buchungs-/vorlauf", never elsewhere
    assert page.count('<th scope="col">Buchungs\u00advorlauf, Median (Tage)</th>') >= 3


def _csv(response, sep):
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=sep))


def test_every_table_exports_as_csv_that_reads_back_to_the_same_figures(client, clerk):
    generate_bookings("aegi", Traffic(THURSDAY), count=10)
    generate_day("aegi", clerk, visitors=20)
    login(client, "manager-aegi", PASSWORD)
    office = get_office("aegi")
    expected = compute.total(compute.live_buckets([office.id], [THURSDAY]))
    for table in ("day", "hour", "service", "ratings"):
        response = client.get(
            "/admin/statistics",
            query_string={"office": "aegi", "format": "csv", "table": table, **RANGE},
        )
        disposition = response.headers["Content-Disposition"]
        assert (
            disposition.startswith("attachment;")
            and f'-{table}-2026-11-26-2026-11-26.csv"' in disposition
        )
        rows = _csv(response, ";")
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
    rows = _csv(
        client.get(
            "/admin/statistics",
            query_string={"office": "aegi", "format": "csv", "table": "day", **RANGE},
        ),
        ";",
    )
    header, day = rows[0], dict(zip(COLUMNS, rows[1], strict=True))
    assert (
        header[1] == "Ausgegebene Wartemarken" and header[9] == "Wartezeit, Median (Min.)"
    )  # German
    assert day["label"] == "2026-11-26"
    assert int(day["issued"]) == expected["issued"] and int(day["served"]) == expected["served"]
    assert (int(day["requests"]), int(day["persons"])) == (
        expected["requests"],
        expected["persons"],
    )
    assert header[2:4] == ["Anliegen (jede Leistung eines Besuchs)", "Personen"]
    assert float(day["wait_median_min"].replace(",", ".")) == expected["wait_median_min"]
    assert expected["lead_median_days"] is not None
    assert float(day["lead_median_days"].replace(",", ".")) == expected["lead_median_days"]
    assert header[-1] == "Buchungsvorlauf, 90. Perzentil (Tage)"
    comma = _csv(
        client.get(
            "/admin/statistics",
            query_string={
                "office": "aegi",
                "format": "csv",
                "table": "day",
                "sep": "comma",
                **RANGE,
            },
        ),
        ",",
    )
    assert (
        float(dict(zip(COLUMNS, comma[1], strict=True))["wait_p90_min"]) == expected["wait_p90_min"]
    )


def test_a_bad_range_or_table_is_refused(client, aegi):
    login(client, "manager-aegi", PASSWORD)
    assert (
        client.get(
            "/admin/statistics", query_string={"from": "2026-12-01", "to": "2026-11-01"}
        ).status_code
        == 422
    )
    assert client.get("/admin/statistics", query_string={"from": "gestern"}).status_code == 422
    assert (
        client.get("/admin/statistics", query_string={"format": "csv", "table": "nope"}).status_code
        == 404
    )
    assert clock.today() == THURSDAY


def test_figures_dates_and_chart_axes_are_german_on_the_german_page(client, clerk):
    import re

    generate_bookings("aegi", Traffic(THURSDAY), count=8)
    generate_day("aegi", clerk, visitors=15)
    login(client, "manager-aegi", PASSWORD)
    query = {"office": "aegi", "from": "2026-11-25", "to": THURSDAY.isoformat()}
    page = client.get("/admin/statistics", query_string=query).get_data(as_text=True)
    cells = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert cells and all(re.fullmatch(r"–|-?\d{1,3}(\.\d{3})*(,\d+)?", c) for c in cells), cells
    assert any("," in c for c in cells)  # some figure has decimals, written with a comma
    figures = re.findall(r"<dd>([^<]*)</dd>", page)
    assert figures and not any(re.search(r"\d\.\d", f) for f in figures), figures
    # days: "Do., 26.11.2026" in the table, "26.11." under the chart, never "11-26"
    assert '<th scope="row">Do., 26.11.2026</th>' in page and ">26.11.</text>" in page
    assert ">11-26</text>" not in page and "2026-11-26</th>" not in page
    axis = re.findall(r'text-anchor="end" font-size="11" fill="#333">([^<]*)</text>', page)
    assert axis and not any("." in a and not re.fullmatch(r"\d{1,3}(\.\d{3})+", a) for a in axis)
    english = client.get("/admin/statistics", query_string={**query, "lang": "en"})
    assert '<th scope="row">Thu, 26 Nov 2026</th>' in english.get_data(as_text=True)


def test_scrolling_table_wrappers_can_be_reached_by_keyboard(client, clerk):
    login(client, "manager-aegi", PASSWORD)
    page = client.get("/admin/statistics", query_string={"office": "aegi", **RANGE}).get_data(
        as_text=True
    )
    wrappers = page.count('<div class="table-wrap"')
    assert wrappers >= 4
    assert page.count('<div class="table-wrap" tabindex="0" role="region" aria-labelledby=') == (
        wrappers
    )


def test_the_overview_warns_about_a_kiosk_issuing_unusually_fast(client, app, aegi):
    app.config.update(KIOSK_ALERT_TICKETS=5, KIOSK_ALERT_WINDOW_MINUTES=10)
    create_device("aegi", "kiosk", "Kiosk Eingang")
    create_device("linden", "kiosk", "Kiosk Linden")
    fast = db.session.scalar(select(Device).where(Device.name == "Kiosk Eingang"))
    calm = db.session.scalar(select(Device).where(Device.name == "Kiosk Linden"))
    for _ in range(5):
        queue.issue_ticket("aegi", "PA", device=fast)
    for _ in range(4):
        queue.issue_ticket("linden", "PA", device=calm)
    queue.issue_ticket("aegi", "PA", actor=staff("clerk-aegi"))  # staff tickets do not count
    assert [k.name for k in fast_kiosks(None, 5, 10)] == ["Kiosk Eingang"]

    login(client, "manager-aegi", PASSWORD)
    page = client.get("/admin/overview", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'id="fast-kiosks"' in page
    assert "Kiosk Eingang (Bürgeramt Aegi): 5 Wartemarken in den letzten 10 Minuten." in page
    assert "/admin/manage/offices/aegi/devices" in page
    # once the burst is older than the window, the warning is gone
    clock.freeze(clock.now() + timedelta(minutes=11))
    assert 'id="fast-kiosks"' not in client.get("/admin/overview").get_data(as_text=True)
