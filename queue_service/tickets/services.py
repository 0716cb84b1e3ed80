"""State changes of the live queue: one function per action, each one unit of work.

Every function takes plain values and the acting ``User`` (checked against the ticket's office),
runs in ``run_in_transaction`` (BEGIN IMMEDIATE on SQLite; row locks on PostgreSQL), publishes
through ``realtime.publish`` (emitted after the commit) and returns the ticket's staff view.
Issuing lives in ``issuing.py``; read-only views in ``reads.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from .. import clock
from ..auth.models import User
from ..auth.services import require_office_access
from ..db import run_in_transaction
from ..errors import Conflict, InvalidTransition, NotFound, UnknownService, ValidationFailed
from ..offices import calendar
from ..offices.models import Counter, Office, OfficeService, counter_services
from ..offices.services import get_office, get_service
from ..realtime import publish
from . import estimates, lifecycle, numbering, ordering, reads, views
from .estimates import Estimate
from .issuing import issue_ticket  # noqa: F401  (part of this module's public surface)
from .models import (
    ACTIVE_AT_COUNTER,
    CounterState,
    CounterStatus,
    Placement,
    Ticket,
)

# ---------------------------------------------------------------- helpers


_WITH_VIEW = (
    joinedload(Ticket.office, innerjoin=True),
    joinedload(Ticket.service, innerjoin=True),
    joinedload(Ticket.counter),
)


def _lock_ticket(session, token: str) -> Ticket:
    """The ticket, locked (FOR UPDATE on PostgreSQL), with what its view shows."""
    ticket = session.scalar(
        select(Ticket).options(*_WITH_VIEW).where(Ticket.token == token)
        .with_for_update(of=Ticket).execution_options(populate_existing=True)
    ) if token else None
    if ticket is None:
        raise NotFound("There is no ticket with this code.")
    return ticket


def _lock_counter_state(session, counter: Counter, now: datetime) -> CounterState:
    """The counter's state row, locked: one call or state change per counter at a time."""
    locked = select(CounterState).where(CounterState.counter_id == counter.id).with_for_update()
    state = session.scalar(locked.execution_options(populate_existing=True))
    if state is None:
        session.execute(
            numbering.upsert(session, CounterState)
            .values(counter_id=counter.id, status=CounterStatus.CLOSED, changed_at=now)
            .on_conflict_do_nothing(index_elements=[CounterState.counter_id])
        )
        state = session.scalar(locked.execution_options(populate_existing=True))
    return state


def _service_ids(session, counter: Counter) -> list[int]:
    return list(session.scalars(
        select(counter_services.c.service_id).where(counter_services.c.counter_id == counter.id)))


def _current(session, counter: Counter) -> Ticket | None:
    return session.scalar(
        select(Ticket).where(Ticket.counter_id == counter.id, Ticket.status.in_(ACTIVE_AT_COUNTER))
    )


def _ensure_free(session, counter: Counter) -> None:
    current = _current(session, counter)
    if current is not None:
        raise Conflict(
            f"{counter.display_name} still has {current.number} ({current.status.value}). Finish "
            "it, park it, transfer it or mark it as a no-show first.",
            reason="counter_busy", ticket=current.number,
        )


def _ensure_today(ticket: Ticket, what: str) -> None:
    if ticket.business_date != calendar.office_local_today(ticket.office):
        raise InvalidTransition(
            f"Ticket {ticket.number} is from {ticket.business_date.isoformat()}; only today's "
            f"tickets can be {what}.",
            reason="not_today",
        )


def _staff(user: User | None, office: Office) -> int:
    require_office_access(user, office)
    return user.id


def _publish_ticket(ticket: Ticket, estimate: Estimate | None = None) -> None:
    publish.queue_changed(ticket.office.slug)
    publish.ticket_updated(ticket.token, views.public_view(ticket, estimate))


def _publish_waiting(session, ticket: Ticket) -> Estimate | None:
    """After a ticket went back to waiting: its new position goes to its status page."""
    session.flush()
    estimate = estimates.snapshot(ticket.office, clock.now()).estimate_for(ticket)
    _publish_ticket(ticket, estimate)
    return estimate


def _position(value: str | Placement | None, default: Placement) -> Placement:
    if value is None or value == "":
        return default
    try:
        return Placement(value)
    except ValueError as exc:
        raise ValidationFailed('Position is "front" or "back".', field="position") from exc


def _view(ticket: Ticket, lang: str, estimate: Estimate | None = None) -> dict:
    """The staff view, built inside the transaction (no reloading after the commit)."""
    return views.staff_view(ticket, estimate or reads.fixed_estimate(ticket), lang)


def _on_ticket(token: str, user: User | None, lang: str, change: Callable) -> dict:
    """Lock the ticket, check the user's office, run ``change``; return the staff view.

    ``change(session, ticket, user_id, now)`` may return the ticket's new Estimate.
    """

    def work(session) -> dict:
        ticket = _lock_ticket(session, token)
        user_id = _staff(user, ticket.office)
        estimate = change(session, ticket, user_id, clock.now())
        return _view(ticket, lang, estimate)

    return run_in_transaction(work)


# ---------------------------------------------------------------- calling


def _call(session, ticket: Ticket, counter: Counter, user_id: int, now: datetime, how: str) -> None:
    waited = views.minutes_between(ticket.queued_at, now)
    lifecycle.apply(session, ticket, "call", now=now, counter_id=counter.id, user_id=user_id,
                    details={"how": how, "service": ticket.service.code, "waited_minutes": waited})
    ticket.counter = counter
    ticket.target_counter = None
    ticket.placement = None
    ticket.recall_count = 0
    publish.ticket_called(ticket.office.slug, views.called_event(ticket))
    _publish_ticket(ticket, Estimate(0, 0))


def _open_for(state: CounterState, user_id: int, now: datetime) -> None:
    if state.status != CounterStatus.OPEN or state.user_id != user_id:
        state.status, state.user_id, state.changed_at = CounterStatus.OPEN, user_id, now


@lru_cache(maxsize=8)
def _next_ticket_stmt(weights: ordering.Weights):
    """The next waiting ticket a counter may call, locked; other counters skip it meanwhile."""
    return (
        select(Ticket)
        .options(joinedload(Ticket.service, innerjoin=True))
        .where(Ticket.office_id == bindparam("office_id"), Ticket.business_date == bindparam("day"),
               ordering.eligible(bindparam("counter_id"), bindparam("service_ids", expanding=True)))
        .order_by(*ordering.rank(weights))
        .limit(1)
        .with_for_update(skip_locked=True, of=Ticket)
        .execution_options(populate_existing=True)
    )


def call_next(office_slug: str, counter_number: int, user: User, lang: str = "de") -> dict | None:
    """Call the next ticket this counter can serve (None when nobody waits for it).

    The counter's state row is locked first (one call per counter at a time), then the next
    ticket with ``FOR UPDATE SKIP LOCKED``: two counters calling at once never get the same
    ticket. Calling opens the counter for ``user`` if it was closed or paused.
    """

    def work(session) -> dict | None:
        now = clock.now()
        office = get_office(office_slug)
        user_id = _staff(user, office)
        counter = reads.find_counter(office, counter_number)
        state = _lock_counter_state(session, counter, now)
        _ensure_free(session, counter)
        _open_for(state, user_id, now)
        params = {"office_id": office.id, "day": calendar.office_local_today(office),
                  "counter_id": counter.id, "service_ids": _service_ids(session, counter),
                  **ordering.rank_params(now)}
        ticket = session.scalar(_next_ticket_stmt(estimates.ageing_weights()), params)
        if ticket is None:
            return None
        _call(session, ticket, counter, user_id, now, "next")
        return _view(ticket, lang)

    return run_in_transaction(work)


def call_ticket(
    office_slug: str,
    counter_number: int,
    user: User,
    *,
    token: str | None = None,
    number: str | None = None,
    lang: str = "de",
) -> dict:
    """Call one ticket out of order (by token, or by today's number), waiting or parked."""
    if not token and not number:
        raise ValidationFailed("Name the ticket by its token or its number.", field="number")

    def work(session) -> dict:
        now = clock.now()
        office = get_office(office_slug)
        user_id = _staff(user, office)
        counter = reads.find_counter(office, counter_number)
        state = _lock_counter_state(session, counter, now)
        _ensure_free(session, counter)
        if token:
            ticket = _lock_ticket(session, token)
        else:
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.office_id == office.id, Ticket.number == str(number).strip().upper(),
                       Ticket.business_date == calendar.office_local_today(office))
                .with_for_update(of=Ticket).execution_options(populate_existing=True)
            )
            if ticket is None:
                raise ValidationFailed(f"There is no ticket {number} today.", field="number")
        if ticket.office_id != office.id:
            raise ValidationFailed(f"Ticket {ticket.number} belongs to another office.", field="token")
        _ensure_today(ticket, "called")
        lifecycle.check(ticket, "call")
        _open_for(state, user_id, now)
        _call(session, ticket, counter, user_id, now, "out_of_order")
        return _view(ticket, lang)

    return run_in_transaction(work)


def recall_ticket(token: str, user: User, lang: str = "de") -> dict:
    """Call the same ticket again (the display shows it anew; the count goes up)."""

    def change(session, ticket, user_id, now):
        lifecycle.apply(session, ticket, "recall", now=now, counter_id=ticket.counter_id,
                        user_id=user_id, details={"recall": ticket.recall_count + 1})
        ticket.recall_count += 1
        publish.ticket_called(ticket.office.slug, views.called_event(ticket))
        _publish_ticket(ticket, Estimate(0, 0))

    return _on_ticket(token, user, lang, change)


def start_serving(token: str, user: User, lang: str = "de") -> dict:
    """The visitor has arrived at the counter."""

    def change(session, ticket, user_id, now):
        lifecycle.apply(session, ticket, "start", now=now, counter_id=ticket.counter_id, user_id=user_id)
        _publish_ticket(ticket, Estimate(0, 0))

    return _on_ticket(token, user, lang, change)


def finish_ticket(token: str, user: User, performed_service_code: str | None = None,
                  lang: str = "de") -> dict:
    """Done; records the service actually performed (default: the ticket's service)."""
    performed = None
    if performed_service_code:
        try:
            performed = get_service(performed_service_code)
        except UnknownService as exc:
            raise ValidationFailed(exc.detail, field="performed_service") from exc

    def change(session, ticket, user_id, now):
        service = performed or ticket.service
        lifecycle.apply(session, ticket, "finish", now=now, counter_id=ticket.counter_id,
                        user_id=user_id, details={"performed_service": service.code})
        ticket.performed_service_id = service.id
        _publish_ticket(ticket)

    return _on_ticket(token, user, lang, change)


def mark_no_show(token: str, user: User, lang: str = "de") -> dict:
    """The called visitor did not come, after at least NO_SHOW_AFTER_RECALLS recalls."""

    def change(session, ticket, user_id, now):
        lifecycle.check(ticket, "no_show")
        needed = views.no_show_after_recalls()
        if ticket.recall_count < needed:
            raise InvalidTransition(
                f"Recall {ticket.number} at least {needed} times before marking it as a no-show "
                f"(recalled {ticket.recall_count} times so far).",
                reason="recall_first", recalls_needed=needed, recall_count=ticket.recall_count,
            )
        lifecycle.apply(session, ticket, "no_show", now=now, counter_id=ticket.counter_id,
                        user_id=user_id, details={"recalls": ticket.recall_count})
        _publish_ticket(ticket)

    return _on_ticket(token, user, lang, change)


def park_ticket(token: str, user: User, lang: str = "de") -> dict:
    """Set a ticket aside (e.g. the visitor fetches a document); frees the counter."""

    def change(session, ticket, user_id, now):
        lifecycle.apply(session, ticket, "park", now=now, counter_id=ticket.counter_id,
                        user_id=user_id)
        ticket.counter = None
        _publish_ticket(ticket)

    return _on_ticket(token, user, lang, change)


def unpark_ticket(token: str, user: User, position: str | None = None, lang: str = "de") -> dict:
    """Put a parked ticket back into the queue, at the front (default) or the back."""
    placement = _position(position, Placement.FRONT)

    def change(session, ticket, user_id, now):
        _ensure_today(ticket, "queued again")
        lifecycle.apply(session, ticket, "unpark", now=now, user_id=user_id,
                        details={"position": placement.value})
        ticket.placement, ticket.queued_at = placement, now
        return _publish_waiting(session, ticket)

    return _on_ticket(token, user, lang, change)


def transfer_ticket(
    token: str,
    user: User,
    *,
    service_code: str | None = None,
    counter_number: int | None = None,
    position: str | None = None,
    lang: str = "de",
) -> dict:
    """Send a ticket to another service and/or counter, keeping its number; front or back."""
    placement = _position(position, Placement.BACK)
    if not service_code and counter_number is None:
        raise ValidationFailed("Name the service or the counter to transfer to.", field="service")

    def change(session, ticket, user_id, now):
        _ensure_today(ticket, "transferred")
        office = ticket.office
        details = {"position": placement.value, "from_service": ticket.service.code,
                   "from_counter": ticket.counter.number if ticket.counter else None}
        lifecycle.check(ticket, "transfer")
        if service_code:
            try:
                service = get_service(service_code)
            except UnknownService as exc:
                raise ValidationFailed(exc.detail, field="service") from exc
            if session.get(OfficeService, (office.id, service.id)) is None:
                raise ValidationFailed(f"{office.name} does not offer {service.code}.", field="service")
            ticket.service = service
            details["to_service"] = service.code
        target = None
        if counter_number is not None:
            try:
                target = reads.find_counter(office, int(counter_number))
            except (TypeError, ValueError) as exc:
                raise ValidationFailed("A counter is given by its number.", field="counter") from exc
            details["to_counter"] = target.number
        lifecycle.apply(session, ticket, "transfer", now=now, counter_id=ticket.counter_id,
                        user_id=user_id, details=details)
        ticket.counter = None
        ticket.target_counter = target
        ticket.transferred = True
        ticket.placement, ticket.queued_at = placement, now
        return _publish_waiting(session, ticket)

    return _on_ticket(token, user, lang, change)


def cancel_ticket(token: str, user: User | None = None, lang: str = "de") -> dict:
    """Cancel a ticket: by staff (``user``), or by the visitor holding the token (no user)."""

    def work(session) -> dict:
        now = clock.now()
        ticket = _lock_ticket(session, token)
        user_id = _staff(user, ticket.office) if user is not None else None
        lifecycle.apply(session, ticket, "cancel", now=now, counter_id=ticket.counter_id,
                        user_id=user_id, details={"by": "staff" if user_id else "visitor"})
        _publish_ticket(ticket)
        return _view(ticket, lang)

    return run_in_transaction(work)


# ---------------------------------------------------------------- counters


def _set_counter(office_slug: str, counter_number: int, user: User, status: CounterStatus,
                 lang: str) -> dict:
    def work(session) -> None:
        now = clock.now()
        office = get_office(office_slug)
        user_id = _staff(user, office)
        counter = reads.find_counter(office, counter_number)
        state = _lock_counter_state(session, counter, now)
        if status == CounterStatus.CLOSED:
            _ensure_free(session, counter)
        if state.status != status or (status != CounterStatus.CLOSED and state.user_id != user_id):
            state.status, state.changed_at = status, now
            state.user_id = None if status == CounterStatus.CLOSED else user_id
            publish.queue_changed(office.slug)

    run_in_transaction(work)
    return reads.counter_overview(office_slug, counter_number, user, lang)


def open_counter(office_slug: str, counter_number: int, user: User, lang: str = "de") -> dict:
    """``user`` works at this counter now and takes tickets."""
    return _set_counter(office_slug, counter_number, user, CounterStatus.OPEN, lang)


def pause_counter(office_slug: str, counter_number: int, user: User, lang: str = "de") -> dict:
    """A break: no new tickets; a ticket already at the counter may be finished."""
    return _set_counter(office_slug, counter_number, user, CounterStatus.PAUSED, lang)


def close_counter(office_slug: str, counter_number: int, user: User, lang: str = "de") -> dict:
    """End of work at this counter (refused while a ticket is still called or served there)."""
    return _set_counter(office_slug, counter_number, user, CounterStatus.CLOSED, lang)


# ---------------------------------------------------------------- end of day


def close_day(office_slug: str, reason: str | None = None, user: User | None = None) -> int:
    """Close the office's queue: every open ticket of today or earlier becomes not_served with
    ``reason`` and every counter closes. Nothing is deleted. Returns the number of tickets."""
    reason = (reason or "Office closed for the day").strip()[:200]

    def work(session) -> int:
        now = clock.now()
        office = get_office(office_slug)
        user_id = _staff(user, office) if user is not None else None
        counter_ids = select(Counter.id).where(Counter.office_id == office.id)
        session.execute(
            update(CounterState).where(CounterState.counter_id.in_(counter_ids))
            .values(status=CounterStatus.CLOSED, user_id=None, changed_at=now)
        )
        day = calendar.office_local_today(office)
        open_tickets = session.scalars(
            select(Ticket)
            .where(Ticket.office_id == office.id, Ticket.business_date <= day,
                   Ticket.status.in_(lifecycle.TRANSITIONS["close"].sources))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket)
        ).all()
        for ticket in open_tickets:
            lifecycle.apply(session, ticket, "close", now=now, counter_id=ticket.counter_id,
                            user_id=user_id, details={"reason": reason})
            ticket.closed_reason = reason
            publish.ticket_updated(ticket.token, views.public_view(ticket, None))
        publish.queue_changed(office.slug)
        return len(open_tickets)

    return run_in_transaction(work)


__all__ = [
    "issue_ticket", "call_next", "call_ticket", "recall_ticket", "start_serving",
    "finish_ticket", "mark_no_show", "park_ticket", "unpark_ticket", "transfer_ticket",
    "cancel_ticket", "open_counter", "pause_counter", "close_counter", "close_day",
]
