"""What a walk-in visitor can get at an office right now: the kiosk's start screen as data.

The same rules as ``issuing.issue_ticket`` (walk-in windows, closures, the mobile office's stop,
daily caps), read without a write transaction, so the kiosk can say "closed", "appointments
only" or "Ausgabe beendet" before anyone taps. Issuing still checks everything itself: a state
read here may be a minute old when the visitor taps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..offices import calendar
from ..offices.calendar import Window
from ..offices.models import MobileEvent, Office, OfficeService, Service, WindowKind
from ..offices.services import get_office
from . import estimates, forecast
from .models import DayCounter


class OfferState(enum.StrEnum):
    OPEN = "open"  # walk-in tickets now
    CLOSED = "closed"  # no opening window now (closure day, weekend, before or after hours)
    APPOINTMENTS_ONLY = "appointments_only"  # open for appointments, no walk-in window now
    CAP_REACHED = "cap_reached"  # "Ausgabe beendet": today's walk-in tickets are given out
    # the counters open now cannot serve another walk-in before closing (tickets/forecast.py)
    SERVED_OUT = "served_out"
    WALKINS_CLOSED = "walkins_closed"  # a manager stopped walk-in tickets for today, with a reason


@dataclass(frozen=True)
class ServiceOffer:
    """One walk-in service on the start screen."""

    service: Service
    available: bool  # False: its own daily cap is reached, or it cannot be served today
    people_ahead: int | None = None
    estimated_wait_minutes: int | None = None

    @property
    def code(self) -> str:
        return self.service.code

    @property
    def group(self) -> str:
        return self.service.group or "other"


@dataclass(frozen=True)
class WalkinOffer:
    office: Office
    state: OfferState
    now: datetime  # aware UTC
    closure: str | None = None  # why the office is closed all day (holiday or closure)
    walkin_until: datetime | None = None  # end of the current walk-in window
    next_opening: datetime | None = None  # while closed: the next window of either kind opens
    next_walkin: datetime | None = None  # while no walk-ins now: the next walk-in window opens
    next_walkin_day: datetime | None = None  # after "Ausgabe beendet": the first window after today
    appointments_today: bool = False  # an appointment window today (check-in makes sense)
    place: str | None = None  # the mobile office's stop now
    services: list[ServiceOffer] = field(default_factory=list)
    forecast: forecast.Forecast | None = None
    stopped_reason: str | None = None  # WALKINS_CLOSED: what the manager told visitors

    @property
    def available_services(self) -> list[ServiceOffer]:
        return [s for s in self.services if s.available]


def _current(windows: list[Window], now: datetime) -> Window | None:
    return next((w for w in windows if w.contains(now)), None)


def _next_start(office: Office, now: datetime, *kinds: WindowKind) -> datetime | None:
    starts = []
    for kind in kinds:
        window = calendar.next_opening(office, now, kind)
        if window is not None:
            starts.append(max(window.start, now))
    return min(starts, default=None)


def _walkin_services(
    office: Office, now: datetime, place_window: Window | None
) -> list[tuple[Service, int | None]]:
    rows = db.session.execute(
        select(Service, OfficeService.walkin_daily_cap)
        .join(OfficeService, OfficeService.service_id == Service.id)
        .where(OfficeService.office_id == office.id, Service.walk_in_allowed.is_(True))
        .order_by(Service.sort_order, Service.code)
    ).all()
    services = [(service, cap) for service, cap in rows]
    if office.is_mobile and place_window is not None:
        # at each stop only the services listed for that date (none listed: all)
        tz = calendar.office_tz(office)
        day = now.astimezone(tz).date()
        for event in db.session.scalars(
            select(MobileEvent).where(MobileEvent.office_id == office.id, MobileEvent.day == day)
        ):
            start = clock.local_to_utc(day, event.start_time, tz)
            end = clock.local_to_utc(day, event.end_time, tz)
            if start <= now < end and event.walk_in and event.services:
                listed = {s.id for s in event.services}
                services = [(s, cap) for s, cap in services if s.id in listed]
                break
    return services


def _issued_today(office: Office, day) -> dict[str, int]:
    rows = db.session.execute(
        select(DayCounter.name, DayCounter.value).where(
            DayCounter.office_id == office.id,
            DayCounter.business_date == day,
            DayCounter.name.like("walkins%"),
        )
    ).all()
    return dict(rows)


def walkin_offer(office_slug: str, now: datetime | None = None) -> WalkinOffer:
    """The kiosk start screen of ``office_slug`` at ``now``: state, next openings, services."""
    office = get_office(office_slug)
    now = now or clock.now()
    tz = calendar.office_tz(office)
    day = now.astimezone(tz).date()
    closure = calendar.closure_reason(office, day)
    walkin = calendar.windows(office, day, WindowKind.WALKIN)
    appointment = calendar.windows(office, day, WindowKind.APPOINTMENT)
    current_walkin = _current(walkin, now)
    common: dict[str, Any] = {
        "office": office,
        "now": now,
        "closure": closure,
        "appointments_today": bool(appointment),
    }

    if current_walkin is None:
        if _current(appointment, now) is not None:
            return WalkinOffer(
                state=OfferState.APPOINTMENTS_ONLY,
                next_walkin=_next_start(office, now, WindowKind.WALKIN),
                **common,
            )
        return WalkinOffer(
            state=OfferState.CLOSED,
            next_opening=_next_start(office, now, WindowKind.WALKIN, WindowKind.APPOINTMENT),
            next_walkin=_next_start(office, now, WindowKind.WALKIN),
            **common,
        )

    stopped = office.walkins_closed_reason_on(day)
    if stopped:
        return WalkinOffer(
            state=OfferState.WALKINS_CLOSED,
            walkin_until=current_walkin.end,
            next_walkin_day=_next_start(
                office,
                clock.local_to_utc(day + timedelta(days=1), time(0, 0), tz),
                WindowKind.WALKIN,
            ),
            place=current_walkin.place,
            stopped_reason=stopped,
            **common,
        )
    services = _walkin_services(office, now, current_walkin)
    issued = _issued_today(office, day)
    tomorrow = clock.local_to_utc(day + timedelta(days=1), time(0, 0), tz)
    next_day = _next_start(office, tomorrow, WindowKind.WALKIN)
    office_cap = office.walkin_daily_cap
    if office_cap is not None and issued.get("walkins", 0) >= office_cap:
        return WalkinOffer(
            state=OfferState.CAP_REACHED,
            walkin_until=current_walkin.end,
            next_walkin_day=next_day,
            place=current_walkin.place,
            **common,
        )
    snap = estimates.snapshot(office, now, open_now=True)
    outlook = forecast.day_forecast(office, now, snap)
    offers = []
    served_out = False
    for service, cap in services:
        available = cap is None or issued.get(f"walkins:{service.code}", 0) < cap
        if available and not outlook.can_take(snap.duration(service.id)):
            available, served_out = False, True
        estimate = snap.estimate_new(service.id) if available else None
        offers.append(
            ServiceOffer(
                service,
                available,
                estimate.people_ahead if estimate else None,
                estimate.minutes if estimate else None,
            )
        )
    if not offers:
        return WalkinOffer(
            state=OfferState.APPOINTMENTS_ONLY,
            next_walkin=_next_start(office, current_walkin.end, WindowKind.WALKIN),
            place=current_walkin.place,
            **common,
        )
    if any(o.available for o in offers):
        state = OfferState.OPEN
    else:
        state = OfferState.SERVED_OUT if served_out else OfferState.CAP_REACHED
    return WalkinOffer(
        state=state,
        forecast=outlook,
        walkin_until=current_walkin.end,
        next_walkin_day=next_day,
        place=current_walkin.place,
        services=offers,
        **common,
    )
