"""Public pages. Views only call services and render."""

from __future__ import annotations

from flask import render_template

from ..offices import services as catalogue
from . import bp


@bp.get("/")
def home():
    return render_template("web/home.html", offices=catalogue.list_offices())


@bp.get("/datenschutz")
def privacy():
    return render_template("web/privacy.html")


@bp.get("/barrierefreiheit")
def accessibility():
    return render_template("web/accessibility.html")


@bp.get("/impressum")
def imprint():
    return render_template("web/imprint.html")


@bp.get("/t/<token>")
def ticket_status(token: str):
    """The visitor's status page behind the QR code (made live by the realtime work)."""
    from flask_babel import get_locale

    from ..tickets.reads import ticket_status as status_of

    ticket = status_of(token, str(get_locale() or "de"))
    return render_template("web/ticket_status.html", ticket=ticket, token=token), 200, {
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
