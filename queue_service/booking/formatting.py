"""Dates and times in the resident's language, always in the office's time zone."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_time


def day_text(moment: date, lang: str) -> str:
    """e.g. "Donnerstag, 26. November 2026" / "Thursday, 26 November 2026"."""
    return format_date(moment, "EEEE, d. MMMM y" if lang == "de" else "EEEE, d MMMM y", locale=lang)


def short_day_text(moment: date, lang: str) -> str:
    return format_date(moment, "EEE, d. MMM" if lang == "de" else "EEE, d MMM", locale=lang)


def clock_text(moment: datetime, lang: str) -> str:
    """e.g. "08:05" (the moment is shown in its own time zone)."""
    return format_time(moment, "HH:mm", locale=lang)
