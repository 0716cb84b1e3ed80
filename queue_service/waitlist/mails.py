"""The waitlist's mails, in the request's language: confirm the address, you are on the list, a
time is free for you (with the accept link and the deadline)."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import clock
from ..booking.formatting import clock_text, day_text
from ..notify import mail, outbox
from . import links
from .payloads import OfferView, WaitlistView

CONFIRM = "confirm"
LISTED = "listed"
OFFER = "offer"


def _render(name: str, **context) -> str:
    return current_app.jinja_env.get_template(name).render(**context)


def _services(services, lang: str) -> str:
    return ", ".join(s.name(lang) for s in services)


def build(kind: str, view: WaitlistView) -> EmailMessage:
    lang = view.lang
    with force_locale(lang):
        if kind == CONFIRM:
            subject = _("Please confirm your waitlist request")
        else:
            subject = _("You are on the waitlist for an appointment")
        context = {
            "kind": kind,
            "view": view,
            "lang": lang,
            "services": _services(view.services, lang),
            "offices": ", ".join(name for _slug, name in view.offices) or _("any Bürgeramt"),
            "first_day": day_text(view.first_day, lang),
            "last_day": day_text(view.last_day, lang),
            "manage_url": links.request_url(view.token),
            "confirm_url": links.confirm_url(view.token),
            "confirm_minutes": current_app.config["CONFIRM_MINUTES"],
            "offer_minutes": current_app.config["WAITLIST_OFFER_MINUTES"],
        }
        text = _render("mail/waitlist.txt", **context)
        html = _render("mail/waitlist.html", subject=subject, **context)
    return mail.compose(view.email or "", subject, text, html)


def build_offer(view: OfferView) -> EmailMessage:
    lang = view.lang
    with force_locale(lang):
        start, end = view.start.astimezone(clock.LOCAL_TZ), view.end.astimezone(clock.LOCAL_TZ)
        deadline = view.expires_at.astimezone(clock.LOCAL_TZ)
        when = f"{day_text(start, lang)}, {clock_text(start, lang)}"
        subject = _("A time has become free for you: %(when)s", when=when)
        context = {
            "kind": OFFER,
            "view": view,
            "lang": lang,
            "day": day_text(start, lang),
            "time": clock_text(start, lang),
            "end_time": clock_text(end, lang),
            "deadline": f"{day_text(deadline, lang)}, {clock_text(deadline, lang)}",
            "current": (
                f"{day_text(view.current_start.astimezone(clock.LOCAL_TZ), lang)}, "
                f"{clock_text(view.current_start.astimezone(clock.LOCAL_TZ), lang)}"
            )
            if view.current_start
            else None,
            "services": _services(view.services, lang),
            "offer_url": links.offer_url(view.token),
        }
        text = _render("mail/waitlist_offer.txt", **context)
        html = _render("mail/waitlist_offer.html", subject=subject, **context)
    return mail.compose(view.email or "", subject, text, html)


def enqueue(kind: str, view: WaitlistView) -> None:
    """Compose one waitlist mail into the outbox, inside the unit of work of the change."""
    if view.email:
        outbox.enqueue(build(kind, view), f"waitlist_{kind}")


def enqueue_offer(view: OfferView) -> None:
    """Compose the offer mail into the outbox, inside the unit of work of the offer."""
    if view.email:
        outbox.enqueue(build_offer(view), "waitlist_offer")
