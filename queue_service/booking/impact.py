"""Booking's answer to "who would be stranded": appointments on days an office loses.

Registered with offices.impact at import (create_app imports booking). A closure first lists the
affected appointments (time, services, booking code: no names), and once the manager confirms,
cancels them in the manager's transaction and mails the residents after the commit.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..offices.impact import AffectedItem, AvailabilityChange, register_impact_provider
from ..offices.models import Office, Service
from .models import Appointment
from .models import AppointmentStatus as S
from .tokens import format_code

PROVIDER = "booking"


def _staff_lang() -> str:
    """The language of the page that shows the list (German outside a request)."""
    from flask import has_request_context
    from flask_babel import get_locale

    return str(get_locale() or "de") if has_request_context() else "de"


class BookingImpact:
    def affected(self, change: AvailabilityChange) -> list[AffectedItem]:
        now = clock.now()
        query = (
            select(Appointment, Office)
            .join(Office, Office.id == Appointment.office_id)
            .where(Appointment.status.in_([S.CONFIRMED, S.PENDING]), Appointment.start >= now)
        )
        if change.office_ids is not None:
            query = query.where(Appointment.office_id.in_(change.office_ids))
        days = set(change.days)
        lang = _staff_lang()
        names = {
            s.code: s.name(lang) for s in db.session.scalars(select(Service))
        }  # "Online-Ausweis aktivieren", not "EID"
        items = []
        for appointment, office in db.session.execute(query).all():
            local = appointment.start.astimezone(ZoneInfo(office.timezone or "Europe/Berlin"))
            if local.date() not in days or not change.concerns_services(appointment.service_codes):
                continue
            if change.still_open and change.still_open(
                office.id, appointment.start, appointment.end
            ):
                continue
            code = format_code(appointment.code) if appointment.code else "–"
            items.append(
                AffectedItem(
                    provider=PROVIDER,
                    key=str(appointment.id),
                    office_id=office.id,
                    starts_at=appointment.start,
                    summary=f"{format_datetime(local, 'EEE dd.MM.yyyy HH:mm', locale=lang)} · "
                    f"{office.name} · "
                    f"{', '.join(names.get(c, c) for c in appointment.service_codes)} · {code}",
                    notifiable=bool(appointment.email),
                )
            )
        return items

    def apply(self, change: AvailabilityChange, items: list[AffectedItem], *, notify: bool) -> None:
        from .services import cancel_for_closure

        for item in items:
            cancel_for_closure(int(item.key), change.reason, notify=notify)


register_impact_provider(PROVIDER, BookingImpact())
