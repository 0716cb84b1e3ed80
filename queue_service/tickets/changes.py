"""What every state change of the queue shares: row locks, the access check, the view built
inside the transaction and the realtime notices (emitted after the commit)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..auth.models import User
from ..auth.services import require_office_access
from ..errors import N_, Conflict, InvalidTransition, NotFound, ValidationFailed
from ..offices import calendar, revision
from ..offices.models import Counter, Office, counter_services
from ..realtime import publish
from . import estimates, lifecycle, numbering, payloads, reads
from .estimates import Estimate
from .models import CounterState, CounterStatus, Placement, Ticket, at_counter

_WITH_VIEW = (
    joinedload(Ticket.office, innerjoin=True),
    joinedload(Ticket.service, innerjoin=True),
    joinedload(Ticket.counter),
)


@lru_cache(maxsize=1)
def _lock_ticket_stmt():
    """Built once (building it with its options cost about 190 Python calls per lock)."""
    return (
        select(Ticket)
        .options(*_WITH_VIEW)
        .where(Ticket.token == bindparam("token"))
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    )


def lock_ticket(session, token: str) -> Ticket:
    """The ticket, locked (FOR UPDATE on PostgreSQL), with what its view shows."""
    ticket = session.scalar(_lock_ticket_stmt(), {"token": token}) if token else None
    if ticket is None:
        raise NotFound(N_("There is no ticket with this code."))
    return ticket


@lru_cache(maxsize=1)
def _lock_counter_state_stmt():
    return (
        select(CounterState)
        .where(CounterState.counter_id == bindparam("counter_id"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_counter_state(session, counter: Counter, now: datetime) -> CounterState:
    """The counter's state row, locked: one call or state change per counter at a time."""
    params = {"counter_id": counter.id}
    state = session.scalar(_lock_counter_state_stmt(), params)
    if state is None:
        session.execute(
            numbering.upsert(session, CounterState)
            .values(counter_id=counter.id, status=CounterStatus.CLOSED, changed_at=now)
            .on_conflict_do_nothing(index_elements=[CounterState.counter_id])
        )
        state = session.scalar(_lock_counter_state_stmt(), params)
    return state


def counter_service_ids(session, counter: Counter) -> list[int]:
    """The services the counter serves, kept per process under the catalogue revision."""
    revision.flush_catalogue_changes()
    return list(
        revision.remembered(
            ("counter_services", counter.id),
            lambda: tuple(
                session.scalars(
                    select(counter_services.c.service_id).where(
                        counter_services.c.counter_id == counter.id
                    )
                )
            ),
        )
    )


def current_ticket(session, counter: Counter) -> Ticket | None:
    return session.scalar(select(Ticket).where(at_counter(counter.id)))


def ensure_counter_free(session, counter: Counter) -> None:
    current = current_ticket(session, counter)
    if current is not None:
        raise Conflict(
            N_(
                "%(counter)s still has %(number)s (%(status)s). Finish it, park it, transfer it "
                "or mark it as a no-show first."
            ),
            params={
                "counter": counter.display_name,
                "number": current.number,
                **lifecycle.status_params(current.status),
            },
            reason="counter_busy",
            ticket=current.number,
        )


def ensure_today(ticket: Ticket, what: str) -> None:
    if ticket.business_date != calendar.office_local_today(ticket.office):
        raise InvalidTransition(
            N_("Ticket %(number)s is from %(date)s; only today's tickets can be %(action)s."),
            params={
                "number": ticket.number,
                "date": ticket.business_date.isoformat(),
                "action": what,
                "action_de": lifecycle.ACTION_LABELS_DE[what],
            },
            reason="not_today",
        )


def staff_id(actor: User | None, office: Office) -> int:
    require_office_access(actor, office)
    assert actor is not None  # require_office_access refused anonymous callers
    return actor.id


def publish_ticket(
    ticket: Ticket, estimate: Estimate | None = None, *, seq: int | None = None
) -> None:
    """The office's queue changed and the ticket's status page gets its new state; ``seq``:
    the one the change's write reserved for the ``queue_updated`` (``lifecycle.apply``)."""
    publish.queue_changed(ticket.office.slug, seq=seq)
    publish.ticket_updated(ticket.token, payloads.public_view(ticket, estimate))


def publish_waiting(session, ticket: Ticket) -> Estimate | None:
    """After a ticket went back to waiting: its new position goes to its status page."""
    session.flush()
    estimate = estimates.snapshot(ticket.office, clock.now()).estimate_for(ticket)
    publish_ticket(ticket, estimate)
    return estimate


def placement_from(value: str | Placement | None, default: Placement) -> Placement:
    if value is None or value == "":
        return default
    try:
        return Placement(value)
    except ValueError as exc:
        raise ValidationFailed(N_('Position is "front" or "back".'), field="position") from exc


def view_of(ticket: Ticket, lang: str, estimate: Estimate | None = None) -> dict:
    """The staff view, built inside the transaction (no reloading after the commit)."""
    return payloads.staff_view(ticket, estimate or reads.fixed_estimate(ticket), lang)
