"""State changes of the live queue: one function per action, each one unit of work.

Every function takes plain values and the acting ``User`` (keyword-only ``actor``) (checked against the ticket's office),
runs in ``run_in_transaction`` (BEGIN IMMEDIATE on SQLite; row locks on PostgreSQL), publishes
through ``realtime.publish`` (emitted after the commit) and returns the ticket's staff view.
This module is the one to import: issuing lives in ``issuing.py``, calling and counters in
``calling.py``, read-only views in ``reads.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..auth.models import User
from ..db import run_in_transaction
from ..errors import N_, InvalidTransition, UnknownService, ValidationFailed
from ..offices import calendar
from ..offices.models import Counter, OfficeService
from ..offices.services import get_office, get_service
from ..realtime import publish
from . import lifecycle, payloads, reads
from .calling import call_next, call_ticket, close_counter, open_counter, pause_counter
from .changes import (
    ensure_today,
    lock_ticket,
    placement_from,
    publish_ticket,
    publish_waiting,
    staff_id,
    view_of,
)
from .estimates import Estimate
from .issuing import issue_ticket
from .models import ACTIVE_AT_COUNTER, CounterState, CounterStatus, Placement, Ticket


def _on_ticket(token: str, actor: User | None, lang: str, change: Callable) -> dict:
    """Lock the ticket, check the actor's office, run ``change``; return the staff view.

    ``change(session, ticket, user_id, now)`` may return the ticket's new Estimate.
    """

    def work(session) -> dict:
        ticket = lock_ticket(session, token)
        user_id = staff_id(actor, ticket.office)
        estimate = change(session, ticket, user_id, clock.now())
        return view_of(ticket, lang, estimate)

    return run_in_transaction(work)


# ---------------------------------------------------------------- ticket actions


def recall_ticket(token: str, *, actor: User, lang: str = "de") -> dict:
    """Call the same ticket again (the display shows it anew; the count goes up)."""

    def change(session, ticket, user_id, now):
        lifecycle.apply(
            session,
            ticket,
            "recall",
            now=now,
            counter_id=ticket.counter_id,
            user_id=user_id,
            details={"recall": ticket.recall_count + 1},
        )
        ticket.recall_count += 1
        publish.ticket_called(ticket.office.slug, payloads.called_event(ticket))
        publish_ticket(ticket, Estimate(0, 0))

    return _on_ticket(token, actor, lang, change)


def start_serving(token: str, *, actor: User, lang: str = "de") -> dict:
    """The visitor has arrived at the counter."""

    def change(session, ticket, user_id, now):
        # its one numbered event is the queue_updated: its seq reserved by the UPDATE
        seq = lifecycle.apply(
            session,
            ticket,
            "start",
            now=now,
            counter_id=ticket.counter_id,
            user_id=user_id,
            columns={},
            reserve_seq=True,
        )
        publish_ticket(ticket, Estimate(0, 0), seq=seq)

    return _on_ticket(token, actor, lang, change)


def finish_ticket(
    token: str, *, actor: User, performed_service_code: str | None = None, lang: str = "de"
) -> dict:
    """Done; records the service actually performed (default: the ticket's service)."""
    performed = None
    if performed_service_code:
        try:
            performed = get_service(performed_service_code)
        except UnknownService as exc:
            raise ValidationFailed(
                exc.message, field="performed_service", params=exc.params
            ) from exc

    def change(session, ticket, user_id, now):
        service = performed or ticket.service
        seq = lifecycle.apply(
            session,
            ticket,
            "finish",
            now=now,
            counter_id=ticket.counter_id,
            user_id=user_id,
            details={"performed_service": service.code},
            columns={"performed_service_id": service.id},
            reserve_seq=True,  # its one numbered event is the queue_updated, as for start
        )
        set_committed_value(ticket, "performed_service", service)  # as stored now, for the view
        publish_ticket(ticket, seq=seq)

    return _on_ticket(token, actor, lang, change)


def mark_no_show(token: str, *, actor: User, lang: str = "de") -> dict:
    """The called visitor did not come, after at least NO_SHOW_AFTER_RECALLS recalls."""

    def change(session, ticket, user_id, now):
        lifecycle.check(ticket, "no_show")
        needed = payloads.no_show_after_recalls()
        if ticket.recall_count < needed:
            raise InvalidTransition(
                N_(
                    "Recall %(number)s at least %(needed)s times before marking it as a no-show "
                    "(recalled %(count)s times so far)."
                ),
                params={"number": ticket.number, "needed": needed, "count": ticket.recall_count},
                reason="recall_first",
                recalls_needed=needed,
                recall_count=ticket.recall_count,
            )
        lifecycle.apply(
            session,
            ticket,
            "no_show",
            now=now,
            counter_id=ticket.counter_id,
            user_id=user_id,
            details={"recalls": ticket.recall_count},
        )
        publish.call_withdrawn(ticket.office.slug, ticket.number, "no_show")
        publish_ticket(ticket)

    return _on_ticket(token, actor, lang, change)


def park_ticket(token: str, *, actor: User, lang: str = "de") -> dict:
    """Set a ticket aside (e.g. the visitor fetches a document); frees the counter."""

    def change(session, ticket, user_id, now):
        was_at_counter = ticket.status in ACTIVE_AT_COUNTER
        lifecycle.apply(
            session, ticket, "park", now=now, counter_id=ticket.counter_id, user_id=user_id
        )
        ticket.counter = None
        if was_at_counter:
            publish.call_withdrawn(ticket.office.slug, ticket.number, "parked")
        publish_ticket(ticket)

    return _on_ticket(token, actor, lang, change)


def unpark_ticket(
    token: str, *, actor: User, position: str | None = None, lang: str = "de"
) -> dict:
    """Put a parked ticket back into the queue, at the front (default) or the back."""
    placement = placement_from(position, Placement.FRONT)

    def change(session, ticket, user_id, now):
        ensure_today(ticket, "queued again")
        lifecycle.apply(
            session,
            ticket,
            "unpark",
            now=now,
            user_id=user_id,
            details={"position": placement.value},
        )
        ticket.placement, ticket.queued_at = placement, now
        return publish_waiting(session, ticket)

    return _on_ticket(token, actor, lang, change)


def transfer_ticket(
    token: str,
    *,
    actor: User,
    service_code: str | None = None,
    counter_number: int | None = None,
    position: str | None = None,
    lang: str = "de",
) -> dict:
    """Send a ticket to another service and/or counter, keeping its number; front or back."""
    placement = placement_from(position, Placement.BACK)
    if not service_code and counter_number is None:
        raise ValidationFailed(
            N_("Name the service or the counter to transfer to."), field="service"
        )

    def change(session, ticket, user_id, now):
        ensure_today(ticket, "transferred")
        office = ticket.office
        details = {
            "position": placement.value,
            "from_service": ticket.service.code,
            "from_counter": ticket.counter.number if ticket.counter else None,
        }
        lifecycle.check(ticket, "transfer")
        if ticket.status in ACTIVE_AT_COUNTER:
            publish.call_withdrawn(office.slug, ticket.number, "transferred")
        if service_code:
            try:
                service = get_service(service_code)
            except UnknownService as exc:
                raise ValidationFailed(exc.message, field="service", params=exc.params) from exc
            if session.get(OfficeService, (office.id, service.id)) is None:
                raise ValidationFailed(
                    N_("%(office)s does not offer %(code)s."),
                    params={"office": office.name, "code": service.code},
                    field="service",
                )
            ticket.service = service
            details["to_service"] = service.code
        target = None
        if counter_number is not None:
            try:
                target = reads.find_counter(office, int(counter_number))
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(
                    N_("A counter is given by its number."), field="counter"
                ) from exc
            details["to_counter"] = target.number
        lifecycle.apply(
            session,
            ticket,
            "transfer",
            now=now,
            counter_id=ticket.counter_id,
            user_id=user_id,
            details=details,
        )
        ticket.counter = None
        ticket.target_counter = target
        ticket.transferred = True
        ticket.placement, ticket.queued_at = placement, now
        return publish_waiting(session, ticket)

    return _on_ticket(token, actor, lang, change)


def cancel_ticket(token: str, *, actor: User | None = None, lang: str = "de") -> dict:
    """Cancel a ticket: by staff (``actor``), or by the visitor holding the token (no actor)."""

    def work(session) -> dict:
        now = clock.now()
        ticket = lock_ticket(session, token)
        user_id = staff_id(actor, ticket.office) if actor is not None else None
        lifecycle.apply(
            session,
            ticket,
            "cancel",
            now=now,
            counter_id=ticket.counter_id,
            user_id=user_id,
            details={"by": "staff" if user_id else "visitor"},
        )
        publish_ticket(ticket)
        return view_of(ticket, lang)

    return run_in_transaction(work)


# ---------------------------------------------------------------- end of day


def close_day(office_slug: str, reason: str | None = None, *, actor: User | None = None) -> int:
    """Close the office's queue: every open ticket of today or earlier becomes not_served with
    ``reason`` and every counter closes. Nothing is deleted. Returns the number of tickets."""
    reason = (reason or "Office closed for the day").strip()[:200]

    def work(session) -> int:
        now = clock.now()
        office = get_office(office_slug)
        user_id = staff_id(actor, office) if actor is not None else None
        counter_ids = select(Counter.id).where(Counter.office_id == office.id)
        session.execute(
            update(CounterState)
            .where(CounterState.counter_id.in_(counter_ids))
            .values(status=CounterStatus.CLOSED, user_id=None, changed_at=now)
        )
        day = calendar.office_local_today(office)
        open_tickets = session.scalars(
            select(Ticket)
            .where(
                Ticket.office_id == office.id,
                Ticket.business_date <= day,
                Ticket.status.in_(lifecycle.TRANSITIONS["close"].sources),
            )
            .order_by(Ticket.id)
            .with_for_update(of=Ticket)
        ).all()
        for ticket in open_tickets:
            lifecycle.apply(
                session,
                ticket,
                "close",
                now=now,
                counter_id=ticket.counter_id,
                user_id=user_id,
                details={"reason": reason},
            )
            ticket.closed_reason = reason
            publish.ticket_updated(ticket.token, payloads.public_view(ticket, None))
        publish.queue_changed(office.slug)
        return len(open_tickets)

    return run_in_transaction(work)


__all__ = [
    "issue_ticket",
    "call_next",
    "call_ticket",
    "recall_ticket",
    "start_serving",
    "finish_ticket",
    "mark_no_show",
    "park_ticket",
    "unpark_ticket",
    "transfer_ticket",
    "cancel_ticket",
    "open_counter",
    "pause_counter",
    "close_counter",
    "close_day",
]
