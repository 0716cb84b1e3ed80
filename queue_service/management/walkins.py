"""Closing walk-in ticket issuance early for the rest of a day, with a reason for visitors.

When the counters cannot serve everyone who still comes (staff ill, a system down, a queue that
already fills the day), a manager stops walk-in tickets now instead of sending people home at
closing time. The kiosk shows the reason before anyone taps, issuing refuses further walk-in
tickets (appointments and check-ins go on), the displays run the reason as a ticker message, and
the public status and office pages say so. It ends by itself at midnight, or when reopened.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _

from .. import clock
from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, ValidationFailed
from ..offices import calendar
from ..offices.messages import message_view
from ..offices.models import Office, OfficeMessage
from ..realtime import publish
from .access import load_actor, office_for

MAX_REASON = 200


def _end_of_day(office: Office, now: datetime) -> datetime:
    tz = calendar.office_tz(office)
    day = now.astimezone(tz).date()
    return clock.local_to_utc(day + timedelta(days=1), time(0, 0), tz)


def close_walkins_today(office_slug: str, reason: str, *, actor: User) -> Office:
    """Stop walk-in tickets at this office for the rest of today, telling visitors why."""
    reason = " ".join((reason or "").split())
    if not 3 <= len(reason) <= MAX_REASON:
        raise ValidationFailed(
            N_("Please give visitors a reason (3 to %(n)d characters)."),
            field="reason",
            params={"n": MAX_REASON},
        )
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, office_slug, for_update=True)
        now = clock.now()
        today = now.astimezone(calendar.office_tz(office)).date()
        if office.walkins_closed_message_id:
            old = session.get(OfficeMessage, office.walkins_closed_message_id)
            if old is not None and old.active:
                old.active = False
                publish.office_message(office.slug, message_view(old, office.slug))
        with force_locale("de"):
            text_de = _("No more walk-in tickets today: %(reason)s", reason=reason)
        with force_locale("en"):
            text_en = _("No more walk-in tickets today: %(reason)s", reason=reason)
        message = OfficeMessage(
            office_id=office.id,
            text_de=text_de[:280],
            text_en=text_en[:280],
            active_from=now,
            active_until=_end_of_day(office, now),
            active=True,
            created_at=now,
        )
        session.add(message)
        session.flush()
        office.walkins_closed_on = today
        office.walkins_closed_reason = reason
        office.walkins_closed_message_id = message.id
        record(
            "office.walkins_closed",
            actor=actor,
            object_type="office",
            object_id=office.id,
            office_id=office.id,
            details={"day": today.isoformat(), "reason": reason},
        )
        publish.office_message(office.slug, message_view(message, office.slug))
        publish.queue_changed(office.slug)
    return office


def reopen_walkins(office_slug: str, *, actor: User) -> Office:
    """Walk-in tickets again today (the early closing is lifted)."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, office_slug, for_update=True)
        if office.walkins_closed_on is None:
            return office
        if office.walkins_closed_message_id:
            message = session.get(OfficeMessage, office.walkins_closed_message_id)
            if message is not None and message.active:
                message.active = False
                publish.office_message(office.slug, message_view(message, office.slug))
        record(
            "office.walkins_reopened",
            actor=actor,
            object_type="office",
            object_id=office.id,
            office_id=office.id,
            details={"day": office.walkins_closed_on.isoformat()},
        )
        office.walkins_closed_on = None
        office.walkins_closed_reason = None
        office.walkins_closed_message_id = None
        publish.queue_changed(office.slug)
    return office
