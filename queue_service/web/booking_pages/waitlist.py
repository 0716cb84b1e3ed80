"""The waitlist pages ("Terminwecker") in the booking flow: ask to be told of a freed time, see
and leave the request, and take or pass on an offered time. State changes are POSTs behind a
page, like the rest of /termin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

from babel.dates import get_day_names
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import clock
from ...booking import services as booking
from ...booking import slots
from ...booking.formatting import clock_text, day_text
from ...errors import InvalidTransition, Refused, ValidationFailed
from ...offices import services as offices
from ...ratelimits import write_limit
from ...waitlist import services as waitlist
from . import bp
from .views import _lang

WEEKDAYS = range(0, 6)  # Monday to Saturday (the offices' days)
TIMES = [time(h, m) for h in range(7, 19) for m in (0, 30)]
FIELD_MESSAGES = {
    "first_day": lambda: _("Please choose a first day from today on."),
    "last_day": lambda: _(
        "Please choose a last day on or after the first day (at most %(n)s days).",
        n=current_app.config["WAITLIST_MAX_RANGE_DAYS"],
    ),
    "latest": lambda: _("The latest time must not lie before the earliest."),
    "offices": lambda: _("Please choose offices that offer all the chosen services."),
    "services": lambda: _("Please choose at least one service that can be booked online."),
}


@dataclass(frozen=True)
class WaitlistForm:
    """What the form holds: the defaults on first view, the resident's entries after a POST."""

    offices: list[str] = field(default_factory=list)
    first_day: str = ""
    last_day: str = ""
    weekdays: list[str] = field(default_factory=list)
    earliest: str = ""
    latest: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    consent: bool = False


def _weekday_label(weekday: int) -> str:
    return get_day_names("wide", locale=_lang())[weekday]


def _offices_for(req: slots.BookingRequest):
    return slots.offices_offering(req)


def _form_context(req, values: WaitlistForm, errors: dict) -> dict:
    return {
        "req": req,
        "names": [s.name_en if _lang() == "en" else s.name_de for s in req.services],
        "offices": _offices_for(req),
        "weekdays": [(d, _weekday_label(d)) for d in WEEKDAYS],
        "times": [t.strftime("%H:%M") for t in TIMES],
        "values": values,
        "errors": errors,
        "double_opt_in": current_app.config["BOOKING_DOUBLE_OPT_IN"],
        "max_days": current_app.config["WAITLIST_MAX_RANGE_DAYS"],
    }


@bp.route("/warteliste", methods=["GET", "POST"])
@write_limit
def waitlist_form():
    req = slots.resolve_request(
        request.values.getlist("services") or request.values.get("services"),
        request.values.get("persons"),
    )
    today = clock.now().astimezone(clock.LOCAL_TZ).date()
    if request.method == "GET":
        office = request.args.get("office")
        values = WaitlistForm(
            offices=[office] if office else [],
            first_day=today.isoformat(),
            last_day=(today + timedelta(days=28)).isoformat(),
        )
        return render_template("booking_web/waitlist_form.html", **_form_context(req, values, {}))
    form = request.form
    values = WaitlistForm(
        offices=form.getlist("offices"),
        first_day=form.get("first_day", ""),
        last_day=form.get("last_day", ""),
        weekdays=form.getlist("weekdays"),
        earliest=form.get("earliest", ""),
        latest=form.get("latest", ""),
        name=form.get("name", ""),
        email=form.get("email", ""),
        phone=form.get("phone", ""),
        consent=form.get("consent") == "yes",
    )
    errors: dict[str, str] = {}
    problems = booking.contact_problems(values.name, values.email, values.phone)
    errors.update({name: _(message) for name, message in problems.items()})
    if not values.consent:
        errors["consent"] = _("Please agree so that we can tell you about a free time.")
    if not errors:
        try:
            view = waitlist.request_waitlist(
                req.codes,
                req.persons,
                offices=values.offices or None,
                first_day=values.first_day or None,
                last_day=values.last_day or None,
                weekdays=values.weekdays or None,
                earliest=values.earliest or None,
                latest=values.latest or None,
                name=values.name,
                email=values.email,
                phone=values.phone or None,
                lang=_lang(),
            )
        except ValidationFailed as error:
            message = FIELD_MESSAGES.get(error.field or "")
            errors[error.field or "first_day"] = message() if message else str(error)
        except Refused:
            errors["email"] = _(
                "This e-mail address is already on the waitlist %(n)s times. Please cancel a "
                "request you no longer need first.",
                n=current_app.config["WAITLIST_MAX_ACTIVE_PER_EMAIL"],
            )
        else:
            return redirect(url_for("booking_web.waitlist_page", token=view.token, neu=1))
    return (
        render_template("booking_web/waitlist_form.html", **_form_context(req, values, errors)),
        422,
    )


def _day(value: date) -> str:
    return day_text(value, _lang())


def _offer_context(offer) -> dict:
    lang = _lang()
    start, end = offer.start.astimezone(clock.LOCAL_TZ), offer.end.astimezone(clock.LOCAL_TZ)
    deadline = offer.expires_at.astimezone(clock.LOCAL_TZ)
    current = offer.current_start.astimezone(clock.LOCAL_TZ) if offer.current_start else None
    return {
        "offer": offer,
        "day": day_text(start, lang),
        "time": clock_text(start, lang),
        "end": clock_text(end, lang),
        "deadline": f"{day_text(deadline, lang)}, {clock_text(deadline, lang)}",
        "current": f"{day_text(current, lang)}, {clock_text(current, lang)}" if current else None,
        "services": [s.name(lang) for s in offer.services],
    }


@bp.get("/warteliste/<token>")
def waitlist_page(token: str):
    view = waitlist.get_waitlist(token)
    lang = _lang()
    return render_template(
        "booking_web/waitlist.html",
        view=view,
        first_day=_day(view.first_day),
        last_day=_day(view.last_day),
        services=[s.name(lang) for s in view.services],
        weekdays=[_weekday_label(d) for d in view.weekdays] if view.weekdays else None,
        earliest=view.earliest.strftime("%H:%M") if view.earliest else None,
        latest=view.latest.strftime("%H:%M") if view.latest else None,
        just_created=request.args.get("neu") == "1",
        offer=_offer_context(view.open_offer) if view.open_offer else None,
    )


@bp.route("/warteliste/<token>/bestaetigen", methods=["GET", "POST"])
@write_limit
def waitlist_confirm(token: str):
    view = waitlist.get_waitlist(token)
    if request.method == "POST":
        try:
            waitlist.confirm_waitlist(token)
        except InvalidTransition:
            flash(_("This waitlist request can no longer be confirmed. Please ask again."), "error")
        else:
            flash(_("Thank you: you are on the waitlist now."), "success")
        return redirect(url_for("booking_web.waitlist_page", token=token))
    return render_template("booking_web/waitlist_action.html", view=view, action="confirm")


@bp.route("/warteliste/<token>/abmelden", methods=["GET", "POST"])
@write_limit
def waitlist_cancel(token: str):
    view = waitlist.get_waitlist(token)
    if request.method == "POST":
        try:
            waitlist.cancel_waitlist(token)
        except InvalidTransition:
            flash(_("This waitlist request has already ended."), "error")
        else:
            flash(_("You have left the waitlist."), "success")
        return redirect(url_for("booking_web.waitlist_page", token=token))
    return render_template("booking_web/waitlist_action.html", view=view, action="cancel")


@bp.get("/angebot/<token>")
def offer_page(token: str):
    offer = waitlist.get_offer(token)
    return render_template("booking_web/waitlist_offer.html", **_offer_context(offer))


@bp.post("/angebot/<token>/annehmen")
@write_limit
def offer_accept(token: str):
    try:
        booked = waitlist.accept_offer(token)
    except InvalidTransition:
        flash(_("This offer is no longer open. The time has gone to someone else."), "error")
        return redirect(url_for("booking_web.offer_page", token=token))
    except Refused:
        flash(
            _(
                "This e-mail address already has the most appointments allowed. Please cancel one first."
            ),
            "error",
        )
        return redirect(url_for("booking_web.offer_page", token=token))
    flash(_("The time is yours."), "success")
    return redirect(url_for("booking_web.manage", token=booked.token))


@bp.post("/angebot/<token>/ablehnen")
@write_limit
def offer_decline(token: str):
    try:
        waitlist.decline_offer(token)
    except InvalidTransition:
        flash(_("This offer is no longer open."), "error")
    else:
        flash(
            _("Thank you: the time goes to the next person. You stay on the waitlist."), "success"
        )
    return redirect(url_for("booking_web.offer_page", token=token))


@bp.route("/verwalten/<token>/frueher", methods=["GET", "POST"])
@write_limit
def earlier(token: str):
    view = booking.get_appointment(token)
    if request.method == "POST":
        try:
            entry = waitlist.request_earlier(token)
        except (InvalidTransition, ValidationFailed):
            flash(_("Only a confirmed appointment that lies ahead can be moved."), "error")
            return redirect(url_for("booking_web.manage", token=token))
        return redirect(url_for("booking_web.waitlist_page", token=entry.token, neu=1))
    lang = _lang()
    start = view.local_start
    return render_template(
        "booking_web/waitlist_earlier.html",
        view=view,
        when=f"{day_text(start, lang)}, {clock_text(start, lang)}",
        office=offices.get_office(view.office.slug),
    )
