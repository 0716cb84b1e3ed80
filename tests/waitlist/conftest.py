"""Waitlist fixtures: the booking tests' shared catalogue app, clock and outbox, with the
waitlist tables emptied around each test."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from queue_service.extensions import db
from queue_service.waitlist.models import WaitlistOffer, WaitlistRequest

from ..booking.conftest import (  # noqa: F401  (shared fixtures)
    THURSDAY,
    app_config,
    at,
    book,
    bookings,
    catalogue_app,
    monday_morning,
    outbox,
)


def wipe_waitlist() -> None:
    db.session.rollback()
    db.session.execute(delete(WaitlistOffer))
    db.session.execute(delete(WaitlistRequest))
    db.session.commit()


@pytest.fixture
def mails(bookings):  # noqa: F811  (the imported fixture, requested by name)
    """Empty bookings and waitlist; yields the mail outbox."""
    sent = bookings
    wipe_waitlist()
    yield sent
    wipe_waitlist()
