"""The booking settings of the running app as one typed value (read from app.config)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from flask import current_app


@dataclass(frozen=True)
class BookingSettings:
    window_days: int
    release_time: time
    min_lead: timedelta
    unit: timedelta
    grid: timedelta
    max_services: int
    max_persons: int
    double_opt_in: bool
    hold: timedelta
    confirm: timedelta
    release_delay: timedelta
    max_active_per_email: int
    checkin_early: timedelta
    checkin_late: timedelta


def current() -> BookingSettings:
    cfg = current_app.config
    unit = int(cfg["BOOKING_UNIT_MINUTES"])
    grid = int(cfg["BOOKING_SLOT_GRID_MINUTES"])
    if unit <= 0 or grid <= 0 or grid % unit:
        raise ValueError(
            "BOOKING_SLOT_GRID_MINUTES must be a positive multiple of BOOKING_UNIT_MINUTES"
        )
    return BookingSettings(
        window_days=int(cfg["BOOKING_WINDOW_DAYS"]),
        release_time=time.fromisoformat(cfg["BOOKING_RELEASE_TIME"]),
        min_lead=timedelta(minutes=int(cfg["BOOKING_MIN_LEAD_MINUTES"])),
        unit=timedelta(minutes=unit),
        grid=timedelta(minutes=grid),
        max_services=int(cfg["BOOKING_MAX_SERVICES"]),
        max_persons=int(cfg["BOOKING_MAX_PERSONS"]),
        double_opt_in=bool(cfg["BOOKING_DOUBLE_OPT_IN"]),
        hold=timedelta(minutes=int(cfg["HOLD_MINUTES"])),
        confirm=timedelta(minutes=int(cfg["CONFIRM_MINUTES"])),
        release_delay=timedelta(minutes=int(cfg["RELEASE_DELAY_MINUTES"])),
        max_active_per_email=int(cfg["MAX_ACTIVE_APPOINTMENTS_PER_EMAIL"]),
        checkin_early=timedelta(minutes=int(cfg["CHECKIN_EARLY_MINUTES"])),
        checkin_late=timedelta(minutes=int(cfg["CHECKIN_LATE_MINUTES"])),
    )
