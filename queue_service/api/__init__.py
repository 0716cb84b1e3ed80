"""The JSON API under /api/v1 and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import display, offices, openapi, session, tickets  # noqa: E402,F401  (routes register on bp)
