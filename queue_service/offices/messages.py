"""Ticker messages on the waiting-room displays: reading them.

Posting, withdrawing and expiring are management actions (queue_service.management.messages).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from .. import clock
from ..extensions import db
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
