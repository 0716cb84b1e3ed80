"""Plain dicts for the API, the pages and the realtime events. Public views carry no token and
no personal data (a walk-in ticket has none anyway)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import current_app

from .. import clock
from ..offices import calendar
from ..offices.models import Counter, Office, Service
from .estimates import Estimate
from .lifecycle import allowed_actions
from .models import Ticket, TicketKind, TicketStatus


def local_iso(moment: datetime | None, office: Office) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(calendar.office_tz(office)).isoformat(timespec="seconds")


def counter_ref(counter: Counter | None) -> dict | None:
    if counter is None:
        return None
    return {"number": counter.number, "name": counter.display_name}


def minutes_between(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds() // 60), 0)


def _view(
    *,
    number: str,
    status: TicketStatus,
    kind: TicketKind,
    named: list[dict],
    persons: int,
    ticket_lang: str,
    office: Office,
    estimate: Estimate | None,
    issued_at: datetime,
    business_date: date,
    service: dict | None = None,
    counter: dict | None = None,
    recall_count: int = 0,
    called_at: datetime | None = None,
) -> dict:
    """The public view's fields; ``named``: every service of the visit (an appointment may have
    several) as {code, name}, the queued one first; ``service`` the queued one (default: the
    first)."""
    return {
        "number": number,
        "status": status.value,
        "kind": kind.value,
        "service": service if service is not None else dict(named[0]),
        "services": named,
        "persons": persons,
        "lang": ticket_lang,
        "office": {"slug": office.slug, "name": office.name},
        "counter": counter,
        "recall_count": recall_count,
        "people_ahead": estimate.people_ahead if estimate else None,
        "estimated_wait_minutes": estimate.minutes if estimate else None,
        "issued_at": local_iso(issued_at, office),
        "called_at": local_iso(called_at, office),
        "business_date": business_date.isoformat(),
    }


def public_view(ticket: Ticket, estimate: Estimate | None, lang: str = "de") -> dict:
    """What the visitor's status page and the ticket room see."""
    show_counter = ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
    return _view(
        number=ticket.number,
        status=ticket.status,
        kind=ticket.kind,
        service={"code": ticket.service.code, "name": ticket.service.name(lang)},
        named=[{"code": s.code, "name": s.name(lang)} for s in ticket.services],
        persons=ticket.persons,
        ticket_lang=ticket.lang,
        office=ticket.office,
        counter=counter_ref(ticket.counter) if show_counter else None,
        recall_count=ticket.recall_count if show_counter else 0,
        estimate=estimate,
        issued_at=ticket.issued_at,
        called_at=ticket.called_at if show_counter else None,
        business_date=ticket.business_date,
    )


def waiting_public_view(
    number: str,
    kind: TicketKind,
    services: list[tuple[str, str, str]],
    persons: int,
    ticket_lang: str,
    office: Office,
    issued_at: datetime,
    business_date: date,
    estimate: Estimate | None,
    lang: str = "de",
) -> dict:
    """``public_view`` of a waiting ticket from plain values (the displays' positions push this
    for every waiting ticket after a call): ``services`` are (code, German name, English name),
    the queued one first. A waiting ticket has no counter, call or recall to show."""
    return _view(
        number=number,
        status=TicketStatus.WAITING,
        kind=kind,
        named=[{"code": code, "name": en if lang == "en" else de} for code, de, en in services],
        persons=persons,
        ticket_lang=ticket_lang,
        office=office,
        estimate=estimate,
        issued_at=issued_at,
        business_date=business_date,
    )


def with_warning(view: dict, warning: dict | None) -> dict:
    """The public view with the walk-in forecast's word for its holder: ``may_not_be_served``
    and, when so, ``alternatives`` (when service ends, the next free appointment, links to book
    and to the waitlist). Only the public status carries these; no personal data."""
    view["may_not_be_served"] = warning is not None
    view["alternatives"] = warning
    return view


def staff_view(ticket: Ticket, estimate: Estimate | None, lang: str = "de") -> dict:
    """The public view plus the token, flags and the actions the desk may offer."""
    view = public_view(ticket, estimate, lang)
    office = ticket.office
    return _with_staff_fields(
        view,
        status=ticket.status,
        token=ticket.token,
        priority=ticket.priority,
        recall_count=ticket.recall_count,
        transferred=ticket.transferred,
        target_counter=counter_ref(ticket.target_counter),
        counter=counter_ref(ticket.counter),
        due_at=local_iso(ticket.due_at, office),
        serving_at=local_iso(ticket.serving_at, office),
        finished_at=local_iso(ticket.finished_at, office),
        performed_service=ticket.performed_service.code if ticket.performed_service else None,
        issued_at=ticket.issued_at,
    )


def _with_staff_fields(
    view: dict,
    *,
    status: TicketStatus,
    token: str,
    priority: bool,
    recall_count: int,
    transferred: bool,
    target_counter: dict | None,
    counter: dict | None,
    due_at: str | None,
    serving_at: str | None,
    finished_at: str | None,
    performed_service: str | None,
    issued_at: datetime,
) -> dict:
    actions = allowed_actions(status)
    if "no_show" in actions and recall_count < no_show_after_recalls():
        actions.remove("no_show")
    view.update(
        {
            "token": token,
            "priority": priority,
            "recall_count": recall_count,
            "transferred": transferred,
            "target_counter": target_counter,
            "counter": counter,
            "due_at": due_at,
            "serving_at": serving_at,
            "finished_at": finished_at,
            "performed_service": performed_service,
            "waiting_minutes": minutes_between(issued_at, clock.now()),
            "actions": actions,
        }
    )
    return view


def issued_view(
    *,
    number: str,
    token: str,
    kind: TicketKind,
    services: list[Service],
    persons: int,
    ticket_lang: str,
    office: Office,
    priority: bool,
    due_at: datetime | None,
    issued_at: datetime,
    business_date: date,
    lang: str = "de",
) -> dict:
    """``staff_view`` of a ticket just issued, from the values it was inserted with (no ORM
    object): waiting, at no counter, never called, transferred or served; ``services`` the
    queued one first, as ``Ticket.services``. Its estimate is filled in by the caller."""
    named = [{"code": s.code, "name": s.name(lang)} for s in services]
    view = _view(
        number=number,
        status=TicketStatus.WAITING,
        kind=kind,
        named=named,
        persons=persons,
        ticket_lang=ticket_lang,
        office=office,
        estimate=None,
        issued_at=issued_at,
        business_date=business_date,
    )
    return _with_staff_fields(
        view,
        status=TicketStatus.WAITING,
        token=token,
        priority=priority,
        recall_count=0,
        transferred=False,
        target_counter=None,
        counter=None,
        due_at=local_iso(due_at, office),
        serving_at=None,
        finished_at=None,
        performed_service=None,
        issued_at=issued_at,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def call_id(number: str, recall_count: int, called_at: datetime) -> str:
    """Names one call (or recall) of a number; the same from the live event and the log."""
    millis = (called_at - _EPOCH) // timedelta(milliseconds=1)
    return f"{number}-{recall_count}-{millis}"


def called_event(ticket: Ticket) -> dict:
    """The payload of ``ticket_called`` for the displays: no token, no personal data."""
    called_at = ticket.recalled_at if ticket.recall_count else ticket.called_at
    assert called_at is not None  # the event of a ticket that was called
    return {
        "office": ticket.office.slug,
        "number": ticket.number,
        "counter": ticket.counter.number if ticket.counter else None,
        "counter_name": ticket.counter.display_name if ticket.counter else None,
        "service": ticket.service.code,
        "recall_count": ticket.recall_count,
        "call_id": call_id(ticket.number, ticket.recall_count, called_at),
        "called_at": called_at.isoformat(timespec="milliseconds"),
        "server_time": clock.now().isoformat(timespec="milliseconds"),
    }


def no_show_after_recalls() -> int:
    return int(current_app.config["NO_SHOW_AFTER_RECALLS"])
