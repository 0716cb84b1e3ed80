"""The ticket state machine in one place: which action may run from which status, where it
leads and which timestamp it sets. ``apply`` is the only code that changes ``Ticket.status``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidTransition
from .models import Ticket, TicketEvent, TicketStatus

W, C, S, D = TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING, TicketStatus.DONE
P, X, N, NS = (
    TicketStatus.PARKED,
    TicketStatus.CANCELLED,
    TicketStatus.NOT_SERVED,
    TicketStatus.NO_SHOW,
)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[TicketStatus]
    target: TicketStatus
    stamp: str  # the Ticket column set to the moment of the transition


TRANSITIONS: dict[str, Transition] = {
    "call": Transition(frozenset({W, P}), C, "called_at"),
    "recall": Transition(frozenset({C}), C, "recalled_at"),
    "start": Transition(frozenset({C}), S, "serving_at"),
    "finish": Transition(frozenset({S}), D, "finished_at"),
    "no_show": Transition(frozenset({C}), NS, "no_show_at"),
    "park": Transition(frozenset({W, C, S}), P, "parked_at"),
    "unpark": Transition(frozenset({P}), W, "unparked_at"),
    "transfer": Transition(frozenset({W, C, S, P}), W, "transferred_at"),
    "cancel": Transition(frozenset({W, C, P}), X, "cancelled_at"),
    "close": Transition(frozenset({W, C, S, P}), N, "closed_at"),
}

ACTION_LABELS = {
    "call": "called",
    "recall": "recalled",
    "start": "started",
    "finish": "finished",
    "no_show": "marked as a no-show",
    "park": "parked",
    "unpark": "unparked",
    "transfer": "transferred",
    "cancel": "cancelled",
    "close": "closed as not served",
}


def allowed_actions(status: TicketStatus) -> list[str]:
    """The actions that may run on a ticket in ``status`` (for the clerk desk's buttons)."""
    return [name for name, t in TRANSITIONS.items() if status in t.sources and name != "close"]


def check(ticket: Ticket, action: str) -> Transition:
    """Raise InvalidTransition (409) unless ``action`` may run on ``ticket`` now."""
    transition = TRANSITIONS[action]
    if ticket.status not in transition.sources:
        allowed = ", ".join(sorted(s.value for s in transition.sources))
        raise InvalidTransition(
            f"Ticket {ticket.number} is {ticket.status.value}; it can only be "
            f"{ACTION_LABELS[action]} when it is {allowed}.",
            reason="invalid_transition",
            status_now=ticket.status.value,
            action=action,
        )
    return transition


def apply(
    session,
    ticket: Ticket,
    action: str,
    *,
    now: datetime,
    counter_id: int | None = None,
    user_id: int | None = None,
    details: dict | None = None,
) -> TicketEvent:
    """Run ``action`` on ``ticket``: check, move the status, stamp the time, log the event."""
    transition = check(ticket, action)
    before = ticket.status
    ticket.status = transition.target
    setattr(ticket, transition.stamp, now)
    event = TicketEvent(
        ticket_id=ticket.id,
        office_id=ticket.office_id,
        at=now,
        action=action,
        from_status=before,
        to_status=transition.target,
        counter_id=counter_id,
        user_id=user_id,
        details=details or {},
    )
    session.add(event)
    return event
