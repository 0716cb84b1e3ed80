"""Fixtures for the live queue: the demo catalogue on a Thursday morning, a clerk of Aegi."""

from __future__ import annotations

import pytest

from queue_service.auth.models import User
from queue_service.extensions import db


@pytest.fixture
def aegi(app, catalogue, thursday_morning):
    """The demo catalogue, the clock on Thursday 26 November 2026 10:00 (walk-ins open)."""
    return "aegi"


@pytest.fixture
def clerk(aegi, make_user):
    created = make_user("clerk-aegi", "clerk", ["aegi"])
    return db.session.get(User, created.id)


@pytest.fixture
def other_clerk(aegi, make_user):
    created = make_user("clerk-linden", "clerk", ["linden"])
    return db.session.get(User, created.id)
