"""The JSON API under /api/v1 and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

# routes register on bp; contract checks each request against the document
from . import (  # noqa: E402,F401
    booking,
    checkin,
    contract,
    display,
    offices,
    openapi,
    session,
    status,
    ticket_pdf,
    tickets,
    waitlist,
)
