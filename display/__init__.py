"""The waiting-room display of an office (presentation only)."""

from flask import Blueprint

bp = Blueprint(
    "display",
    __name__,
    url_prefix="/display",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from . import register, views  # noqa: E402,F401
