"""Satisfaction: one optional 1-5 rating and comment per ticket, after it is done.

The rating row holds office, service, day, score and comment only: no ticket, token or time of
day, so it cannot be traced back to a visit. A separate RatedTicket row (ticket id only) makes
"once per ticket" hold; the retention purge may delete it with the ticket.
"""

from __future__ import annotations

import re
from collections import Counter as Tally
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..db import unit_of_work
from ..errors import N_, Conflict, ValidationFailed
from ..extensions import db
from ..tickets.models import Ticket, TicketStatus
from ..tickets.reads import get_ticket
from .models import RatedTicket, Rating

MAX_COMMENT = 500
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)(\+|00)?\d[\d ()/.-]{5,}\d")


_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")


def scrub(comment: str) -> str:
    """Remove e-mail addresses and phone numbers (not dates like 26.11.2026) from a comment."""

    def phone(match: re.Match) -> str:
        return match.group(0) if _DATE.fullmatch(match.group(0).strip()) else "[…]"

    return _PHONE.sub(phone, _EMAIL.sub("[…]", comment))


def can_rate(ticket: Ticket) -> bool:
    return ticket.status == TicketStatus.DONE and db.session.get(RatedTicket, ticket.id) is None


def submit_rating(token: str, score, comment: str | None = None) -> None:
    """Store a rating for the done ticket behind ``token`` (once)."""
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationFailed(N_("Please choose from 1 to 5 stars."), field="score")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(
            N_("At most %(n)s characters, please."), field="comment", params={"n": MAX_COMMENT}
        )
    ticket = get_ticket(token)
    if ticket.status != TicketStatus.DONE:
        raise Conflict(N_("You can rate your visit once it is finished."))
    try:
        with unit_of_work() as session:
            if session.get(RatedTicket, ticket.id) is not None:
                raise Conflict(N_("This visit has already been rated. Thank you!"))
            session.add(RatedTicket(ticket_id=ticket.id))
            session.add(
                Rating(
                    office_id=ticket.office_id,
                    service_id=ticket.performed_service_id or ticket.service_id,
                    day=ticket.business_date,
                    score=score,
                    comment=scrub(comment) or None,
                )
            )
    except IntegrityError as exc:  # two submissions at once
        raise Conflict(N_("This visit has already been rated. Thank you!")) from exc


def rating_summary(office_ids: list[int], start: date, end: date, latest: int = 10) -> dict:
    """Average, distribution 1-5 and the latest comments of the offices in the range."""
    where = (Rating.office_id.in_(office_ids), Rating.day >= start, Rating.day <= end)
    scores = Tally(
        dict(
            db.session.execute(
                select(Rating.score, func.count()).where(*where).group_by(Rating.score)
            ).all()
        )
    )
    count = sum(scores.values())
    comments = db.session.execute(
        select(Rating.day, Rating.score, Rating.comment)
        .where(*where, Rating.comment.is_not(None))
        .order_by(Rating.day.desc(), Rating.id.desc())
        .limit(latest)
    ).all()
    return {
        "count": count,
        "average": round(sum(s * n for s, n in scores.items()) / count, 2) if count else None,
        "distribution": {s: scores.get(s, 0) for s in range(1, 6)},
        "comments": [{"day": d, "score": s, "comment": c} for d, s, c in comments],
    }
