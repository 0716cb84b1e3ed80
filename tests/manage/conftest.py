"""Staff accounts for the management tests and an impact provider that stands in for booking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from queue_service.audit.models import AuditEntry
from queue_service.auth.services import create_user
from queue_service.extensions import db
from queue_service.offices.impact import (
    AffectedItem,
    AvailabilityChange,
    register_impact_provider,
    unregister_impact_provider,
)
from queue_service.offices.models import Office

from ..conftest import DEMO_CATALOGUE, login


def create_staff() -> SimpleNamespace:
    return SimpleNamespace(
        admin=create_user("admin", "admin", []),
        aegi_manager=create_user("leitung-aegi", "manager", ["aegi"]),
        linden_manager=create_user("leitung-linden", "manager", ["linden"]),
        aegi_clerk=create_user("sb-aegi", "clerk", ["aegi"]),
        linden_clerk=create_user("sb-linden", "clerk", ["linden"]),
    )


@pytest.fixture
def staff(app, catalogue):
    """Demo catalogue plus an admin, a manager and a clerk each for Aegi and Linden."""
    return create_staff()


@pytest.fixture
def web(sqlite_app):
    """For page tests that are not about the database: SQLite, catalogue, staff."""
    from queue_service.offices.catalogue import load_catalogue_file

    load_catalogue_file(DEMO_CATALOGUE)
    return SimpleNamespace(app=sqlite_app, staff=create_staff())


def logged_in(app, user):
    client = app.test_client()
    assert login(client, user.username, user.password).status_code == 302
    return client


def office_id(slug: str) -> int:
    return db.session.scalar(select(Office.id).where(Office.slug == slug))


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@dataclass
class Appointment:
    ref: str
    office_id: int
    starts_at: datetime
    minutes: int = 15


@dataclass
class FakeBookings:
    """An impact provider as booking will register it, with appointments held in memory."""

    appointments: list[Appointment] = field(default_factory=list)
    applied: list[tuple[AvailabilityChange, list[AffectedItem], bool]] = field(default_factory=list)

    def book(self, slug: str, starts_at: datetime, ref: str) -> Appointment:
        appointment = Appointment(ref, office_id(slug), starts_at)
        self.appointments.append(appointment)
        return appointment

    def affected(self, change: AvailabilityChange) -> list[AffectedItem]:
        from queue_service.offices.calendar import office_tz

        found = []
        for a in self.appointments:
            office = db.session.get(Office, a.office_id)
            end = a.starts_at + timedelta(minutes=a.minutes)
            if not change.concerns(a.office_id):
                continue
            if a.starts_at.astimezone(office_tz(office)).date() not in change.days:
                continue
            if change.still_open and change.still_open(a.office_id, a.starts_at, end):
                continue
            found.append(AffectedItem("bookings", a.ref, a.office_id, a.starts_at, f"PA · {a.ref}"))
        return found

    def apply(self, change, items, *, notify):
        self.applied.append((change, items, notify))


@pytest.fixture
def bookings():
    provider = FakeBookings()
    register_impact_provider("bookings", provider)
    yield provider
    unregister_impact_provider("bookings")
