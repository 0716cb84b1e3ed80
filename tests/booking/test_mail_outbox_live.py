"""The outbox on a served process: bookings made through the API while the SMTP server is down,
then the server process killed with its mails still unsent; after a restart and with the SMTP
server back, the scheduler's job delivers every mail exactly once."""

from __future__ import annotations

import time

import pytest
import requests
from aiosmtpd.controller import Controller

from ..support.servers import copy_of_demo_sqlite, free_port, start_server
from .test_booking_mail import Inbox

pytestmark = pytest.mark.slow


def test_mails_survive_an_smtp_outage_and_a_killed_server_and_arrive_once(tmp_path):
    smtp_port = free_port()
    env = {
        "CLOCK_START": "2026-11-23T09:00",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_TIMEOUT": "2",
        "MAIL_RETRY_SECONDS": "1",
        "MAIL_RETRY_MAX_SECONDS": "2",
        # the rows the killed process had claimed wait out their lease: 8 s instead of 36
        "MAIL_CLAIM_LEASE_SECONDS": "8",
        "RATELIMIT_ENABLED": "false",
        "SCHEDULER_ENABLED": "1",
        "SCHEDULER_JOB_INTERVALS": "send_mail_outbox=1",
    }
    database = copy_of_demo_sqlite(tmp_path / "outbox.sqlite3")
    server = start_server(tmp_path, database_url=database, env=env, load_demo=False)
    emails = [f"resident{i}@example.org" for i in range(6)]
    try:
        http = requests.Session()
        token = http.get(f"{server.base_url}/api/v1/csrf-token", timeout=10).json()["csrf_token"]
        for i, address in enumerate(emails):
            created = http.post(
                f"{server.base_url}/api/v1/appointments",
                json={
                    "office": "linden",
                    "services": ["PA"],
                    "persons": 1,
                    "start": f"2026-11-26T08:{15 * (i // 2):02d}:00+01:00",
                    "name": "Erika Mustermann",
                    "email": address,
                },
                headers={"X-CSRFToken": token},
                timeout=15,
            )
            assert created.status_code == 201, created.text
        server.kill()  # with every mail still unsent (the SMTP server is down)
    finally:
        server.stop()

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    # the restarted process's clock goes on from later, as a real one would: started at 09:00 again,
    # it would wait out the retry times the first process set (up to 30 s) before sending
    later = {**env, "CLOCK_START": "2026-11-23T09:10"}
    restarted = start_server(tmp_path, database_url=database, env=later, load_demo=False)
    try:
        inbox.wait_for(len(emails), timeout=60)
        time.sleep(3)  # a few more job runs: nothing is sent twice
    finally:
        restarted.stop()
        controller.stop()
    assert sorted(m["To"] for m in inbox.messages) == sorted(emails)
    assert len({m["Message-ID"] for m in inbox.messages}) == len(emails)
    assert "Traceback" not in restarted.log()
