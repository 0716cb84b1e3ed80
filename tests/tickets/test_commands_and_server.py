"""The close-day command, and the queue through a real ``queue-service serve`` process."""

from __future__ import annotations

import shutil

import pytest
import requests

from queue_service import create_app
from queue_service.auth.services import create_api_token, create_device
from queue_service.extensions import db
from queue_service.tickets import reads
from queue_service.tickets import services as q


def test_close_day_command_closes_the_queue_and_reports_the_count(app, aegi, clerk):
    waiting = q.issue_ticket("aegi", "PA")["token"]
    q.issue_ticket("aegi", "RP")
    q.call_next("aegi", 1, actor=clerk)
    result = app.test_cli_runner().invoke(args=["close-day", "aegi", "--reason", "Feierabend"])
    assert result.exit_code == 0, result.output
    assert "2 ticket(s) marked as not served" in result.output
    assert reads.ticket_status(waiting)["status"] == "not_served"
    unknown = app.test_cli_runner().invoke(args=["close-day", "atlantis"])
    assert unknown.exit_code == 2 and "atlantis" in unknown.output


@pytest.mark.slow
def test_a_clerk_works_a_queue_of_walkins_through_the_real_server(
    live_server, sqlite_template, tmp_path
):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    shutil.copyfile(sqlite_template, tmp_path / "live.sqlite3")  # catalogue and staff, ready
    setup = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with setup.app_context():
        kiosk = {"X-Device-Token": create_device("aegi", "kiosk")}
        clerk = {"Authorization": f"Bearer {create_api_token('clerk-aegi')}"}
        db.engine.dispose()
    server = live_server(database_url=url, env={"CLOCK_START": "2026-11-26T10:00"}, load_demo=False)
    base = server.base_url
    issued = [
        requests.post(
            f"{base}/api/v1/offices/aegi/tickets", json={"service": code}, headers=kiosk, timeout=10
        ).json()
        for code in ("PA", "PA", "AB")
    ]
    assert [t["number"] for t in issued] == ["P001", "P002", "H001"]
    assert [t["people_ahead"] for t in issued] == [0, 1, 2]
    assert issued[0]["status_url"] == f"{base}/t/{issued[0]['token']}"
    served = []
    while (
        response := requests.post(
            f"{base}/api/v1/offices/aegi/counters/1/call-next", headers=clerk, timeout=10
        )
    ).status_code == 200:
        ticket = response.json()
        served.append(ticket["number"])
        assert (
            requests.get(f"{base}/api/v1/tickets/{ticket['token']}", timeout=10).json()["counter"][
                "number"
            ]
            == 1
        )
        for action in ("start", "finish"):
            assert (
                requests.post(
                    f"{base}/api/v1/tickets/{ticket['token']}/{action}", headers=clerk, timeout=10
                ).status_code
                == 200
            )
    assert response.status_code == 204 and served == ["P001", "P002", "H001"]
    page = requests.get(issued[2]["status_url"], timeout=10)
    assert page.status_code == 200 and "H001" in page.text and "Erledigt" in page.text
