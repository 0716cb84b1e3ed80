"""Check-in: a due appointment becomes a queue ticket with appointment priority.

The ticket is issued with the idempotency key ``appointment:<public id>``, so a double scan, a
retry or two kiosks scanning the same code at once all get the same ticket; the appointment is
marked checked in exactly once, in the unit of work that issues its ticket (an appointment
cancelled meanwhile gets no ticket). The estimate is read after the commit, as for any ticket.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..auth.models import Device, User
from ..errors import N_, InvalidTransition, NotFound, Refused
from ..extensions import db
from ..tickets.services import issue_ticket
from .models import Appointment, AppointmentStatus
from .services import check_in_as_ticket, find_appointment_for_check_in


def _key(public_id: str) -> str:
    return f"appointment:{public_id}"


def check_in(
    office_slug: str,
    code: str,
    *,
    actor: User | None = None,
    device: Device | None = None,
    lang: str = "de",
) -> dict:
    """Turn the appointment with booking ``code`` into a ticket at ``office_slug``.

    Refused (409, with ``reason``) when too early or too late; NotFound (404) for an unknown
    code; a second check-in of the same appointment returns the same ticket.
    """
    try:
        lookup = find_appointment_for_check_in(office_slug, code)
    except InvalidTransition:
        return _again(office_slug, code, actor, device, lang)
    except NotFound as exc:
        exc.extra.setdefault("reason", "unknown_code")
        raise
    except Refused as exc:
        if "office" in exc.extra:
            exc.extra.setdefault("reason", "wrong_office")
        else:
            exc.extra.setdefault("reason", "not_booked")
        raise
    appointment = lookup.appointment
    local_opens = lookup.opens_at.astimezone(appointment.office.tz).strftime("%H:%M")
    if lookup.timing == "early":
        raise Refused(
            N_("Check-in for this appointment opens at %(time)s. Please come back then."),
            params={"time": local_opens},
            reason="too_early",
            opens_at=lookup.opens_at.isoformat(),
            field="code",
        )
    if lookup.timing == "late":
        raise Refused(
            N_(
                "The check-in time of this appointment has passed. Please take a walk-in ticket "
                "or ask at the information desk."
            ),
            reason="too_late",
            closes_at=lookup.closes_at.isoformat(),
            field="code",
        )
    view = _issue(
        office_slug,
        [s.code for s in appointment.services],
        appointment.persons,
        appointment.start,
        appointment.public_id,
        actor,
        device,
        lang,
        # in the ticket's unit of work: both or neither
        checked_in=lambda session, ticket: check_in_as_ticket(session, appointment.id, ticket.id),
    )
    view["appointment_start"] = appointment.start.isoformat()
    return view


def _issue(
    office_slug, codes, persons, due_at, public_id, actor, device, lang, checked_in=None
) -> dict:
    """The appointment's ticket: queued for its first service, carrying all and the persons."""
    return issue_ticket(
        office_slug,
        codes[0],
        further_services=codes[1:],
        persons=persons,
        kind="appointment",
        due_at=due_at,
        prefix=current_app.config.get("APPOINTMENT_TICKET_PREFIX") or None,
        idempotency_key=_key(public_id),
        actor=actor,
        device=device,
        lang=lang,
        on_issued=checked_in,
    )


def _again(office_slug, code, actor, device, lang) -> dict:
    """The appointment is already checked in: hand out its ticket again (reprint)."""
    from . import tokens

    appointment = db.session.scalar(
        select(Appointment).where(Appointment.code == tokens.normalise_code(code))
    )
    if appointment is None or appointment.status != AppointmentStatus.CHECKED_IN:
        raise InvalidTransition(N_("This appointment cannot be checked in."), reason="not_booked")
    view = _issue(
        office_slug,
        list(appointment.service_codes),
        appointment.persons,
        appointment.start,
        appointment.public_id,
        actor,
        device,
        lang,
    )
    view["appointment_start"] = appointment.start.isoformat()
    view["already_checked_in"] = True
    return view
