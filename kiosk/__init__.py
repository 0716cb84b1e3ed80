"""The touch kiosk in an office's entrance (presentation only: calls services, renders)."""

from flask import Blueprint

bp = Blueprint(
    "kiosk",
    __name__,
    url_prefix="/kiosk",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from . import register, views  # noqa: E402,F401
