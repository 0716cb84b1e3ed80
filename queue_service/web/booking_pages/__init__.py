"""The resident's booking pages under /termin (presentation only: calls services, renders).

Every step is a plain GET page or a POST form, so the flow works without JavaScript; state
changes (hold, book, confirm, cancel, move) are POSTs behind a page, never a GET.
"""

from flask import Blueprint

bp = Blueprint("booking_web", __name__, url_prefix="/termin", template_folder="templates")

from . import views, waitlist  # noqa: E402,F401
