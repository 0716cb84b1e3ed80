"""Public read API of the catalogue."""

from __future__ import annotations

from flask import jsonify
from flask_babel import get_locale

from ..offices import services as catalogue
from . import bp


def _lang() -> str:
    return str(get_locale() or "de")


@bp.get("/v1/offices")
def list_offices():
    return jsonify({"offices": [catalogue.office_summary(o) for o in catalogue.list_offices()]})


@bp.get("/v1/offices/<slug>")
def get_office(slug: str):
    return jsonify(catalogue.office_detail(catalogue.get_office(slug), _lang()))


@bp.get("/v1/services")
def list_services():
    return jsonify(
        {"services": [catalogue.service_view(s, _lang()) for s in catalogue.list_services()]}
    )
