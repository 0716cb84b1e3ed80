"""The turn alert on the visitor's status page (web/_turn_alert.html, POST /t/<token>/alert):
"alert me when N people are ahead of me", optionally by e-mail (docs/notify.md).

The page's script posts the form with fetch (so the tap that asked for notification permission
also unlocks sound and vibration on the page it stays on) and reads a JSON answer; without
script the form posts normally and the page comes back with a message.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from ..errors import DomainError
from ..notify import turn_alerts
from . import bp
from .views import TICKET_LANGUAGES


@bp.app_context_processor
def _turn_alert_helpers():
    def turn_alert(token: str):
        try:
            return turn_alerts.turn_alert_of(token)
        except DomainError:
            return None

    def turn_alert_config(token: str, ticket: dict, lang: str) -> dict:
        alert = turn_alert(token)
        return {
            "token": token,
            "lang": lang,
            "ahead": alert.ahead if alert else None,
            "peopleAhead": ticket.get("people_ahead"),
            "status": ticket.get("status"),
            "strings": _strings(),
        }

    return {
        "turn_alert": turn_alert,
        "turn_alert_config": turn_alert_config,
        "turn_alert_choices": turn_alerts.AHEAD_CHOICES,
        "turn_alert_default": turn_alerts.DEFAULT_AHEAD,
    }


def _strings() -> dict:
    """The alert's texts for its script (current language)."""
    return {
        "soon": _("People ahead of you: %(n)s. Please come back to the waiting area now.", n="{n}"),
        "next": _("You are next. Please come back to the waiting area."),
        "title": _("Your turn is coming soon"),
        "set": _("Alert set: when %(n)s or fewer people are ahead of you.", n="{n}"),
        "removed": _("The alert has been removed."),
        "mail_set": _("You will also get one e-mail."),
        "blocked": _("Notifications are blocked in this browser; keep this page open."),
        "failed": _("The alert could not be saved. Please try again."),
    }


def _answer(view, lang: str):
    with force_locale(lang):
        if view is None:
            message = _("The alert has been removed.")
        else:
            message = _("Alert set: when %(n)s or fewer people are ahead of you.", n=view.ahead)
            if view.has_email:
                message += " " + _("You will also get one e-mail.")
    return message


@bp.post("/t/<token>/alert")
def set_turn_alert(token: str):
    lang = request.form.get("lang")
    lang = lang if lang in TICKET_LANGUAGES else "de"
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        if request.form.get("remove"):
            turn_alerts.remove_turn_alert(token)
            view = None
        else:
            view = turn_alerts.set_turn_alert(
                token,
                request.form.get("ahead"),
                request.form.get("email"),
                consent=bool(request.form.get("consent")),
                lang=lang,
            )
    except DomainError as exc:
        if exc.status == 404:
            raise
        with force_locale(lang):
            message = exc.detail
        if wants_json:
            return jsonify(ok=False, field=exc.field, message=message), exc.status
        flash(message, "error")
    else:
        message = _answer(view, lang)
        if wants_json:
            return jsonify(
                ok=True,
                message=message,
                ahead=view.ahead if view else None,
                email=bool(view and view.has_email),
            )
        flash(message, "success")
    return redirect(url_for("web.ticket_status", token=token, lang=lang) + "#turn-alert", 303)
