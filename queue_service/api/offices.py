"""Public read API of the catalogue."""

from __future__ import annotations

from flask import jsonify
from flask_babel import get_locale

from ..offices import services as offices
from . import bp


def _lang() -> str:
    return str(get_locale() or "de")


@bp.get("/v1/offices")
def list_offices():
    return jsonify({"offices": [offices.office_summary(o) for o in offices.list_offices()]})


@bp.get("/v1/offices/<slug>")
def get_office(slug: str):
    return jsonify(offices.office_detail(offices.get_office(slug), _lang()))


@bp.get("/v1/services")
def list_services():
    return jsonify(
        {"services": [offices.service_view(s, _lang()) for s in offices.list_services()]}
    )
