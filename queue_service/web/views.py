"""Public pages. Views only call services and render."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from ..offices.services import get_service
from . import bp, directory


@bp.get("/")
def home():
    return render_template("web/home.html", rows=directory.office_rows(_lang()))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico before they read the page's icon link."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/standorte")
def offices():
    return render_template("web/offices.html", rows=directory.office_rows(_lang()))


@bp.get("/standorte/<slug>")
def office(slug: str):
    return render_template("web/office.html", **directory.office_page(slug, _lang()))


@bp.get("/datenschutz")
def privacy():
    return render_template("web/privacy.html")


@bp.get("/barrierefreiheit")
def accessibility():
    return render_template("web/accessibility.html")


@bp.get("/impressum")
def imprint():
    return render_template("web/imprint.html")


CANCELLABLE = ("waiting", "called", "parked")
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "de")


def _status_strings() -> dict:
    """The status page's texts for its script (current language)."""
    from flask_babel import gettext as _

    return {
        "labels": {
            "waiting": _("Waiting"),
            "called": _("Called – please come to the counter"),
            "serving": _("Being served"),
            "done": _("Done"),
            "no_show": _("Missed (not present when called)"),
            "parked": _("Set aside – please wait to be called again"),
            "cancelled": _("Cancelled"),
            "not_served": _("Not served today"),
        },
        "about_minutes": _("about %(minutes)s minutes", minutes="{n}"),
        "soon": _("very soon"),
        "no_estimate": _("No estimate available right now"),
        "your_turn": _("It is your turn"),
        "go_to": _("Please go to %(counter)s", counter="{counter}"),
        "counter_n": _("counter %(n)s", n="{n}"),
        "offline": _("Connection lost – this page updates every %(n)s seconds", n="{n}"),
        "live": _("Live: this page updates by itself"),
        "notify_on": _("You will be alerted here when you are called."),
        "notify_blocked": _("Notifications are blocked in this browser; keep this page open."),
        "warn_text": _(
            "The counters open now may not reach your number before service ends today at "
            "%(time)s. Your ticket stays valid and you may keep waiting – or choose another way:",
            time="{time}",
        ),
        "warn_next_free": _("Next free appointment: %(when)s", when="{when}"),
        "warn_none_free": _("No free appointment can be booked online for this matter right now."),
    }


def counter_label(counter: dict | None, lang: str) -> str:
    """German: the sign at the counter ("Platz 3"); English: "counter 3"."""
    from flask_babel import gettext as _

    if not counter:
        return ""
    if lang == "de" or counter["name"] != f"Platz {counter['number']}":
        return counter["name"]
    return _("counter %(n)s", n=counter["number"])


# the status page speaks every language a ticket can be issued in (the kiosk's)
TICKET_LANGUAGES = ("de", "en", "tr", "ar", "uk")


def wait_text(minutes: int | None) -> str:
    """The estimated wait in words, as the kiosk and the paper ticket say it."""
    from flask_babel import gettext as _

    from ..printing.strings import SOON_MINUTES

    if minutes is None:
        return _("No estimate available right now")
    if minutes <= SOON_MINUTES:
        return _("very soon")
    return _("about %(minutes)s minutes", minutes=minutes)


@bp.get("/t/<token>")
def ticket_status(token: str):
    """The visitor's status page behind the QR code: live through the ticket's own room.

    It opens in the language the ticket was issued in (the kiosk's choice); ``?lang=`` switches.
    """
    from flask_babel import force_locale

    from ..tickets.reads import ticket_status as status_of

    asked = _asked_ticket_language()
    ticket = status_of(token, asked if asked in ("de", "en") else "de")
    lang = _ticket_language(ticket, asked)
    with force_locale(lang):
        return _ticket_page(token, ticket, lang)


def _asked_ticket_language() -> str | None:
    """The language a ticket page was asked for (``?lang=`` or the form's), if tickets speak it."""
    asked = request.args.get("lang") or request.form.get("lang")
    return asked if asked in TICKET_LANGUAGES else None


def _ticket_language(ticket: dict, asked: str | None) -> str:
    """The language of a ticket's pages: the one asked for, else the ticket's own (the kiosk's
    choice), else the site's."""
    return asked or (ticket["lang"] if ticket["lang"] in TICKET_LANGUAGES else _lang())


def _ticket_page(token: str, ticket: dict, lang: str):
    from ..offices.texts import service_name
    from ..printing.strings import SOON_MINUTES

    names = [service_name(get_service(s["code"]), lang) for s in ticket["services"]]
    config = {
        "token": token,
        "lang": lang,
        "status": ticket["status"],
        "recallCount": ticket.get("recall_count", 0),
        "calledAt": ticket.get("called_at"),
        "counter": ticket["counter"],
        "stateUrl": url_for("api.ticket_status", token=token),
        "pollSeconds": int(current_app.config.get("DISPLAY_POLL_SECONDS", 10)),
        "soonMinutes": SOON_MINUTES,
        "cancellable": list(CANCELLABLE),
        "strings": _status_strings(),
        "alternatives": ticket.get("alternatives"),
    }
    return (
        render_template(
            "web/ticket_status.html",
            ticket=ticket,
            token=token,
            config=config,
            counter_text=counter_label(ticket["counter"], lang),
            cancellable=ticket["status"] in CANCELLABLE,
            service_names=names,
            wait=wait_text(ticket["estimated_wait_minutes"]),
            languages=TICKET_LANGUAGES,
        ),
        200,
        _NO_STORE,
    )


@bp.route("/t/<token>/cancel", methods=["GET", "POST"])
def cancel_ticket(token: str):
    """Give the ticket back: a confirmation page, then a POST (with the CSRF token)."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from ..errors import DomainError
    from ..tickets import services as queue
    from ..tickets.reads import ticket_status as status_of

    asked = _asked_ticket_language()
    ticket = status_of(token, asked if asked in ("de", "en") else "de")
    lang = _ticket_language(ticket, asked)
    back = redirect(url_for("web.ticket_status", token=token, lang=asked), 303)
    with force_locale(lang):  # the ticket's language, as on its status page
        if request.method == "POST":
            try:
                queue.cancel_ticket(token, actor=None, lang="en" if asked == "en" else "de")
            except DomainError:
                flash(_("This ticket can no longer be cancelled."), "error")
            else:
                flash(_("Your ticket has been cancelled. You can leave the queue."), "success")
            return back
        if ticket["status"] not in CANCELLABLE:
            flash(_("This ticket can no longer be cancelled."), "error")
            return back
        page = render_template(
            "web/ticket_cancel.html",
            ticket=ticket,
            token=token,
            lang=asked,
            languages=TICKET_LANGUAGES,
        )
    return page, 200, _NO_STORE


@bp.get("/t/sw.js")
def ticket_service_worker():
    """A minimal service worker: phones (Android Chrome) show notifications only through one."""
    response = current_app.send_static_file("js/ticket-sw.js")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/t/"
    return response
