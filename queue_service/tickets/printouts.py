"""Printed tickets: a ticket row becomes a ``printing.TicketPrint`` and its PDF; optionally the
server hands the PDF to CUPS for a kiosk's printer (``KIOSK_CUPS_PRINTING``).

``queue_service.printing`` stays pure; this module reads the ticket, its estimate and its office.
"""

from __future__ import annotations

import logging
import threading

from flask import current_app

from ..offices.texts import service_name
from ..printing import PAPERS, TicketPrint, cups, render_ticket_pdf, strings
from ..printing.fonts import embedded_fonts
from . import reads

log = logging.getLogger(__name__)

LANGUAGES = strings.LANGUAGES


def ticket_print(
    token: str, status_url: str, lang: str = "de", *, large_print: bool = False
) -> TicketPrint:
    """What the printed ticket of ``token`` shows now (people ahead and wait as of now)."""
    ticket = reads.get_ticket(token)
    estimate = reads.estimate_of(ticket)
    office = ticket.office
    # the service names in the language the ticket is really printed in (English without a font)
    printed = strings.printed_language(lang, unicode_font=embedded_fonts() is not None)
    services = ticket.services
    return TicketPrint(
        number=ticket.number,
        service_name=service_name(services[0], printed),
        further_service_names=tuple(service_name(s, printed) for s in services[1:]),
        persons=ticket.persons,
        office_name=office.name,
        office_address=office.address,
        issued_at=ticket.issued_at,
        status_url=status_url,
        people_ahead=estimate.people_ahead if estimate else None,
        estimated_wait_minutes=estimate.minutes if estimate else None,
        lang=lang,
        kind=ticket.kind.value,
        large_print=large_print,
        timezone=office.timezone or "Europe/Berlin",
    )


def ticket_pdf(
    token: str, status_url: str, *, paper: str = "80mm", lang: str = "de", large_print: bool = False
) -> tuple[str, bytes]:
    """The ticket's number and its PDF for ``paper`` (80mm, 58mm, a6)."""
    view = ticket_print(token, status_url, lang, large_print=large_print)
    return view.number, render_ticket_pdf(view, paper)


def print_on_server(
    token: str, printer: str, status_url: str, *, lang: str = "de", paper: str | None = None
) -> None:
    """Render the ticket now and hand it to CUPS printer ``printer`` in the background.

    Called after the ticket's commit. ``lp`` only queues the job, but a hung CUPS scheduler may
    take up to the timeout: the visitor's ticket screen must not wait for it, and a failure
    only loses the paper (the screen shows the number and the QR code regardless); it is logged.
    """
    paper = paper if paper in PAPERS else current_app.config["KIOSK_PAPER"]
    number, pdf = ticket_pdf(token, status_url, paper=paper, lang=lang)
    thread = threading.Thread(
        target=_send, args=(pdf, printer, number), daemon=True, name=f"print-{number}"
    )
    thread.start()


def _send(pdf: bytes, printer: str, number: str) -> None:
    try:
        cups.send_to_printer(pdf, printer, title=f"Wartemarke {number}")
    except cups.PrinterError as error:
        log.warning("ticket %s not printed on %s (%s): %s", number, printer, error.reason, error)
    except Exception:  # never let a printer problem kill anything else
        log.exception("ticket %s not printed on %s", number, printer)
