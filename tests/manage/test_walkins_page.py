"""A manager stops walk-in tickets for today from the office's "Walk-in tickets today" page (with
the forecast), the action is audited, a clerk cannot, another office's manager cannot, and
reopening gives tickets out again."""

from __future__ import annotations

from datetime import datetime

from queue_service import clock

from ..support.html import csrf_from
from .conftest import audit_count, logged_in


def test_a_manager_stops_and_reopens_walkins_from_the_page(web):
    clock.freeze(datetime(2026, 11, 26, 10, 0, tzinfo=clock.LOCAL_TZ))
    with web.app.app_context():
        client = logged_in(web.app, web.staff.aegi_manager)
        page = client.get("/admin/manage/offices/aegi/walkins")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "Prognose" in html
        before = audit_count()
        short = client.post(
            "/admin/manage/offices/aegi/walkins",
            data={"csrf_token": csrf_from(html), "reason": "x"},
        )
        assert short.status_code == 422  # a reason visitors can read is required
        stopped = client.post(
            "/admin/manage/offices/aegi/walkins",
            data={"csrf_token": csrf_from(html), "reason": "Wegen Personalausfalls"},
        )
        assert stopped.status_code == 302
        page = client.get("/admin/manage/offices/aegi/walkins").get_data(as_text=True)
        assert "Wegen Personalausfalls" in page and audit_count() == before + 1
        status = client.get("/api/v1/offices/aegi/status").get_json()
        assert status["walkins_closed_reason"] == "Wegen Personalausfalls"
        reopened = client.post(
            "/admin/manage/offices/aegi/walkins/reopen", data={"csrf_token": csrf_from(page)}
        )
        assert reopened.status_code == 302
        assert client.get("/api/v1/offices/aegi/status").get_json()["walkins_closed_reason"] is None


def test_clerks_and_other_offices_cannot_stop_walkins(web):
    with web.app.app_context():
        clerk = logged_in(web.app, web.staff.aegi_clerk)
        assert clerk.get("/admin/manage/offices/aegi/walkins").status_code == 403
        other = logged_in(web.app, web.staff.linden_manager)
        assert other.get("/admin/manage/offices/aegi/walkins").status_code == 403


def test_a_manager_sets_the_capacity_rules_on_the_same_page(web):
    from queue_service.offices.services import get_office

    with web.app.app_context():
        client = logged_in(web.app, web.staff.aegi_manager)
        html = client.get("/admin/manage/offices/aegi/walkins").get_data(as_text=True)
        assert "Kontingent für Spontankunden" in html and 'id="capacity-rules"' in html
        before = audit_count()
        wrong = client.post(
            "/admin/manage/offices/aegi/walkins/rules",
            data={"csrf_token": csrf_from(html), "walkin_share_percent": "95"},
        )
        assert wrong.status_code == 422 and audit_count() == before
        half = client.post(
            "/admin/manage/offices/aegi/walkins/rules",
            data={
                "csrf_token": csrf_from(html),
                "walkin_share_percent": "20",
                "online_closes_days_before": "1",
            },
        )
        assert half.status_code == 422  # a day without a time
        assert "sowohl die Tage als auch die Uhrzeit" in half.get_data(as_text=True)
        assert audit_count() == before
        saved = client.post(
            "/admin/manage/offices/aegi/walkins/rules",
            data={
                "csrf_token": csrf_from(html),
                "walkin_share_percent": "20",
                "online_closes_days_before": "1",
                "online_closes_at": "12:00",
            },
        )
        assert saved.status_code == 302 and audit_count() == before + 1
        from queue_service.extensions import db

        db.session.expire_all()
        office = get_office("aegi")
        assert office.walkin_share_percent == 20 and office.online_closes_days_before == 1
        page = client.get("/admin/manage/offices/aegi/walkins").get_data(as_text=True)
        assert 'value="20"' in page and 'value="12:00"' in page
