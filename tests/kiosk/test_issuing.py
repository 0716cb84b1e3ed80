"""Issuing from the kiosk page: the device cookie with the page's CSRF token, refusals, the rate
limit per device and server-side printing through a fake ``lp`` (a real process boundary)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import sys
import time
from io import BytesIO

import pytest
from pypdf import PdfReader

from queue_service import create_app
from queue_service.auth.services import create_api_token, create_device
from queue_service.extensions import db, limiter

from ..conftest import _test_config, isolate_requests
from ..tickets.conftest import set_service
from .conftest import csrf_of


def test_the_kiosk_page_issues_with_its_cookie_and_csrf_token(kiosk_client):
    without = kiosk_client.post("/api/v1/offices/aegi/tickets", json={"service": "PA"})
    assert without.status_code == 400  # a cookie alone is not enough: CSRF
    headers = {"X-CSRFToken": csrf_of(kiosk_client), "Idempotency-Key": "tap-1"}
    first = kiosk_client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA", "lang": "ar"}, headers=headers
    )
    assert first.status_code == 201 and first.get_json()["number"] == "P001"
    again = kiosk_client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA", "lang": "ar"}, headers=headers
    )
    assert again.get_json()["token"] == first.get_json()["token"]  # a retried tap: one ticket
    assert "printing" not in first.get_json()


def test_refusals_and_bad_input_are_problems_the_kiosk_can_explain(client, kiosk_token):
    headers = {"X-Device-Token": kiosk_token}
    bad_lang = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA", "lang": "fr"}, headers=headers
    )
    assert bad_lang.status_code == 422 and bad_lang.get_json()["field"] == "lang"
    set_service("FS", walk_in_allowed=False)
    refused = client.post("/api/v1/offices/aegi/tickets", json={"service": "FS"}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "walkin_not_allowed"
    linden = {"X-Device-Token": create_device("linden", "kiosk")}
    refused = client.post("/api/v1/offices/linden/tickets", json={"service": "BPA"}, headers=linden)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "service_not_offered"


@pytest.fixture
def limits():
    return {"KIOSK_RATELIMIT_TICKETS": "3 per minute"}


@pytest.fixture
def limited_app(sqlite_template, tmp_path, thursday_morning, limits):
    """An app of its own with the rate limiter on (the limiter is bound when an app is made)."""
    path = tmp_path / "limited.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = create_app(_test_config(f"sqlite:///{path}", RATELIMIT_ENABLED=True, **limits))
    isolate_requests(app)
    limiter.reset()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    limiter.reset()


def test_each_kiosk_is_rate_limited_on_its_own_and_staff_are_not(limited_app):
    client = limited_app.test_client()
    first, second = ({"X-Device-Token": create_device("aegi", "kiosk")} for _ in range(2))
    staff = {"Authorization": f"Bearer {create_api_token('clerk-aegi')}"}

    def issue(headers):
        return client.post("/api/v1/offices/aegi/tickets", json={"service": "AB"}, headers=headers)

    assert [issue(first).status_code for _ in range(3)] == [201, 201, 201]
    limited = issue(first)
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert issue(second).status_code == 201
    assert [issue(staff).status_code for _ in range(4)] == [201] * 4


@pytest.mark.parametrize(
    "limits",
    [{"KIOSK_RATELIMIT_TICKETS": "100 per minute", "KIOSK_RATELIMIT_TICKETS_HOURLY": "4 per hour"}],
)
def test_a_kiosk_is_limited_per_hour_as_well_as_per_minute(limited_app):
    client = limited_app.test_client()
    kiosk = {"X-Device-Token": create_device("aegi", "kiosk")}

    def issue():
        return client.post("/api/v1/offices/aegi/tickets", json={"service": "AB"}, headers=kiosk)

    assert [issue().status_code for _ in range(4)] == [201] * 4
    limited = issue()
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 60  # the hour's budget, not the minute's


def test_the_hourly_kiosk_limit_is_a_setting(monkeypatch, tmp_path):
    from queue_service.config import Defaults, from_environment

    assert Defaults.KIOSK_RATELIMIT_TICKETS_HOURLY == "120 per hour"
    monkeypatch.setenv("KIOSK_RATELIMIT_TICKETS_HOURLY", "60 per hour")
    assert from_environment(str(tmp_path))["KIOSK_RATELIMIT_TICKETS_HOURLY"] == "60 per hour"


@pytest.fixture
def fake_lp(tmp_path, monkeypatch):
    """An executable ``lp`` first on PATH that stores its argv and the document it was given."""

    def install(exit_code: int = 0):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        lp = bin_dir / "lp"
        jobs = tmp_path / "jobs"
        jobs.mkdir(exist_ok=True)
        lp.write_text(
            f"#!{sys.executable}\nimport json, os, sys\n"
            "data = sys.stdin.buffer.read()\n"
            f"name = os.path.join({str(jobs)!r}, str(os.getpid()))\n"
            "open(name + '.pdf', 'wb').write(data)\n"
            "json.dump(sys.argv[1:], open(name + '.json', 'w'))\n"
            f"sys.stderr.write('lp: printer on fire\\n') if {exit_code} else None\n"
            f"sys.exit({exit_code})\n"
        )
        lp.chmod(lp.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        return jobs

    return install


def wait_for_files(folder, pattern: str, count: int, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern))
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return sorted(folder.glob(pattern))


def test_with_cups_printing_the_server_prints_the_ticket_on_the_kiosks_printer(
    app, client, fake_lp, aegi
):
    jobs = fake_lp()
    app.config["KIOSK_CUPS_PRINTING"] = True
    printer = {"X-Device-Token": create_device("aegi", "kiosk", printer="Kiosk_Aegi_1")}
    response = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA", "lang": "en"}, headers=printer
    )
    assert response.status_code == 201 and response.get_json()["printing"] == "server"
    (job,) = wait_for_files(jobs, "*.json", 1)
    argv = json.loads(job.read_text())
    assert argv[:2] == ["-d", "Kiosk_Aegi_1"] and argv[argv.index("-t") + 1] == "Wartemarke P001"
    text = PdfReader(BytesIO(job.with_suffix(".pdf").read_bytes())).pages[0].extract_text()
    assert "P001" in text and "Apply for an identity card" in text
    # a kiosk without a printer prints from its browser
    plain = client.post(
        "/api/v1/offices/aegi/tickets",
        json={"service": "PA"},
        headers={"X-Device-Token": create_device("aegi", "kiosk")},
    )
    assert "printing" not in plain.get_json()
    time.sleep(0.3)
    assert len(list(jobs.glob("*.json"))) == 1


def test_a_printer_failure_loses_only_the_paper(app, client, fake_lp, aegi, caplog):
    jobs = fake_lp(exit_code=1)
    app.config["KIOSK_CUPS_PRINTING"] = True
    printer = {"X-Device-Token": create_device("aegi", "kiosk", printer="Kiosk_Aegi_1")}
    with caplog.at_level(logging.WARNING, logger="queue_service.tickets.printouts"):
        response = client.post(
            "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=printer
        )
        assert response.status_code == 201 and response.get_json()["number"] == "P001"
        wait_for_files(jobs, "*.json", 1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "not printed" not in caplog.text:
            time.sleep(0.05)
    assert "ticket P001 not printed on Kiosk_Aegi_1 (refused)" in caplog.text
