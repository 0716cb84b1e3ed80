"""Booking test helpers: a known clock, mail kept in memory, small helpers to book."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import g
from sqlalchemy import delete

from queue_service import clock, create_app
from queue_service.booking import services as booking
from queue_service.booking.models import Appointment, SlotSeat
from queue_service.extensions import db

BERLIN = clock.LOCAL_TZ
# Monday 23 November 2026, 09:00 in Hannover: the horizon runs to Monday 4 January 2027.
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
# Thursday 26 November 2026: Linden has 2 parallel appointments, Aegi 6.
THURSDAY = datetime(2026, 11, 26, tzinfo=BERLIN).date()


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "PUBLIC_BASE_URL": "https://termine.example"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def catalogue_app(request, tmp_path_factory):
    """One app with the demo catalogue per module and database, for tests that only read it."""
    from queue_service.offices.catalogue import DEMO_FILE, load_catalogue_file

    from ..conftest import _test_config, _truncate_all, isolate_requests

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('catalogue') / 'read-only.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema")
    app = create_app(
        _test_config(
            url, MAIL_BACKEND="memory", MAIL_ASYNC=False, PUBLIC_BASE_URL="https://termine.example"
        )
    )
    isolate_requests(app)  # staff_user() on the appointment API caches the anonymous user in g
    with app.app_context():
        if request.param == "sqlite":
            db.create_all()
        else:
            _truncate_all()
        load_catalogue_file(DEMO_FILE)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def other_app(app, db_url):
    """A second app on the same database, with its own catalogue cache (as another process)."""
    from ..conftest import _test_config, isolate_requests

    other = create_app(_test_config(db_url, MAIL_BACKEND="memory", MAIL_ASYNC=False))
    isolate_requests(other)
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def monday_morning():
    clock.freeze(MONDAY_9)
    return MONDAY_9


@pytest.fixture
def outbox(app):
    return app.extensions.setdefault("mail_outbox", [])


def at(day, hh: int, mm: int = 0) -> datetime:
    """A local time on ``day`` (Hannover) as an aware datetime."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN)


def book(
    office="linden",
    services="PA",
    start=None,
    persons=1,
    name="Erika Mustermann",
    email=None,
    **kwargs,
):
    book.counter = getattr(book, "counter", 0) + 1
    return booking.book_appointment(
        office,
        services,
        persons,
        start or at(THURSDAY, 8),
        name,
        email or f"person{book.counter}@example.org",
        **kwargs,
    )


def wipe_bookings() -> None:
    db.session.execute(delete(SlotSeat))
    db.session.execute(delete(Appointment))
    db.session.commit()


@pytest.fixture
def bookings(catalogue_app):
    """The shared catalogue with no bookings, an empty outbox and the clock on Monday 09:00."""
    wipe_bookings()
    # the module's app context outlives requests, and Flask-WTF caches a CSRF token on ``g``
    g.pop("csrf_token", None)
    outbox = catalogue_app.extensions.setdefault("mail_outbox", [])
    outbox.clear()
    saved = dict(catalogue_app.config)
    clock.freeze(MONDAY_9)
    yield outbox
    catalogue_app.config.update(saved)
    db.session.rollback()
    wipe_bookings()
    outbox.clear()
    g.pop("csrf_token", None)
