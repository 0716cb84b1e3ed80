"""Ticker messages on the waiting-room displays: reading them and expiring old ones.

Posting and withdrawing are management actions (queue_service.management.messages).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from .. import clock
from ..audit.services import record
from ..db import unit_of_work
from ..extensions import db
from ..realtime import publish
from .models import Office, OfficeMessage


def message_view(message: OfficeMessage, office_slug: str | None = None) -> dict:
    """What a display receives: the texts and when they show (no personal data)."""
    return {
        "id": message.id,
        "office": office_slug or message.office.slug,
        "text_de": message.text_de,
        "text_en": message.text_en,
        "active_from": message.active_from.isoformat(),
        "active_until": message.active_until.isoformat() if message.active_until else None,
        "active": message.active,
    }


def current_office_messages(office: Office, now: datetime | None = None) -> list[dict]:
    """The messages a display of ``office`` shows now, oldest first."""
    now = now or clock.now()
    rows = db.session.scalars(
        select(OfficeMessage)
        .where(OfficeMessage.office_id == office.id, OfficeMessage.active.is_(True))
        .where(OfficeMessage.active_from <= now)
        .where(or_(OfficeMessage.active_until.is_(None), OfficeMessage.active_until > now))
        .order_by(OfficeMessage.active_from, OfficeMessage.id)
    ).all()
    return [message_view(m, office.slug) for m in rows]


def expired_message_ids(now: datetime) -> list[int]:
    """Active messages whose end has passed."""
    return list(
        db.session.scalars(
            select(OfficeMessage.id)
            .where(OfficeMessage.active.is_(True), OfficeMessage.active_until <= now)
            .order_by(OfficeMessage.id)
        )
    )


def expire_office_message(message_id: int) -> bool:
    """Deactivate one message past its end and tell the displays; False if nothing to do."""
    with unit_of_work() as session:
        message = session.get(OfficeMessage, message_id, with_for_update=True)
        if (
            message is None
            or not message.active
            or message.active_until is None
            or message.active_until > clock.now()
        ):
            return False
        message.active = False
        record(
            "office_message.expired",
            actor=None,
            object_type="office_message",
            object_id=message.id,
            office_id=message.office_id,
        )
        publish.office_message(message.office.slug, message_view(message))
    return True
