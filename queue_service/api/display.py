"""The waiting-room display's snapshot over HTTP: the same as the socket's ``display_state``."""

from __future__ import annotations

from flask import jsonify

from ..tickets import display
from . import bp


@bp.get("/v1/offices/<slug>/display-state")
def display_state(slug: str):
    return jsonify(display.shared_display_state(slug)), 200, {"Cache-Control": "no-store"}
