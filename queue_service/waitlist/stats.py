"""Waitlist figures for the statistics page: requests made, times offered, offers accepted, and
how many days earlier the residents who accepted got their appointment."""

from __future__ import annotations

import statistics
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from .. import clock
from ..extensions import db
from .models import OfferStatus, WaitlistOffer, WaitlistRequest


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(0), tzinfo=clock.LOCAL_TZ)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=clock.LOCAL_TZ)
    return start, end


def figures(office_ids: list[int], first: date, last: date) -> list[dict]:
    """One row per office (of ``office_ids``) with waitlist activity from ``first`` to ``last``
    (local days): requests made (for that office or any office), offers made, accepted,
    acceptance rate (per cent) and the median days gained by those who accepted."""
    start, end = _bounds(first, last)
    rows: dict[int | None, dict] = {}

    def row(office_id):
        return rows.setdefault(office_id, {"requests": 0, "offers": 0, "accepted": 0, "gained": []})

    for office_list in db.session.scalars(
        select(WaitlistRequest.office_ids).where(
            WaitlistRequest.created_at >= start, WaitlistRequest.created_at < end
        )
    ):
        for office_id in office_list or [None]:
            if office_id is None or office_id in office_ids:
                row(office_id)["requests"] += 1
    offers = db.session.execute(
        select(WaitlistOffer, WaitlistRequest.baseline_start)
        .join(WaitlistRequest, WaitlistOffer.request_id == WaitlistRequest.id)
        .where(
            WaitlistOffer.offered_at >= start,
            WaitlistOffer.offered_at < end,
            WaitlistOffer.office_id.in_(office_ids),
        )
    ).all()
    for offer, baseline in offers:
        figures_row = row(offer.office_id)
        figures_row["offers"] += 1
        if offer.status == OfferStatus.ACCEPTED:
            figures_row["accepted"] += 1
            if baseline is not None:
                figures_row["gained"].append(max(0.0, (baseline - offer.start) / timedelta(days=1)))
    result = []
    for office_id, values in rows.items():
        gained = values.pop("gained")
        values["acceptance_share"] = (
            round(100 * values["accepted"] / values["offers"], 1) if values["offers"] else None
        )
        values["days_gained_median"] = round(statistics.median(gained), 1) if gained else None
        result.append({"office_id": office_id, **values})
    return result
