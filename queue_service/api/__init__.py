"""The JSON API under /api/v1 and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import (  # noqa: E402,F401  (routes register on bp)
    booking,
    checkin,
    display,
    offices,
    openapi,
    session,
    status,
    ticket_pdf,
    tickets,
    waitlist,
)
