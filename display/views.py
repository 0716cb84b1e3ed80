from __future__ import annotations

from flask import render_template

from queue_service.offices import services as catalogue

from . import bp


@bp.get("/<slug>")
def screen(slug: str):
    office = catalogue.get_office(slug)
    return render_template("display/screen.html", office=office)
