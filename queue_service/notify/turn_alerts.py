"""Turn alerts: a waiting visitor may leave the building and be alerted when at most N people
are ahead (docs/notify.md).

The phone status page alerts by itself (it knows the position live); this module stores the
visitor's choice and, for those who gave an address, writes one mail into the outbox when the
position has come down to N. The mail goes out at most once per ticket: the alert row is
claimed with a conditional UPDATE (``mailed_at IS NULL``, the ticket still waiting) in the same
transaction that writes the outbox row, so two runs at once (two scheduler processes, a run
overlapping the next) cannot both win. The address is personal data: it is cleared when the
mail is written, when the visitor removes the alert, and nightly for past days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select, update

from .. import clock
from ..db import run_in_transaction, unit_of_work
from ..errors import N_, InvalidTransition, NotFound, ValidationFailed
from ..extensions import db
from ..offices.models import Office
from ..tickets import estimates, numbering
from ..tickets.models import Ticket, TicketStatus
from . import outbox
from .models import TurnAlert
from .turn_alert_mail import build

AHEAD_CHOICES = tuple(range(1, 11))
DEFAULT_AHEAD = 3
# an alert can be set while the ticket may still be called
OPEN_STATUSES = (TicketStatus.WAITING, TicketStatus.PARKED)
MAIL_KIND = "turn_alert"


@dataclass(frozen=True)
class AlertView:
    """What the status page shows of a ticket's alert (never the address itself)."""

    ahead: int
    has_email: bool  # an address is stored and the mail not yet written
    mailed: bool  # the mail has been written (it is sent at most once)


def _ticket(session, token: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.token == token)) if token else None
    if ticket is None:
        raise NotFound(N_("There is no ticket with this code."))
    return ticket


def _ahead(value) -> int:
    try:
        ahead = int(str(value).strip())
    except (TypeError, ValueError):
        ahead = 0
    if ahead not in AHEAD_CHOICES:
        raise ValidationFailed(N_("Please choose from 1 to 10 people."), field="ahead")
    return ahead


# the booking's rule for an address (booking/services.py); notify does not import booking,
# which sends its mails through notify
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def _email(value: str | None, consent: bool) -> str | None:
    email = (value or "").strip().lower()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed(
            N_("Please enter a valid e-mail address, e.g. name@example.org."), field="email"
        )
    if not consent:
        raise ValidationFailed(
            N_("Please agree to the use of your e-mail address for this alert."), field="consent"
        )
    return email


def _lock(session, ticket: Ticket, lang: str) -> TurnAlert:
    """The ticket's alert row, created if missing, locked (two submits at once stay one row)."""
    session.execute(
        numbering.upsert(session, TurnAlert)
        .values(
            ticket_id=ticket.id,
            ahead=DEFAULT_AHEAD,
            active=False,
            email=None,
            lang=lang,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=[TurnAlert.ticket_id])
    )
    return session.scalar(
        select(TurnAlert)
        .where(TurnAlert.ticket_id == ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _view(alert: TurnAlert | None) -> AlertView | None:
    if alert is None or not alert.active:
        return None
    return _view_of(alert)


def _view_of(alert: TurnAlert) -> AlertView:
    return AlertView(alert.ahead, alert.email is not None, alert.mailed_at is not None)


def set_turn_alert(
    token: str, ahead, email: str | None = None, consent: bool = False, lang: str = "de"
) -> AlertView:
    """Alert the holder of ``token`` when at most ``ahead`` people are before them; with
    ``email`` (and ``consent``) also by one mail. Setting it again replaces the choice; a mail
    already written is not written again."""
    ahead = _ahead(ahead)
    email = _email(email, consent)
    lang = (lang or "de")[:5]

    def work(session) -> AlertView:
        ticket = _ticket(session, token)
        if ticket.status not in OPEN_STATUSES or ticket.business_date != clock.today():
            raise InvalidTransition(
                N_("An alert can only be set while your ticket is waiting."),
                reason="not_waiting",
            )
        alert = _lock(session, ticket, lang)
        alert.ahead, alert.active, alert.lang = ahead, True, lang
        alert.email = email if alert.mailed_at is None else None
        return _view_of(alert)  # active: just set

    return run_in_transaction(work)


def remove_turn_alert(token: str) -> None:
    """No more alerts for this ticket; a stored address is deleted at once. The row stays, so
    that a mail already written is never written a second time."""

    def work(session) -> None:
        ticket = _ticket(session, token)
        session.execute(
            update(TurnAlert)
            .where(TurnAlert.ticket_id == ticket.id)
            .values(active=False, email=None)
            .execution_options(synchronize_session=False)
        )

    run_in_transaction(work)


def turn_alert_of(token: str) -> AlertView | None:
    """The ticket's alert as its status page shows it (None when none is set)."""
    ticket = _ticket(db.session, token)
    return _view(db.session.get(TurnAlert, ticket.id))


# ---------------------------------------------------------------- the mails


def _due_office_ids(day: date) -> list[int]:
    """Offices with waiting tickets of ``day`` whose alert still has a mail to write."""
    return list(
        db.session.scalars(
            select(Ticket.office_id)
            .join(TurnAlert, TurnAlert.ticket_id == Ticket.id)
            .where(
                Ticket.business_date == day,
                Ticket.status == TicketStatus.WAITING,
                TurnAlert.active.is_(True),
                TurnAlert.email.is_not(None),
                TurnAlert.mailed_at.is_(None),
            )
            .distinct()
            .order_by(Ticket.office_id)
        )
    )


def _claim(session, ticket_id: int, email: str) -> bool:
    """Mark the alert as mailed, and forget the address, unless another run did already or the
    ticket is no longer waiting (called, served, cancelled, closed). Exactly one can win."""
    still_waiting = exists().where(
        Ticket.id == TurnAlert.ticket_id, Ticket.status == TicketStatus.WAITING
    )
    return bool(
        session.execute(
            update(TurnAlert)
            .where(
                TurnAlert.ticket_id == ticket_id,
                TurnAlert.active.is_(True),
                TurnAlert.mailed_at.is_(None),
                TurnAlert.email == email,
                still_waiting,
            )
            .values(mailed_at=clock.now(), email=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _mail_office(session, office_id: int) -> int:
    office = session.get(Office, office_id)
    snap = estimates.snapshot(office, clock.now())
    rows = session.execute(
        select(TurnAlert.ticket_id, TurnAlert.ahead, TurnAlert.email, TurnAlert.lang)
        .join(Ticket, Ticket.id == TurnAlert.ticket_id)
        .where(
            Ticket.office_id == office_id,
            Ticket.business_date == snap.day,
            Ticket.status == TicketStatus.WAITING,
            TurnAlert.active.is_(True),
            TurnAlert.email.is_not(None),
            TurnAlert.mailed_at.is_(None),
        )
        .order_by(TurnAlert.ticket_id)
    ).all()
    written = 0
    for ticket_id, ahead, email, lang in rows:
        estimate = snap.estimates.get(ticket_id)
        if estimate is None or estimate.people_ahead > ahead:
            continue
        if _claim(session, ticket_id, email):
            ticket = session.get(Ticket, ticket_id)
            outbox.enqueue(build(ticket, estimate.people_ahead, email, lang), MAIL_KIND)
            written += 1
    return written


def send_turn_alert_mails() -> int:
    """Write the mail of every alert whose ticket has at most its N people ahead now (each
    office in its own transaction); returns the number of mails written. Run by the scheduler
    every minute; safe to run twice at once."""
    day = clock.today()
    office_ids = _due_office_ids(day)
    db.session.rollback()  # end the read: each office is its own unit of work
    return sum(run_in_transaction(_mail_office, office_id) for office_id in office_ids)


def purge_turn_alert_addresses(before: date) -> int:
    """DSGVO retention: addresses of alerts of tickets from days before ``before`` are deleted
    (an address is kept for its ticket's day at most)."""
    with unit_of_work() as session:
        past = select(Ticket.id).where(Ticket.business_date < before)
        return session.execute(
            update(TurnAlert)
            .where(TurnAlert.email.is_not(None), TurnAlert.ticket_id.in_(past))
            .values(email=None)
            .execution_options(synchronize_session=False)
        ).rowcount
