"""A closure day shows the appointments it would strand, and cancels and notifies them once
the manager confirms."""

from __future__ import annotations

import pytest

from queue_service import clock
from queue_service.booking.models import Appointment, AppointmentStatus
from queue_service.errors import ConfirmationRequired
from queue_service.extensions import db
from queue_service.management import closures

from .conftest import MONDAY_9, THURSDAY, at, book


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


def test_closing_a_day_lists_then_cancels_and_notifies_the_affected_residents(
    app, catalogue, make_user
):
    outbox = app.extensions.setdefault("mail_outbox", [])
    manager = make_user("leitung", "manager", ["linden"])
    clock.freeze(MONDAY_9)
    stranded = book(office="linden", start=at(THURSDAY, 8), email="erika@example.org")
    other_office = book(office="aegi", start=at(THURSDAY, 8), email="max@example.org")
    outbox.clear()

    impact = closures.preview_closure(
        "linden", [THURSDAY], actor=manager, reason="Betriebsversammlung"
    )
    assert [item.key for item in impact.items] == [str(stranded.id)]
    summary = impact.items[0].summary
    assert "26.11.2026 08:00" in summary and "Erika" not in summary and "erika@" not in summary

    with pytest.raises(ConfirmationRequired):
        closures.add_closure("linden", [THURSDAY], "Betriebsversammlung", actor=manager)
    assert db.session.get(Appointment, stranded.id).status == AppointmentStatus.CONFIRMED
    assert outbox == []

    closures.add_closure(
        "linden", [THURSDAY], "Betriebsversammlung", actor=manager, confirmed=True, notify=True
    )
    db.session.expire_all()
    assert db.session.get(Appointment, stranded.id).status == AppointmentStatus.CANCELLED
    assert db.session.get(Appointment, other_office.id).status == AppointmentStatus.CONFIRMED
    assert [message["To"] for message in outbox] == ["erika@example.org"]


def test_the_closure_preview_names_the_day_and_the_services(app, catalogue, make_user):
    manager = make_user("leitung", "manager", ["linden"])
    clock.freeze(MONDAY_9)
    book(office="linden", services="EID,PA", start=at(THURSDAY, 8), email="erika@example.org")
    impact = closures.preview_closure("linden", [THURSDAY], actor=manager, reason="Umzug")
    summary = impact.items[0].summary
    assert summary.startswith("Do. 26.11.2026 08:00 · Bürgeramt Linden · ")
    assert "Online-Ausweis aktivieren oder PIN neu setzen" in summary
    assert "Personalausweis beantragen" in summary and "EID" not in summary
