from __future__ import annotations

import calendar as month_calendar
from collections import OrderedDict
from datetime import date, datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ... import clock
from ...auth.web import staff_user
from ...booking import links, privacy, slots
from ...booking import services as booking
from ...booking.formatting import clock_text, day_text, short_day_text
from ...booking.payloads import AppointmentView
from ...errors import N_, InvalidTransition, NotFound, Refused, SlotTaken, ValidationFailed
from ...offices import calendar
from ...offices.models import Office, WindowKind
from ...offices.services import cached_office, list_services
from ...printing.qr import qr_png_data_uri
from ...ratelimits import search_limit, write_limit
from .. import directory
from . import bp

GROUPS = OrderedDict(
    [
        ("documents", _l("Identity documents")),
        ("registration", _l("Registration")),
        ("short", _l("Quick matters")),
        ("certificates", _l("Certificates")),
        ("driving", _l("Driving licences")),
        ("other", _l("Other services")),
    ]
)
STEPS = [_l("Services"), _l("Office"), _l("Day"), _l("Time"), _l("Your details")]


def _lang() -> str:
    return str(get_locale() or "de")


def _flow_args(req: slots.BookingRequest, **extra) -> dict:
    return {"services": ",".join(req.codes), "persons": req.persons, **extra}


def _request_from_args(office=None) -> slots.BookingRequest:
    return slots.resolve_request(
        request.args.getlist("services") or request.args.get("services"),
        request.args.get("persons"),
        office,
    )


def _day_arg() -> date:
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        raise NotFound(N_("There is no such day. Please choose a day in the calendar.")) from None


def _slot_label(slot: slots.Slot, tz) -> dict:
    lang = _lang()
    start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    return {
        "value": start.isoformat(),
        "time": clock_text(start, lang),
        "end": clock_text(end, lang),
        "day": day_text(start, lang),
        "short_day": short_day_text(start, lang),
        "hour": start.hour,
    }


def _months(
    first: date, last: date, free_days: dict[date, int], closed: dict[date, str] | None = None
) -> list[dict]:
    """The calendar months from ``first`` to ``last`` as weeks of days (Monday first)."""
    months, cursor = [], date(first.year, first.month, 1)
    lang = _lang()
    from babel.dates import format_date

    while cursor <= last:
        weeks = []
        for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(
            cursor.year, cursor.month
        ):
            if week[-1] < first or week[0] > last:
                continue  # a whole week outside the bookable period
            weeks.append(
                [
                    None
                    if d.month != cursor.month
                    else {
                        "date": d,
                        "free": free_days.get(d, 0),
                        "closed": (closed or {}).get(d),
                        "label": day_text(d, lang),
                        "bookable": first <= d <= last,
                    }
                    for d in week
                ]
            )
        months.append({"title": format_date(cursor, "LLLL y", locale=lang), "weeks": weeks})
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return months


def _weekday_names() -> list[tuple[str, str]]:
    from babel.dates import get_day_names

    lang = _lang()
    short, wide = get_day_names("abbreviated", locale=lang), get_day_names("wide", locale=lang)
    return [(short[i], wide[i]) for i in range(7)]


# ---------------------------------------------------------------- step 1: services


def _services_message() -> str:
    return _(
        "Please choose at least one service (at most %(n)s) that can be booked together.",
        n=current_app.config["BOOKING_MAX_SERVICES"],
    )


def _start_page(errors: dict[str, str]):
    services = [s for s in list_services() if s.online_bookable]
    groups: OrderedDict = OrderedDict((key, []) for key in GROUPS)
    for service in services:
        groups.setdefault(service.group if service.group in GROUPS else "other", []).append(service)
    chosen = slots.parse_service_codes(
        request.args.getlist("services") or request.args.get("services")
    )
    return render_template(
        "booking_web/start.html",
        groups=[(GROUPS[k], v) for k, v in groups.items() if v],
        chosen=chosen,
        persons=request.args.get("persons", "1"),
        max_persons=current_app.config["BOOKING_MAX_PERSONS"],
        max_services=current_app.config["BOOKING_MAX_SERVICES"],
        errors=errors,
        step=1,
        steps=STEPS,
        lang=_lang(),
    ), (422 if errors else 200)


@bp.get("/")
def start():
    return _start_page({})


def _back_to_start(error: ValidationFailed):
    if error.field == "persons":
        return _start_page({"persons": _("Please choose the number of persons.")})
    return _start_page({"services": _services_message()})


# ---------------------------------------------------------------- step 2: office


@bp.get("/ort")
@search_limit
def choose_office():
    try:
        req = _request_from_args()
    except ValidationFailed as error:
        return _back_to_start(error)
    lang = _lang()
    offices = slots.offices_offering(req, include_mobile=True)
    earliest = {slot.office_id: slot for slot in slots.earliest_slots(req, offices)}
    rows = []
    # the fixed offices with a free time, earliest first (a mobile office is not "anywhere")
    soonest: list[tuple[datetime, dict]] = []
    for office in offices:
        slot = earliest.get(office.id)
        row = {
            "office": office,
            "office_url": url_for("web.office", slug=office.slug),
            "mobile_dates": directory.mobile_dates(office, lang)[:3],
            "slot": _slot_label(slot, calendar.office_tz(office)) if slot else None,
        }
        rows.append(row)
        if slot and not office.is_mobile:
            soonest.append((slot.start, row))
    anywhere = [pair[1] for pair in sorted(soonest, key=lambda pair: pair[0])][:3]
    alternatives = [s for s in req.services if s.online_alternative_url]
    return render_template(
        "booking_web/office.html",
        req=req,
        rows=rows,
        anywhere=anywhere,
        alternatives=alternatives,
        flow=_flow_args(req),
        names=[s.name(lang) for s in req.services],
        step=2,
        steps=STEPS,
        lang=lang,
    )


# ---------------------------------------------------------------- step 3: day


def _calendar_context(office, req: slots.BookingRequest) -> dict:
    h = slots.horizon(tz=calendar.office_tz(office))
    found = slots.free_slots(office, req)
    tz = calendar.office_tz(office)
    free_days: dict[date, int] = {}
    for slot in found:
        day = slot.start.astimezone(tz).date()
        free_days[day] = free_days.get(day, 0) + 1
    closures = directory.closures_ahead(office, h.first_day, h.last_day, _lang())
    return {
        "months": _months(
            h.first_day, h.last_day, free_days, {c["date"]: c["reason"] for c in closures}
        ),
        "closures": closures,
        "office_url": url_for("web.office", slug=office.slug),
        "weekdays": _weekday_names(),
        "has_free": bool(found),
        "last_day": day_text(h.last_day, _lang()),
        "release_time": current_app.config["BOOKING_RELEASE_TIME"],
    }


@bp.get("/kalender")
@search_limit
def choose_day():
    office = cached_office(request.args.get("office", ""))
    try:
        req = _request_from_args(office)
    except ValidationFailed as error:
        return _back_to_start(error)
    lang = _lang()
    return render_template(
        "booking_web/calendar.html",
        office=office,
        req=req,
        names=[s.name(lang) for s in req.services],
        day_url=lambda d: url_for(
            "booking_web.choose_time", office=office.slug, day=d.isoformat(), **_flow_args(req)
        ),
        back_url=url_for("booking_web.choose_office", **_flow_args(req)),
        waitlist_url=url_for("booking_web.waitlist_form", office=office.slug, **_flow_args(req)),
        step=3,
        steps=STEPS,
        lang=lang,
        mode="book",
        **_calendar_context(office, req),
    )


# ---------------------------------------------------------------- step 4: time


def _times_context(office, req: slots.BookingRequest, day: date) -> dict:
    tz = calendar.office_tz(office)
    found = slots.free_slots(office, req, day, day)
    hours: OrderedDict = OrderedDict()
    for slot in found:
        label = _slot_label(slot, tz)
        hours.setdefault(label["hour"], []).append(label)
    closed = directory.closures_ahead(office, day, day, _lang())
    return {
        "hours": hours,
        "day_label": day_text(day, _lang()),
        "day": day,
        "closed_reason": closed[0]["reason"] if closed else None,
        "places": sorted(
            {w.place for w in calendar.windows(office, day, WindowKind.APPOINTMENT) if w.place}
        ),
        "office_url": url_for("web.office", slug=office.slug),
    }


@bp.get("/zeiten")
@search_limit
def choose_time():
    office = cached_office(request.args.get("office", ""))
    try:
        req = _request_from_args(office)
    except ValidationFailed as error:
        return _back_to_start(error)
    day = _day_arg()
    lang = _lang()
    return render_template(
        "booking_web/times.html",
        office=office,
        req=req,
        names=[s.name(lang) for s in req.services],
        flow=_flow_args(req),
        mode="book",
        back_url=url_for("booking_web.choose_day", office=office.slug, **_flow_args(req)),
        step=4,
        steps=STEPS,
        lang=lang,
        **_times_context(office, req, day),
    )


def _unbookable(office, req: slots.BookingRequest, start: datetime) -> str | None:
    """Why ``start`` can never be booked (past, too soon, not yet released, not an appointment
    time), or None; a time that is merely taken passes (the seats decide that)."""
    try:
        slots.check_slot(office, req, start)
    except (SlotTaken, ValidationFailed):
        tz = calendar.office_tz(office)
        h = slots.horizon(tz=tz)
        if start <= clock.now():
            return _("This time has already passed. Please choose one of the times offered.")
        if start < h.earliest_start:
            return _(
                "This time is too soon to be booked online. Please choose one of the times offered."
            )
        if start.astimezone(tz).date() > h.last_day:
            return _(
                "This day cannot be booked yet. Please choose one of the days offered in the "
                "calendar."
            )
        return _("There is no appointment at this time. Please choose one of the times offered.")
    return None


@bp.post("/halten")
@write_limit
def hold():
    form = request.form
    office_slug = form.get("office", "")
    services, persons = form.get("services", ""), form.get("persons", "1")
    try:
        start = clock.parse_moment(form.get("start", ""))
    except ValueError:
        abort(400)
    office = cached_office(office_slug)
    try:
        req = slots.resolve_request(services, persons, office)
    except ValidationFailed as error:
        return _back_to_start(error)
    refused = _unbookable(office, req, start)
    if refused:
        flash(refused, "error")
        return redirect(
            url_for(
                "booking_web.choose_day", office=office_slug, services=services, persons=persons
            )
        )
    try:
        view = booking.hold_slot(office_slug, services, persons, start)
    except SlotTaken:
        flash(_("Sorry, this time has just been taken. Please choose another one."), "error")
        local_day = start.astimezone(clock.LOCAL_TZ).date().isoformat()
        return redirect(
            url_for(
                "booking_web.choose_time",
                office=office_slug,
                day=local_day,
                services=services,
                persons=persons,
            )
        )
    return redirect(url_for("booking_web.details", token=view.token))


# ---------------------------------------------------------------- step 5: details


def _summary(view: AppointmentView) -> dict:
    lang = _lang()
    start, end = view.local_start, view.local_end
    return {
        "day": day_text(start, lang),
        "time": clock_text(start, lang),
        "end": clock_text(end, lang),
        "services": [s.name(lang) for s in view.services],
    }


@bp.get("/daten/<token>")
def details(token: str):
    view = booking.get_appointment(token)
    if view.name:  # already booked with this link
        return redirect(url_for("booking_web.manage", token=token))
    return _details_page(view, {}, {})


def _details_page(view: AppointmentView, values: dict, errors: dict, status: int = 200):
    lang = _lang()
    expires = view.expires_at.astimezone(view.office.tz) if view.expires_at else None
    return render_template(
        "booking_web/details.html",
        view=view,
        summary=_summary(view),
        values=values,
        errors=errors,
        hold_until=clock_text(expires, lang) if expires else None,
        hold_expired=view.status == "expired",
        double_opt_in=current_app.config["BOOKING_DOUBLE_OPT_IN"],
        step=5,
        steps=STEPS,
        lang=lang,
    ), status


@bp.post("/daten/<token>")
@write_limit
def submit_details(token: str):
    view = booking.get_appointment(token)
    if view.name:
        return redirect(url_for("booking_web.manage", token=token))
    form = request.form
    name, email, phone = (form.get(k, "") for k in ("name", "email", "phone"))
    consent = form.get("consent") == "yes"
    values = {"name": name, "email": email, "phone": phone, "consent": consent}
    errors = {
        field: _(message) for field, message in booking.contact_problems(name, email, phone).items()
    }
    if not consent:
        errors["consent"] = _("Please agree to the processing of your data to book.")
    if errors:
        return _details_page(view, values, errors, 422)
    try:
        booked = booking.complete_hold(token, name, email, phone or None, _lang())
    except ValidationFailed as error:
        field = error.field if error.field in booking.CONTACT_MESSAGES else "name"
        return _details_page(view, values, {field: _(booking.CONTACT_MESSAGES[field])}, 422)
    except SlotTaken:
        flash(_("Sorry, this time has just been taken. Please choose another one."), "error")
        return redirect(
            url_for(
                "booking_web.choose_time",
                office=view.office.slug,
                day=view.local_start.date().isoformat(),
                services=",".join(view.service_codes),
                persons=view.persons,
            )
        )
    except Refused:  # the e-mail limit
        message = _(
            "This e-mail address already has %(n)s booked appointments. Please cancel one "
            "you no longer need first.",
            n=current_app.config["MAX_ACTIVE_APPOINTMENTS_PER_EMAIL"],
        )
        return _details_page(view, values, {"email": message}, 409)
    except InvalidTransition:
        return redirect(url_for("booking_web.manage", token=token))
    return redirect(url_for("booking_web.manage", token=booked.token, neu=1))


# ---------------------------------------------------------------- manage


def _manage_view(token: str) -> AppointmentView:
    view = booking.get_appointment(token)
    if view.status == "held" or (view.status == "expired" and not view.name):
        # a hold that was never completed: back to the form
        abort(redirect(url_for("booking_web.details", token=token)))
    return view


@bp.get("/verwalten/<token>")
def manage(token: str):
    view = _manage_view(token)
    privacy.log_staff_view(view, "manage_page", actor=staff_user())
    lang = _lang()
    return render_template(
        "booking_web/manage.html",
        view=view,
        summary=_summary(view),
        documents=view.documents(lang),
        just_booked=request.args.get("neu") == "1",
        qr=qr_png_data_uri(view.code) if view.code and view.status == "confirmed" else None,
        changeable=view.is_changeable(),
        lang=lang,
        expires=clock_text(view.expires_at.astimezone(view.office.tz), lang)
        if view.expires_at
        else None,
    )


@bp.route("/verwalten/<token>/bestaetigen", methods=["GET", "POST"])
@write_limit
def confirm(token: str):
    view = _manage_view(token)
    if request.method == "POST":
        return _confirm_post(token)
    return render_template(
        "booking_web/confirm_action.html",
        view=view,
        summary=_summary(view),
        action="confirm",
        lang=_lang(),
    )


def _confirm_post(token: str):
    try:
        booking.confirm_appointment(token)
    except InvalidTransition:
        flash(_("This appointment can no longer be confirmed. Please book a new one."), "error")
        return redirect(url_for("booking_web.manage", token=token))
    flash(_("Thank you: your appointment is confirmed."), "success")
    return redirect(url_for("booking_web.manage", token=token))


@bp.route("/verwalten/<token>/absagen", methods=["GET", "POST"])
@write_limit
def cancel(token: str):
    view = _manage_view(token)
    if request.method == "POST":
        return _cancel_post(token)
    if not view.is_changeable():
        flash(_("This appointment can no longer be cancelled."), "error")
        return redirect(url_for("booking_web.manage", token=token))
    return render_template(
        "booking_web/confirm_action.html",
        view=view,
        summary=_summary(view),
        action="cancel",
        lang=_lang(),
    )


def _cancel_post(token: str):
    try:
        booking.cancel_appointment(token)
    except InvalidTransition:
        flash(_("This appointment can no longer be cancelled."), "error")
        return redirect(url_for("booking_web.manage", token=token))
    flash(_("Your appointment has been cancelled."), "success")
    return redirect(url_for("booking_web.manage", token=token))


def _reschedulable(token: str) -> tuple[AppointmentView, Office, slots.BookingRequest]:
    view = _manage_view(token)
    if view.status != "confirmed" or not view.is_changeable():
        flash(_("This appointment can no longer be moved."), "error")
        abort(redirect(url_for("booking_web.manage", token=token)))
    office = cached_office(view.office.slug)
    return view, office, slots.resolve_request(view.service_codes, view.persons, office)


@bp.get("/verwalten/<token>/verschieben")
@search_limit
def reschedule_day(token: str):
    view, office, req = _reschedulable(token)
    lang = _lang()
    return render_template(
        "booking_web/calendar.html",
        office=office,
        req=req,
        names=[s.name(lang) for s in view.services],
        day_url=lambda d: url_for("booking_web.reschedule_time", token=token, day=d.isoformat()),
        back_url=url_for("booking_web.manage", token=token),
        mode="reschedule",
        view=view,
        summary=_summary(view),
        lang=lang,
        **_calendar_context(office, req),
    )


@bp.get("/verwalten/<token>/verschieben/zeiten")
@search_limit
def reschedule_time(token: str):
    view, office, req = _reschedulable(token)
    lang = _lang()
    return render_template(
        "booking_web/times.html",
        office=office,
        req=req,
        names=[s.name(lang) for s in view.services],
        mode="reschedule",
        view=view,
        token=token,
        back_url=url_for("booking_web.reschedule_day", token=token),
        lang=lang,
        **_times_context(office, req, _day_arg()),
    )


@bp.route("/verwalten/<token>/verschieben/bestaetigen", methods=["GET", "POST"])
@write_limit
def reschedule_confirm(token: str):
    view, office, req = _reschedulable(token)
    try:
        start = clock.parse_moment(request.values.get("start", ""))
    except ValueError:
        abort(400)
    refused = _unbookable(office, req, start)
    if refused:
        flash(refused, "error")
        return redirect(url_for("booking_web.reschedule_day", token=token))
    if request.method == "POST":
        return _reschedule_post(token, view, start)
    new = _slot_label(
        slots.Slot(office.id, start, start + (view.end - view.start), 0), calendar.office_tz(office)
    )
    return render_template(
        "booking_web/confirm_action.html",
        view=view,
        summary=_summary(view),
        action="reschedule",
        new=new,
        start=start.isoformat(),
        lang=_lang(),
    )


def _reschedule_post(token: str, view: AppointmentView, start: datetime):
    try:
        booking.reschedule_appointment(token, start)
    except SlotTaken:
        flash(_("Sorry, this time has just been taken. Please choose another one."), "error")
        return redirect(
            url_for(
                "booking_web.reschedule_time",
                token=token,
                day=start.astimezone(view.office.tz).date().isoformat(),
            )
        )
    except InvalidTransition:
        flash(_("This appointment can no longer be moved."), "error")
        return redirect(url_for("booking_web.manage", token=token))
    flash(_("Your appointment has been moved. We have sent you an e-mail."), "success")
    return redirect(url_for("booking_web.manage", token=token))


@bp.app_template_global()
def booking_manage_path(token: str) -> str:
    return links.MANAGE_PATH.format(token=token)
