"""An API request's JSON body is parsed and measured once, and its documented operation found
once: the parameter check before the view and the view's ``json_body`` both asked (two
``json.loads``, two depth walks and two look-ups per kiosk issue)."""

from __future__ import annotations

import json

import pytest

from queue_service.api import contract
from queue_service.auth.services import create_device


@pytest.fixture
def kiosk(app, catalogue, thursday_morning):
    return {"X-Device-Token": create_device("aegi", "kiosk")}


@pytest.fixture
def counted(monkeypatch):
    calls = {"loads": 0, "operations": 0}
    loads, operations = json.loads, contract._operations

    def counting_loads(*args, **kwargs):
        calls["loads"] += 1
        return loads(*args, **kwargs)

    def counting_operations():
        calls["operations"] += 1
        return operations()

    monkeypatch.setattr(contract.json, "loads", counting_loads)
    monkeypatch.setattr(contract, "_operations", counting_operations)
    return calls


def test_a_kiosk_issue_parses_its_body_once(client, kiosk, counted):
    issued = client.post("/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk)
    assert issued.status_code == 201
    assert counted == {"loads": 1, "operations": 1}


def test_the_body_is_still_checked_before_and_in_the_view(client, kiosk, counted):
    deep = client.post(
        "/api/v1/offices/aegi/tickets",
        data="[" * 40 + "]" * 40,
        headers={**kiosk, "Content-Type": "application/json"},
    )
    assert deep.status_code == 422 and deep.get_json()["field"] == "body"
    broken = client.post(
        "/api/v1/offices/aegi/tickets",
        data="{",
        headers={**kiosk, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422 and broken.get_json()["field"] == "body"
    typed = client.post("/api/v1/offices/aegi/tickets", json={"service": 3}, headers=kiosk)
    assert typed.status_code == 422 and typed.get_json()["field"] == "service"
