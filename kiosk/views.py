from __future__ import annotations

from flask import render_template

from queue_service.offices import services as catalogue

from . import bp


@bp.get("/<slug>")
def start(slug: str):
    office = catalogue.get_office(slug)
    services = [s for s in catalogue.office_services(office) if s.walk_in_allowed]
    return render_template("kiosk/start.html", office=office, services=services)
