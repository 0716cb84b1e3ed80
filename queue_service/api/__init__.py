"""The JSON API under /api/v1 and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import booking, checkin, display, offices, openapi, session, status, ticket_pdf, tickets  # noqa: E402,F401  (routes register on bp)
