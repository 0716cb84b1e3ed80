"""Public pages for residents: the start page, privacy notice, accessibility statement."""

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates")

from . import rating, turn_alert, views  # noqa: E402,F401
