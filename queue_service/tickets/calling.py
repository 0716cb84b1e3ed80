"""Counters: calling the next ticket (or one out of order) and opening, pausing, closing."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import BindParameter, bindparam, exists, select
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..auth.models import User
from ..db import run_in_transaction
from ..errors import N_, ValidationFailed
from ..offices import calendar
from ..offices.models import Counter
from ..offices.services import cached_office, get_office
from ..realtime import publish
from . import estimates, lifecycle, ordering, payloads, reads
from .changes import (
    counter_service_ids,
    ensure_counter_free,
    ensure_today,
    lock_counter_state,
    lock_ticket,
    publish_ticket,
    staff_id,
    view_of,
)
from .estimates import Estimate
from .models import CounterState, CounterStatus, Ticket, at_counter


def _call(session, ticket: Ticket, counter: Counter, user_id: int, now: datetime, how: str) -> None:
    waited = payloads.minutes_between(ticket.queued_at, now)
    lifecycle.apply(
        session,
        ticket,
        "call",
        now=now,
        counter_id=counter.id,
        user_id=user_id,
        details={"how": how, "service": ticket.service.code, "waited_minutes": waited},
        columns={
            "counter_id": counter.id,
            "target_counter_id": None,
            "placement": None,
            "recall_count": 0,
        },
    )
    # the relationships the views read, as stored now (no query, no flush)
    set_committed_value(ticket, "counter", counter)
    set_committed_value(ticket, "target_counter", None)
    publish.ticket_called(ticket.office.slug, payloads.called_event(ticket))
    publish_ticket(ticket, Estimate(0, 0))


def _open_for(state: CounterState, user_id: int, now: datetime) -> None:
    if state.status != CounterStatus.OPEN or state.user_id != user_id:
        state.status, state.user_id, state.changed_at = CounterStatus.OPEN, user_id, now


@lru_cache(maxsize=8)
def _next_ticket_stmt(weights: ordering.Weights):
    """The next waiting ticket a counter may call, locked (other counters skip it meanwhile),
    if the counter has none called or served now (its state row is locked before this)."""
    counter_id: BindParameter[int] = bindparam("counter_id")
    busy = aliased(Ticket, name="busy")
    return (
        select(Ticket)
        .options(joinedload(Ticket.service, innerjoin=True))
        .where(
            Ticket.office_id == bindparam("office_id"),
            Ticket.business_date == bindparam("day"),
            ordering.eligible(counter_id, bindparam("service_ids", expanding=True)),
            ~exists().where(at_counter(counter_id, busy)),
        )
        .order_by(*ordering.rank(weights))
        .limit(1)
        .with_for_update(skip_locked=True, of=Ticket)
        .execution_options(populate_existing=True)
    )


def call_next(
    office_slug: str, counter_number: int, *, actor: User, lang: str = "de"
) -> dict | None:
    """Call the next ticket this counter can serve (None when nobody waits for it).

    The counter's state row is locked first (one call per counter at a time), then the next
    ticket with ``FOR UPDATE SKIP LOCKED``: two counters calling at once never get the same
    ticket. Calling opens the counter for ``actor`` if it was closed or paused.
    """

    def work(session) -> dict | None:
        now = clock.now()
        office = cached_office(office_slug)  # read, never changed here
        user_id = staff_id(actor, office)
        counter = reads.find_counter(office, counter_number)
        state = lock_counter_state(session, counter, now)
        _open_for(state, user_id, now)
        params = {
            "office_id": office.id,
            "day": calendar.office_local_today(office),
            "counter_id": counter.id,
            "service_ids": counter_service_ids(session, counter),
            **ordering.rank_params(now),
        }
        # none while the counter has a ticket: only then is its current ticket read, for the
        # refusal (the state row's lock was taken first, so this statement sees its last call)
        ticket = session.scalar(_next_ticket_stmt(estimates.ageing_weights()), params)
        if ticket is None:
            ensure_counter_free(session, counter)
            return None
        _call(session, ticket, counter, user_id, now, "next")
        return view_of(ticket, lang)

    return run_in_transaction(work)


def call_ticket(
    office_slug: str,
    counter_number: int,
    *,
    actor: User,
    token: str | None = None,
    number: str | None = None,
    lang: str = "de",
) -> dict:
    """Call one ticket out of order (by token, or by today's number), waiting or parked."""
    if not token and not number:
        raise ValidationFailed(N_("Name the ticket by its token or its number."), field="number")

    def work(session) -> dict:
        now = clock.now()
        office = get_office(office_slug)
        user_id = staff_id(actor, office)
        counter = reads.find_counter(office, counter_number)
        state = lock_counter_state(session, counter, now)
        ensure_counter_free(session, counter)
        if token:
            ticket = lock_ticket(session, token)
        else:
            ticket = session.scalar(
                select(Ticket)
                .where(
                    Ticket.office_id == office.id,
                    Ticket.number == str(number).strip().upper(),
                    Ticket.business_date == calendar.office_local_today(office),
                )
                .with_for_update(of=Ticket)
                .execution_options(populate_existing=True)
            )
            if ticket is None:
                raise ValidationFailed(
                    N_("There is no ticket %(number)s today."),
                    params={"number": number},
                    field="number",
                )
        if ticket.office_id != office.id:
            raise ValidationFailed(
                N_("Ticket %(number)s belongs to another office."),
                params={"number": ticket.number},
                field="token",
            )
        ensure_today(ticket, "called")
        lifecycle.check(ticket, "call")
        _open_for(state, user_id, now)
        _call(session, ticket, counter, user_id, now, "out_of_order")
        return view_of(ticket, lang)

    return run_in_transaction(work)


def _set_counter(
    office_slug: str, counter_number: int, actor: User, status: CounterStatus, lang: str
) -> dict:
    def work(session) -> None:
        now = clock.now()
        office = get_office(office_slug)
        user_id = staff_id(actor, office)
        counter = reads.find_counter(office, counter_number)
        state = lock_counter_state(session, counter, now)
        if status == CounterStatus.CLOSED:
            ensure_counter_free(session, counter)
        if state.status != status or (status != CounterStatus.CLOSED and state.user_id != user_id):
            state.status, state.changed_at = status, now
            state.user_id = None if status == CounterStatus.CLOSED else user_id
            publish.queue_changed(office.slug)

    run_in_transaction(work)
    return reads.counter_overview(office_slug, counter_number, actor=actor, lang=lang)


def open_counter(office_slug: str, counter_number: int, *, actor: User, lang: str = "de") -> dict:
    """``actor`` works at this counter now and takes tickets."""
    return _set_counter(office_slug, counter_number, actor, CounterStatus.OPEN, lang)


def pause_counter(office_slug: str, counter_number: int, *, actor: User, lang: str = "de") -> dict:
    """A break: no new tickets; a ticket already at the counter may be finished."""
    return _set_counter(office_slug, counter_number, actor, CounterStatus.PAUSED, lang)


def close_counter(office_slug: str, counter_number: int, *, actor: User, lang: str = "de") -> dict:
    """End of work at this counter (refused while a ticket is still called or served there)."""
    return _set_counter(office_slug, counter_number, actor, CounterStatus.CLOSED, lang)
