"""Staff area: login, the clerk desk and office management (presentation only)."""

from flask import Blueprint

bp = Blueprint(
    "admin", __name__, url_prefix="/admin", template_folder="templates",
    static_folder="static", static_url_path="/static",
)

from . import views  # noqa: E402,F401
