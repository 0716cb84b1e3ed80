"""Public booking API: free slots, holds, appointments and managing them by manage token.

POSTs from a browser session need an X-CSRFToken header (GET /api/v1/csrf-token with the same
cookie jar); integrations authenticate with ``Authorization: Bearer`` instead and skip CSRF.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from flask import Response, jsonify, request
from flask_babel import get_locale

from .. import clock
from ..auth.web import bearer_token, staff_user
from ..booking import links, privacy, slots
from ..booking import services as booking
from ..booking.payloads import AppointmentView
from ..errors import N_, Unauthorized, ValidationFailed
from ..offices import calendar
from ..offices.services import cached_office, office_summary
from ..ratelimits import search_limit, write_limit
from . import bp
from .contract import json_body


@bp.before_request
def _refuse_invalid_bearer_tokens():
    """The public booking routes need no login, but a bearer token that is sent must be valid:
    it lifts the CSRF check and the rate limit, so a forged one is refused, not ignored."""
    if request.endpoint in BOOKING_ENDPOINTS and bearer_token() and staff_user() is None:
        raise Unauthorized(N_("The bearer token is not valid."))


def _day(value: str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(
            N_("%(field)s must be a date like 2026-11-26."), field=field, params={"field": field}
        ) from exc


def parse_start(value, field: str = "start") -> datetime:
    """An ISO 8601 moment with offset (a naive one is read as Hannover local time)."""
    if not isinstance(value, str) or not value:
        raise ValidationFailed(
            N_("%(field)s is required, e.g. 2026-11-26T08:00:00+01:00."),
            field=field,
            params={"field": field},
        )
    try:
        return clock.parse_moment(value)
    except ValueError as exc:
        raise ValidationFailed(
            N_("%(field)s must be an ISO 8601 date and time, e.g. 2026-11-26T08:00:00+01:00."),
            params={"field": field},
            field=field,
        ) from exc


def _lang() -> str:
    return str(get_locale() or "de")


def slot_json(slot: slots.Slot, tz) -> dict:
    return {
        "start": slot.start.astimezone(tz).isoformat(),
        "end": slot.end.astimezone(tz).isoformat(),
    }


def runs_json_text(runs: list[slots.SlotRun], tz) -> str:
    """Slots as a JSON array of local ISO 8601 times with offset, written as text: formatted
    per window from minutes of the day (a six-week list has about 1,500 slots; one aware
    datetime per slot was the slow part), and without a dict per slot for the JSON encoder to
    walk (a third of a search's CPU). Keys in the order the app's JSON provider sorts them."""
    out: list[str] = []
    for run in runs:
        local = run.window.start.astimezone(tz)
        offset = local.utcoffset() or timedelta(0)  # aware: never None
        step = int(run.unit.total_seconds()) // 60
        duration = run.units * step
        first_minute = local.hour * 60 + local.minute
        if (
            run.window.end.astimezone(tz).utcoffset() != offset
            or local.second
            or first_minute + (run.starts[-1] * step) + duration >= 24 * 60
        ):  # DST inside, or past midnight
            out.extend(
                json.dumps(slot_json(slot, tz), sort_keys=True, separators=(",", ":"))
                for slot in run.slots()
            )
            continue
        sign = "-" if offset < timedelta(0) else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        suffix = f':00{sign}{minutes // 60:02d}:{minutes % 60:02d}"'
        prefix = '"' + local.date().isoformat() + "T"
        # list comprehensions: a generator was resumed twice per slot (~3,100 calls a search)
        begins = [first_minute + i * step for i in run.starts]
        out += [
            f'{{"end":{prefix}{_HH_MM[begin + duration]}{suffix},"start":{prefix}{_HH_MM[begin]}{suffix}}}'
            for begin in begins
        ]
    return "[" + ",".join(out) + "]"


_SLOTS_MARK = "qs-slots-json-text"


def jsonify_with_slots(payload: dict, slots_text: str) -> Response:
    """``jsonify(payload)`` with the JSON text ``slots_text`` as its "slots" (spliced into the
    provider's output in place of a marker, so separators and key order stay the app's)."""
    response = jsonify(payload | {"slots": _SLOTS_MARK})
    body = response.get_data(as_text=True)
    response.set_data(body.replace(f'"{_SLOTS_MARK}"', slots_text, 1))
    return response


_HH_MM = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)]


def appointment_json(view: AppointmentView) -> dict:
    return view.to_api(links.manage_url(view.token) if view.token else None)


@bp.get("/v1/offices/<slug>/slots")
@search_limit
def office_slots(slug: str):
    slots.search_revisions()
    office = cached_office(slug)
    req = slots.resolve_request(request.args.get("services"), request.args.get("persons"), office)
    first, last = _day(request.args.get("from"), "from"), _day(request.args.get("to"), "to")
    if first and last and last < first:
        raise ValidationFailed(N_("to must not be before from."), field="to")
    tz = calendar.office_tz(office)
    h = slots.horizon(tz=tz)
    return jsonify_with_slots(
        {
            "office": office_summary(office),
            "services": req.codes,
            "persons": req.persons,
            "duration_minutes": req.minutes,
            "bookable_from": h.earliest_start.astimezone(tz).isoformat(),
            "bookable_until": h.last_day.isoformat(),
        },
        slots.kept_free_runs(office, req, first, last, _office_slots_text),
    )


def _office_slots_text(runs: list[slots.SlotRun], office) -> str:
    """An office's free slots as the JSON text of its search (kept with the search's answer)."""
    return runs_json_text(runs, calendar.office_tz(office))


@bp.get("/v1/slots/earliest")
@search_limit
def earliest_slots():
    req = slots.resolve_request(request.args.get("services"), request.args.get("persons"))
    offices = {o.id: o for o in slots.offices_offering(req)}
    found = slots.earliest_slots(req, list(offices.values()))
    return jsonify(
        {
            "services": req.codes,
            "persons": req.persons,
            "duration_minutes": req.minutes,
            "offices": [
                {
                    "office": office_summary(offices[s.office_id]),
                    **slot_json(s, calendar.office_tz(offices[s.office_id])),
                }
                for s in found
            ],
        }
    )


@bp.post("/v1/holds")
@write_limit
def create_hold():
    data = json_body()
    view = booking.hold_slot(
        _office_slug(data),
        data.get("services"),
        data.get("persons", 1),
        parse_start(data.get("start")),
    )
    tz = view.office.tz
    assert view.expires_at is not None  # a hold always expires
    return jsonify(
        {
            "hold": view.token,
            "expires_at": view.expires_at.astimezone(tz).isoformat(),
            "start": view.start.astimezone(tz).isoformat(),
            "end": view.end.astimezone(tz).isoformat(),
            "office": view.office.slug,
            "services": view.service_codes,
            "persons": view.persons,
        }
    ), 201


def _office_slug(data: dict) -> str:
    slug = data.get("office")
    if not isinstance(slug, str) or not slug:
        raise ValidationFailed(
            N_("office (the office slug, e.g. aegi) is required."), field="office"
        )
    return slug


def _optional_str(data: dict, field: str) -> str | None:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(
            N_("%(field)s must be a string."), field=field, params={"field": field}
        )
    return value


@bp.post("/v1/appointments")
@write_limit
def create_appointment():
    data = json_body()
    view = booking.book_appointment(
        _office_slug(data),
        data.get("services"),
        data.get("persons", 1),
        parse_start(data.get("start")),
        _optional_str(data, "name"),
        _optional_str(data, "email"),
        _optional_str(data, "phone"),
        _optional_str(data, "lang") or _lang(),
        hold_token=_optional_str(data, "hold"),
    )
    assert view.token is not None  # the call that books returns the link's token
    response = jsonify(appointment_json(view))
    response.status_code = 201
    response.headers["Location"] = links.manage_url(view.token)
    return response


@bp.get("/v1/appointments/<token>")
def get_appointment(token: str):
    view = booking.get_appointment(token)
    privacy.log_staff_view(view, "api", actor=staff_user())
    return jsonify(appointment_json(view))


@bp.post("/v1/appointments/<token>/confirm")
@write_limit
def confirm_appointment(token: str):
    return jsonify(appointment_json(booking.confirm_appointment(token)))


@bp.post("/v1/appointments/<token>/cancel")
@write_limit
def cancel_appointment(token: str):
    return jsonify(appointment_json(booking.cancel_appointment(token)))


@bp.post("/v1/appointments/<token>/reschedule")
@write_limit
def reschedule_appointment(token: str):
    data = json_body()
    return jsonify(
        appointment_json(booking.reschedule_appointment(token, parse_start(data.get("start"))))
    )


BOOKING_ENDPOINTS = {
    "api.office_slots",
    "api.earliest_slots",
    "api.create_hold",
    "api.create_appointment",
    "api.get_appointment",
    "api.confirm_appointment",
    "api.cancel_appointment",
    "api.reschedule_appointment",
}
