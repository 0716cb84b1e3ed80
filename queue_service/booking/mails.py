"""The booking mails: confirmation with calendar file and QR code, confirmation request (double
opt-in), reschedule and cancellation notices, reminder. Always in the booking's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..extensions import db
from ..notify import ics, mail, outbox
from ..offices.models import Office, Service
from ..printing.qr import qr_png
from . import links, payloads
from .formatting import clock_text, day_text
from .models import Appointment, AppointmentStatus
from .payloads import AppointmentView, OfficeInfo, ServiceInfo

BOOKED = "booked"
CONFIRM_REQUEST = "confirm_request"
RESCHEDULED = "rescheduled"
CANCELLED = "cancelled"
REMINDER = "reminder"
KINDS = (BOOKED, CONFIRM_REQUEST, RESCHEDULED, CANCELLED, REMINDER)


def _subject(kind: str, view: AppointmentView, when: str) -> str:
    office = view.office.name
    if kind == BOOKED:
        return _("Your appointment on %(when)s at %(office)s", when=when, office=office)
    if kind == CONFIRM_REQUEST:
        return _("Please confirm your appointment on %(when)s", when=when)
    if kind == RESCHEDULED:
        return _("Appointment moved to %(when)s at %(office)s", when=when, office=office)
    if kind == CANCELLED:
        return _("Appointment cancelled: %(when)s at %(office)s", when=when, office=office)
    return _("Reminder: your appointment on %(when)s at %(office)s", when=when, office=office)


def calendar_file(view: AppointmentView, cancelled: bool = False) -> bytes:
    """The .ics of an appointment (UID stable, SEQUENCE = revision), in the booking's language."""
    with force_locale(view.lang):
        services = ", ".join(s.name(view.lang) for s in view.services)
        lines = [
            _("Booking code: %(code)s", code=view.display_code or "-"),
            _("Please bring: %(documents)s", documents="; ".join(view.documents()) or "-"),
        ]
        if view.token and not cancelled:
            lines.append(_("Change or cancel: %(url)s", url=links.manage_url(view.token)))
        return ics.event_file(
            uid=f"{view.public_id}@buergerservice-hannover",
            sequence=view.revision,
            start=view.start,
            end=view.end,
            tzid=view.office.timezone,
            summary=f"{view.office.name}: {services}",
            location=", ".join(p for p in (view.office.name, view.office.address) if p),
            description="\n".join(lines),
            stamp=clock.now(),
            organizer=_sender_address(),
            url=links.manage_url(view.token) if view.token and not cancelled else None,
            cancelled=cancelled,
        )


def _sender_address() -> str:
    sender = current_app.config["MAIL_FROM"]
    return sender.rsplit("<", 1)[-1].strip(" >") if "<" in sender else sender.strip()


def _render(name: str, **context) -> str:
    """Render without the request's context processors: this runs after the commit, where a
    processor that loads the current user would query a session that can no longer do so."""
    return current_app.jinja_env.get_template(name).render(**context)


def build(kind: str, view: AppointmentView, closure_reason: str | None = None) -> EmailMessage:
    """One booking mail; a cancellation because the office closes that day names the reason and
    links to the booking pages."""
    if kind not in KINDS:
        raise ValueError(kind)
    lang = view.lang
    with force_locale(lang):
        start = view.local_start
        when = f"{day_text(start, lang)}, {clock_text(start, lang)}"
        context = {
            "kind": kind,
            "view": view,
            "lang": lang,
            "day": day_text(start, lang),
            "time": clock_text(start, lang),
            "end_time": clock_text(view.local_end, lang),
            "services": [s.name(lang) for s in view.services],
            "documents": view.documents(),
            "manage_url": links.manage_url(view.token) if view.token else None,
            "confirm_url": links.confirm_url(view.token) if view.token else None,
            "confirm_minutes": current_app.config["CONFIRM_MINUTES"],
            "with_qr": kind in (BOOKED, RESCHEDULED, REMINDER) and bool(view.code),
            "closure_reason": closure_reason if kind == CANCELLED else None,
            "book_url": links.book_url(),
        }
        subject = _subject(kind, view, when)
        text = _render("mail/appointment.txt", **context)
        html = _render("mail/appointment.html", subject=subject, **context)
    inline = (
        [mail.Inline("qr", qr_png(view.code, scale=6))] if context["with_qr"] and view.code else []
    )
    attachments = []
    if kind in (BOOKED, RESCHEDULED, CANCELLED):
        cancelled = kind == CANCELLED
        attachments.append(
            mail.Attachment(
                "termin.ics",
                calendar_file(view, cancelled=cancelled),
                "text",
                "calendar",
                (("method", "CANCEL" if cancelled else "PUBLISH"),),
            )
        )
    return mail.compose(view.email or "", subject, text, html, inline, attachments)


def enqueue(kind: str, view: AppointmentView, closure_reason: str | None = None) -> None:
    """Write one booking mail into the outbox as a draft, inside the unit of work of the change:
    it is composed and sent after the commit (by this process or the scheduler's), and retried
    until the mail server takes it."""
    data = draft_data(kind, view, closure_reason)
    if data is not None:
        outbox.enqueue_draft(kind, COMPOSER, data, known=view)


def draft_data(kind: str, view: AppointmentView, closure_reason: str | None = None) -> dict | None:
    """What the outbox keeps of one booking mail (None: the appointment has no address).

    The draft names the appointment by its public id (so it can be written in the statement
    that inserts the appointment) and freezes what a later change could alter (time,
    revision, language, a closure's reason); the sender reads the rest (contact, code, office,
    services) when it composes, so the outbox keeps neither the manage link nor the contact."""
    if not view.email:
        return None
    if kind not in KINDS:
        raise ValueError(kind)
    return {
        "kind": kind,
        "public_id": view.public_id,
        "start": view.start.isoformat(),
        "end": view.end.isoformat(),
        "revision": view.revision,
        "lang": view.lang,
        "closure_reason": closure_reason,
    }


# a mail about the appointment as booked, moved or due says nothing true once it is cancelled
# (the cancellation is mailed itself) or, for the confirmation request, once it has expired
_OBSOLETE_WHEN = frozenset({AppointmentStatus.CANCELLED.value, AppointmentStatus.EXPIRED.value})


def frozen_view(draft: dict) -> AppointmentView:
    """The appointment of ``draft`` as it was when the mail was written: read now (its own
    session: this runs after a commit, on a sender thread or in the scheduler), with the time,
    revision and language of the draft. ``outbox.Obsolete`` when there is nothing to mail."""
    with Session(db.engine) as session:
        found = session.execute(
            select(Appointment, Office)
            .join(Office, Office.id == Appointment.office_id)
            .where(Appointment.public_id == draft["public_id"])
        ).first()
        if found is None:
            raise outbox.Obsolete("the appointment no longer exists")
        appointment, office = found
        if not appointment.email:
            raise outbox.Obsolete("the appointment's contact was deleted")
        codes = list(appointment.service_codes)
        by_code = {
            sv.code: ServiceInfo.of(sv)
            for sv in session.scalars(select(Service).where(Service.code.in_(codes)))
        }
        services = tuple(by_code.get(c) or ServiceInfo(c, c, c) for c in codes)
        view = payloads.build(appointment, OfficeInfo.of(office), services)
    if draft["kind"] != CANCELLED and view.status in _OBSOLETE_WHEN:
        raise outbox.Obsolete(f"the appointment is {view.status}")
    return replace(
        view,
        start=datetime.fromisoformat(draft["start"]),
        end=datetime.fromisoformat(draft["end"]),
        revision=draft["revision"],
        lang=draft["lang"],
    )


def _compose(draft: dict, known: object | None) -> EmailMessage:
    """The process that made the change sends right after the commit from the view it has (as
    it was committed); every other sender reads the appointment."""
    view = known if isinstance(known, AppointmentView) else frozen_view(draft)
    return build(draft["kind"], view, draft["closure_reason"])


COMPOSER = "booking"
outbox.register_composer(COMPOSER, _compose)
