"""The optional rating on the visitor's status page (web/_rating.html, POST /t/<token>/rating)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from ..errors import DomainError
from ..stats import ratings
from ..tickets.reads import get_ticket
from . import bp
from .views import TICKET_LANGUAGES


@bp.app_context_processor
def _rating_helpers():
    def rating_open(token: str) -> bool:
        try:
            return ratings.can_rate(get_ticket(token))
        except DomainError:
            return False

    return {"rating_open": rating_open}


@bp.post("/t/<token>/rating")
def rate_visit(token: str):
    lang = request.form.get("lang")
    lang = lang if lang in TICKET_LANGUAGES else None
    with force_locale(lang or str(get_locale() or "de")):  # the status page's language
        _rate(token)
    return redirect(url_for("web.ticket_status", token=token, lang=lang) + "#rating", code=303)


def _rate(token: str) -> None:
    try:
        ratings.submit_rating(token, request.form.get("score"), request.form.get("comment"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        reasons = {
            "score": _("Please choose from 1 to 5 stars."),
            "comment": _("At most 500 characters, please."),
        }
        flash(
            reasons.get(exc.field or "")
            or (
                _("This visit has already been rated. Thank you!")
                if "already" in exc.message
                else _("You can rate your visit once it is finished.")
            ),
            "error",
        )
    else:
        flash(_("Thank you for your rating."), "success")
