"""Posting and withdrawing the ticker messages of an office's displays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .. import clock
from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, NotFound, ValidationFailed
from ..extensions import db
from ..offices.messages import message_view
from ..offices.models import Office, OfficeMessage
from ..realtime import publish
from .access import load_actor, office_for

MAX_LENGTH = 280


def office_messages(slug: str, *, actor: User) -> tuple[Office, list[OfficeMessage]]:
    """The office's messages that are active or ended in the last 30 days, newest first."""
    office = office_for(load_actor(actor.id), slug)
    rows = db.session.scalars(
        select(OfficeMessage)
        .where(OfficeMessage.office_id == office.id)
        .order_by(OfficeMessage.active.desc(), OfficeMessage.active_from.desc())
        .limit(50)
    ).all()
    return office, list(rows)


def post_office_message(
    office_slug: str,
    text_de: str,
    text_en: str | None = None,
    active_from: datetime | None = None,
    active_until: datetime | None = None,
    *,
    actor: User,
) -> OfficeMessage:
    """Show a ticker message on the office's displays (from now, or from ``active_from``)."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, office_slug)
        text_de, text_en = (text_de or "").strip(), (text_en or "").strip() or None
        if not text_de or len(text_de) > MAX_LENGTH:
            raise ValidationFailed(
                N_("Enter a German text of up to %(n)d characters."),
                field="text_de",
                params={"n": MAX_LENGTH},
            )
        if text_en and len(text_en) > MAX_LENGTH:
            raise ValidationFailed(
                N_("The English text may have up to %(n)d characters."),
                field="text_en",
                params={"n": MAX_LENGTH},
            )
        now = clock.now()
        active_from = active_from or now
        if active_until is not None and active_until <= max(active_from, now):
            raise ValidationFailed(
                N_("The end must be after the start and in the future."), field="active_until"
            )
        message = OfficeMessage(
            office_id=office.id,
            text_de=text_de,
            text_en=text_en,
            active_from=active_from,
            active_until=active_until,
            active=True,
            created_at=now,
        )
        session.add(message)
        session.flush()
        record(
            "office_message.posted",
            actor=actor,
            object_type="office_message",
            object_id=message.id,
            office_id=office.id,
            details={
                "active_from": active_from.isoformat(),
                "active_until": active_until.isoformat() if active_until else None,
            },
        )
        publish.office_message(office.slug, message_view(message, office.slug))
    return message


def withdraw_office_message(office_slug: str, message_id: int, *, actor: User) -> OfficeMessage:
    """Take a message off the displays now."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, office_slug)
        message = session.get(OfficeMessage, message_id)
        if message is None or message.office_id != office.id:
            raise NotFound(N_("This message does not exist."))
        if message.active:
            message.active = False
            record(
                "office_message.withdrawn",
                actor=actor,
                object_type="office_message",
                object_id=message.id,
                office_id=office.id,
            )
            publish.office_message(office.slug, message_view(message, office.slug))
    return message


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
