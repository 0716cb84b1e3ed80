"""A kiosk's or display's device token, checked on each of its requests.

What a valid token's lookup finds is kept per process under the auth revision (read with the
catalogue's in one statement), as a bearer token's is (``auth/tokens.py``): registering, revoking
or changing a device moves it (triggers on ``devices``, its last sighting excepted), so a
revocation committed by any process holds for the next request of every process. Unknown and
revoked tokens are never kept (a lookup each time).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from .models import Device, hash_token
from .tokens import kept_lookup


def _load(key) -> Device | None:
    # in the request's connection and snapshot, on a session of its own: what is kept must not
    # be the request's object
    _kind, token_hash = key
    with Session(bind=db.session.connection()) as side:
        device = side.scalar(
            select(Device).where(Device.token_hash == token_hash, Device.revoked_at.is_(None))
        )
        side.expunge_all()
    return device


def device_for_token(token: str | None) -> Device | None:
    """The registered, unrevoked device of ``token``, in the request's session, else None.

    The kept device stays detached and unchanged: the request gets a copy merged without a
    query (its office is loaded from the request's session when asked for)."""
    if not token:
        return None
    kept = kept_lookup(("device", hash_token(token)), _load)
    if kept is None:
        return None
    assert isinstance(kept, Device)
    return db.session.merge(kept, load=False)


def last_seen(device: Device) -> datetime | None:
    """When ``device`` was last recorded as seen, as far as this process knows: a kept device
    has the value of its lookup, and recording a sighting does not move the auth revision."""
    noted = _sightings_noted().get(device.id)
    seen = device.last_seen_at
    return noted if noted is not None and (seen is None or noted > seen) else seen


def note_sighting(device_id: int, when: datetime) -> None:
    """This process recorded (or found recorded) a sighting of ``device_id`` at ``when``."""
    _sightings_noted()[device_id] = when


def _sightings_noted() -> dict[int, datetime]:
    return current_app.extensions.setdefault("qs_device_sightings", {})
