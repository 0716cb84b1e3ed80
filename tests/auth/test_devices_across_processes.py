"""A device token's lookup is kept per process (auth/devices.py, under the auth revision), as a
bearer token's is: registering, revoking or changing a kiosk or display in any process, through a
service or behind its back, holds for the very next request of every other one; its last
sighting is still recorded once a minute, without moving the revision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from queue_service import clock
from queue_service.auth import devices
from queue_service.auth.models import Device, hash_token
from queue_service.auth.services import (
    create_device,
    device_for_token,
    revoke_device,
    set_device_printer,
)
from queue_service.extensions import db

from ..support.sql import statements_sent


def kiosk(token: str) -> dict:
    return {"X-Device-Token": token}


def _office(app_, token: str):
    """A public GET: the device header is checked all the same (a revoked one is refused)."""
    return app_.test_client().get("/api/v1/offices/aegi", headers=kiosk(token))


def _issue(app_, token: str, slug: str = "aegi"):
    return app_.test_client().post(
        f"/api/v1/offices/{slug}/tickets", json={"service": "PA"}, headers=kiosk(token)
    )


def _warm(other_app, token: str) -> None:
    """Two requests in the other process: the second one comes from what it keeps."""
    assert _office(other_app, token).status_code == 200
    assert _office(other_app, token).status_code == 200


def _in_this_process(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def _device_id(token: str) -> int:
    found = db.session.scalar(select(Device.id).where(Device.token_hash == hash_token(token)))
    db.session.commit()
    assert found is not None
    return found


def _sent_about_devices(sent: list[str]) -> list[str]:
    return [s for s in sent if "devices" in s]


@pytest.fixture
def morning(app, catalogue, thursday_morning):
    """Aegi open on a Thursday morning, so its kiosk can issue."""
    return thursday_morning


def test_a_device_revoked_in_one_process_is_refused_by_another_on_its_next_request(
    app, morning, other_app
):
    token = create_device("aegi", "kiosk")
    _warm(other_app, token)
    assert _issue(other_app, token).status_code == 201
    revoke_device(_device_id(token))
    assert _office(other_app, token).status_code == 401
    assert _issue(other_app, token).status_code == 401


def test_a_device_revoked_behind_the_services_back_is_refused_on_the_next_request(
    app, morning, other_app
):
    token = create_device("aegi", "kiosk")
    _warm(other_app, token)
    _in_this_process("UPDATE devices SET revoked_at = :now", now=clock.now())
    assert _office(other_app, token).status_code == 401
    assert _issue(other_app, token).status_code == 401


def test_a_deleted_device_is_refused_at_once(app, morning, other_app):
    token = create_device("aegi", "kiosk")
    _warm(other_app, token)
    _in_this_process("DELETE FROM devices")
    assert _office(other_app, token).status_code == 401


def test_a_kiosk_moved_to_another_office_or_made_a_display_holds_at_once(app, morning, other_app):
    token = create_device("aegi", "kiosk")
    _warm(other_app, token)
    assert _issue(other_app, token).status_code == 201
    _in_this_process(
        "UPDATE devices SET office_id = (SELECT id FROM offices WHERE slug = 'linden')"
    )
    moved = _issue(other_app, token)
    assert (
        moved.status_code == 403
        and "nicht für Bürgeramt Aegi angemeldet" in moved.get_json()["detail"]
    )
    _in_this_process(
        "UPDATE devices SET office_id = (SELECT id FROM offices WHERE slug = 'aegi'), "
        "kind = 'display'"
    )
    display = _issue(other_app, token)
    assert display.status_code == 403 and "Nur Kiosk-Geräte" in display.get_json()["detail"]


def test_a_printer_named_in_one_process_is_used_by_the_others(app, morning, other_app):
    token = create_device("aegi", "kiosk", "Eingang")
    _warm(other_app, token)
    set_device_printer(_device_id(token), "Thermo_80")
    with other_app.test_request_context("/api/v1/offices/aegi", headers=kiosk(token)):
        device = device_for_token(token)
        assert device is not None and device.printer == "Thermo_80"
        assert device.name == "Eingang" and device.office.slug == "aegi"


def test_the_kept_device_is_detached_and_each_request_gets_its_own_copy(app, morning):
    token = create_device("aegi", "kiosk")
    with app.test_request_context("/"):
        first = device_for_token(token)
        db.session.remove()
    with app.test_request_context("/"):
        second = device_for_token(token)
        assert second is not None and first is not None
        assert second is not first and second in db.session
        assert not db.session.dirty  # merging it changed nothing that would be written
        kept = next(
            value
            for value in app.extensions["qs_auth_memo"]
            .by_revision[next(iter(app.extensions["qs_auth_memo"].by_revision))]
            .values()
            if isinstance(value, Device)
        )
        assert inspect(kept).detached
        db.session.remove()


@pytest.mark.parametrize("cache", [True, False], ids=["kept", "looked-up"])
def test_the_kept_lookup_answers_as_a_lookup_of_its_own(app, morning, cache):
    """The same device (every column), and None for revoked and unknown tokens, with the
    keeping on and off (AUTH_CACHE)."""
    app.config["AUTH_CACHE"] = cache
    token = create_device("aegi", "kiosk", "Eingang", printer="Thermo_80")
    revoked = create_device("aegi", "display", "Wand")
    revoke_device(_device_id(revoked))
    columns = [c.key for c in Device.__table__.columns]
    for _ in range(2):  # the second time from what is kept
        with app.test_request_context("/"):
            found = device_for_token(token)
            own = db.session.execute(
                select(Device.__table__).where(Device.token_hash == hash_token(token))
            ).one()
            assert found is not None
            assert {c: getattr(found, c) for c in columns} == own._asdict()
            assert device_for_token(revoked) is None and device_for_token("dev_unknown") is None
            assert device_for_token("") is None
            db.session.remove()


def _auth_revision() -> tuple[int, int]:
    row = db.session.execute(text("SELECT epoch, number FROM auth_revisions")).one()
    db.session.commit()
    return (row.epoch, row.number)


def test_a_known_device_token_is_checked_without_reading_devices(app, morning, client):
    """Each request with a device token read the device (a statement and its ORM loading, the
    largest part of a kiosk's request before the view); the process keeps it under the auth
    revision, which the request reads with the catalogue's revision in one statement."""
    token = create_device("aegi", "kiosk")
    assert client.get("/api/v1/offices/aegi", headers=kiosk(token)).status_code == 200
    with statements_sent() as sent:
        assert client.get("/api/v1/offices/aegi", headers=kiosk(token)).status_code == 200
    assert _sent_about_devices(sent) == []
    with statements_sent() as sent:
        issued = client.post(
            "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk(token)
        )
    assert issued.status_code == 201
    assert _sent_about_devices(sent) == []


def test_a_sighting_is_recorded_once_a_minute_and_moves_no_revision(app, morning, client):
    token = create_device("aegi", "display")
    device_id = _device_id(token)

    def seen():
        value = db.session.scalar(select(Device.last_seen_at).where(Device.id == device_id))
        db.session.commit()
        return value

    before = _auth_revision()
    assert client.get("/api/v1/offices/aegi", headers=kiosk(token)).status_code == 200
    assert seen() == clock.now()
    assert _auth_revision() == before  # what the processes keep stays valid
    first = clock.now()
    clock.advance(timedelta(seconds=30))
    with statements_sent() as sent:  # neither read nor written within the minute
        assert client.get("/api/v1/offices/aegi", headers=kiosk(token)).status_code == 200
    assert _sent_about_devices(sent) == [] and seen() == first
    clock.advance(timedelta(seconds=31))
    assert client.get("/api/v1/offices/aegi", headers=kiosk(token)).status_code == 200
    assert seen() == clock.now()
    with statements_sent() as sent:  # noted: not due again for a minute
        assert client.get("/api/v1/offices/aegi", headers=kiosk(token)).status_code == 200
    assert _sent_about_devices(sent) == []
    assert devices.last_seen(db.session.get(Device, device_id)) == clock.now()
    assert _auth_revision() == before
