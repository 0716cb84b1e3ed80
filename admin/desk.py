"""The clerk desk: choose an office and a counter, then work the queue at ``/admin/desk/<slug>/<n>``.

Presentation only: the page reads through ``queue_service.tickets.reads`` and opens the counter
through ``queue_service.tickets.services``; everything the clerk does afterwards goes through the
JSON API from ``static/desk.js`` (fetch with X-CSRFToken, no page reloads).
"""

from __future__ import annotations

from typing import NoReturn

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from queue_service import clock
from queue_service.auth.web import login_required
from queue_service.errors import UnknownOffice
from queue_service.offices.services import (
    active_counters,
    get_office,
    list_offices,
    office_services,
)
from queue_service.printing.strings import SOON_MINUTES
from queue_service.tickets import reads
from queue_service.tickets import services as queue

from . import bp
from .desk_text import desk_strings

CHOICE_COOKIE = "qs_desk"
CHOICE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days


def _lang() -> str:
    return str(get_locale() or "de")


def _my_offices() -> list:
    allowed = current_user.office_ids()
    return [o for o in list_offices() if allowed is None or o.id in allowed]


def _refuse(status: int, title: str, detail: str) -> NoReturn:
    """Stop with a friendly page in the user's language."""
    abort(make_response(render_template("error.html", title=title, detail=detail), status))


def _office_for_clerk(slug: str):
    """The office, or a 404/403 page."""
    try:
        office = get_office(slug)
    except UnknownOffice:
        _refuse(404, _("Not found"), _("There is no office %(slug)s.", slug=slug))
    if not current_user.can_access(office.id):
        _refuse(
            403, _("No access"), _("Your account has no access to %(office)s.", office=office.name)
        )
    return office


def _counter_numbers(office) -> list[int]:
    return [c.number for c in active_counters(office)]


def _remembered() -> tuple[str, int] | None:
    """The office and counter this browser last opened (``slug:number``), if any."""
    raw = request.cookies.get(CHOICE_COOKIE, "")
    slug, _sep, number = raw.partition(":")
    if slug and number.isdigit():
        return slug, int(number)
    return None


@bp.get("/desk")
@login_required
def desk():
    """Step 1 and 2: the clerk's offices, then the counters of the chosen office."""
    offices = _my_offices()
    remembered = _remembered()
    slug = request.args.get("office")
    if slug is None:
        if remembered and any(o.slug == remembered[0] for o in offices):
            slug = remembered[0]
        elif len(offices) == 1:
            slug = offices[0].slug
    office = _office_for_clerk(slug) if slug else None
    counters = (
        reads.queue_overview(office.slug, actor=current_user, lang=_lang())["counters"]
        if office
        else []
    )
    selected = remembered[1] if office and remembered and remembered[0] == office.slug else None
    all_codes = [s.code for s in office_services(office)] if office else []
    return render_template(
        "admin/desk_choose.html",
        offices=offices,
        office=office,
        counters=counters,
        selected=selected,
        me=current_user.username,
        all_codes=all_codes,
    )


@bp.post("/desk")
@login_required
def open_desk():
    """Open the chosen counter for this clerk, remember the choice, go to the desk."""
    slug = request.form.get("office", "")
    number = request.form.get("counter", "")
    office = _office_for_clerk(slug)
    if not number.isdigit() or int(number) not in _counter_numbers(office):
        flash(_("Choose a counter."), "error")
        return redirect(url_for("admin.desk", office=office.slug))
    queue.open_counter(office.slug, int(number), actor=current_user, lang=_lang())
    response = redirect(url_for("admin.desk_counter", slug=office.slug, number=int(number)))
    response.set_cookie(
        CHOICE_COOKIE,
        f"{office.slug}:{int(number)}",
        max_age=CHOICE_MAX_AGE,
        path="/admin",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/desk/<slug>/<int:number>")
@login_required
def desk_counter(slug: str, number: int):
    """The desk of one counter: the page renders the current state; desk.js keeps it live."""
    office = _office_for_clerk(slug)
    lang = _lang()
    overview = reads.queue_overview(office.slug, actor=current_user, lang=lang)
    counter = next((c for c in overview["counters"] if c["number"] == number), None)
    if counter is None:
        _refuse(
            404,
            _("Not found"),
            _("%(office)s has no counter %(number)s.", office=office.name, number=number),
        )
    services = [{"code": s.code, "name": s.name(lang)} for s in office_services(office)]
    counters = [{"number": c.number, "name": c.display_name} for c in active_counters(office)]
    config = {
        "office": office.slug,
        "officeName": office.name,
        "counter": number,
        "counterName": counter["name"],
        "me": current_user.username,
        "lang": lang,
        # the desk's clock is the application's (CLOCK_START included), never the browser's
        "serverTime": clock.now().isoformat(timespec="milliseconds"),
        "timezone": office.timezone or "Europe/Berlin",
        "soonMinutes": SOON_MINUTES,
        "noShowAfterRecalls": int(current_app.config["NO_SHOW_AFTER_RECALLS"]),
        "pollSeconds": 5,
        "liveSafetySeconds": 30,
        "api": url_for("api.office_queue", slug=office.slug).rsplit("/queue", 1)[0],
        "ticketApi": "/api/v1/tickets/",
        "chooseUrl": url_for("admin.desk"),
        "loginUrl": url_for("admin.login", next=request.path),
        "strings": desk_strings(),
    }
    response = current_app.make_response(
        render_template(
            "admin/desk.html",
            office=office,
            counter=counter,
            services=services,
            counters=counters,
            overview=overview,
            config=config,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response
