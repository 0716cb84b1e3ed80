"""Locust users for benchmarks/load.py: the booking surge when a new day is released at 08:00,
and a busy morning at the counters, against the production demo (loopback only).

Settings come from the environment (load.py sets them): QS_TOKEN (an admin bearer token),
QS_RELEASE_DAY (the day that becomes bookable at 08:00), QS_SURGE_OFFICES, QS_CALL_OFFICES.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import uuid

from locust import HttpUser, between, task

TOKEN = os.environ.get("QS_TOKEN", "")
RELEASE_DAY = os.environ.get("QS_RELEASE_DAY", "")
SURGE_OFFICES = os.environ.get("QS_SURGE_OFFICES", "aegi,linden,podbi").split(",")
CALL_OFFICES = os.environ.get("QS_CALL_OFFICES", "aegi,linden").split(",")
SERVICES = ["PA", "RP", "AN", "AB"]
BEARER = {"Authorization": f"Bearer {TOKEN}"}

_counters = itertools.cycle(
    [(office, number) for number in range(1, 11) for office in CALL_OFFICES]
)
_lock = threading.Lock()


class Resident(HttpUser):
    """Waits for the release, searches the new day's slots, holds one of the first times
    (everybody wants the early ones) and books it, as a browser would (session + CSRF)."""

    weight = 6
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.verify = False
        response = self.client.get("/api/v1/csrf-token", name="csrf-token")
        self.csrf = response.json().get("csrf_token", "") if response.ok else ""
        self.office = random.choice(SURGE_OFFICES)
        self.service = random.choice(SERVICES)

    @task
    def book(self) -> None:
        with self.client.get(
            f"/api/v1/offices/{self.office}/slots",
            params={"services": self.service, "from": RELEASE_DAY, "to": RELEASE_DAY},
            name="slots (release day)",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 422):
                response.success()  # 422: the day is not released yet
            slots = response.json().get("slots", []) if response.status_code == 200 else []
        if not slots:
            return
        start = random.choice(slots[:5])["start"]
        body = {"office": self.office, "services": [self.service], "persons": 1, "start": start}
        # over HTTPS Flask-WTF also checks that the Referer is the site itself: a browser's,
        # with the demo's port (nginx passes Host with its port, $http_host)
        headers = {"X-CSRFToken": self.csrf, "Referer": f"{self.host}/termin/"}
        with self.client.post(
            "/api/v1/holds", json=body, headers=headers, name="hold", catch_response=True
        ) as response:
            if response.status_code == 409:
                response.success()  # taken by someone quicker: search again
                return
            if response.status_code != 201:
                return
            hold = response.json()["hold"]
        contact = {"name": "Last Tester", "email": f"load-{uuid.uuid4().hex[:12]}@example.org"}
        self.client.post(
            "/api/v1/appointments",
            json=body | contact | {"hold": hold},
            headers=headers,
            name="book",
        )


class Reception(HttpUser):
    """Walk-ins drawing numbers (issued by staff with a token, as at a reception desk)."""

    fixed_count = 4
    wait_time = between(0.1, 0.4)

    def on_start(self) -> None:
        self.client.verify = False

    @task
    def issue(self) -> None:
        office = random.choice(CALL_OFFICES)
        with self.client.post(
            f"/api/v1/offices/{office}/tickets",
            json={"service": random.choice(SERVICES)},
            headers=BEARER,
            name="issue ticket",
            catch_response=True,
        ) as response:
            if response.status_code == 409:
                response.success()  # before 08:00 or the day's cap: refused politely


class Clerk(HttpUser):
    """One counter: call the next number, start, finish, again."""

    fixed_count = 12
    wait_time = between(0.1, 0.3)

    def on_start(self) -> None:
        self.client.verify = False
        with _lock:
            self.office, self.counter = next(_counters)
        self.base = f"/api/v1/offices/{self.office}/counters/{self.counter}"
        self.client.post(f"{self.base}/open", headers=BEARER, name="counter open")

    @task
    def serve(self) -> None:
        response = self.client.post(f"{self.base}/call-next", headers=BEARER, name="call-next")
        if response.status_code != 200:
            return
        token = response.json()["token"]
        self.client.post(f"/api/v1/tickets/{token}/start", headers=BEARER, name="start")
        self.client.post(f"/api/v1/tickets/{token}/finish", headers=BEARER, name="finish")


class Watcher(HttpUser):
    """The city's website and the chatbot reading the live status."""

    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.verify = False

    @task(3)
    def office_status(self) -> None:
        office = random.choice(CALL_OFFICES)
        self.client.get(f"/api/v1/offices/{office}/status", name="office status")

    @task
    def city_status(self) -> None:
        self.client.get("/api/v1/status", name="city status")
