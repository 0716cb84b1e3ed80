"""Waitlist API ("Terminwecker"): join, look up, confirm and leave the waitlist by its token;
look at, accept and decline an offered time by the offer's token (docs/waitlist.md)."""

from __future__ import annotations

from flask import jsonify

from ..errors import N_, ValidationFailed
from ..ratelimits import write_limit
from ..waitlist import services as waitlist
from . import bp
from .booking import appointment_json
from .contract import json_body


def _list_or_none(data: dict, field: str) -> list | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationFailed(
            N_("%(field)s must be a list."), field=field, params={"field": field}
        )
    return value


def _text_or_none(data: dict, field: str) -> str | None:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(
            N_("%(field)s must be a string."), field=field, params={"field": field}
        )
    return value


@bp.post("/v1/waitlist")
@write_limit
def create_waitlist_request():
    data = json_body()
    services = data.get("services")
    if not isinstance(services, list | str):
        raise ValidationFailed(N_("services must be a list of service codes."), field="services")
    persons = data.get("persons", 1)
    if not isinstance(persons, int) or isinstance(persons, bool):
        raise ValidationFailed(N_("persons must be a whole number."), field="persons")
    view = waitlist.request_waitlist(
        services,
        persons,
        offices=_list_or_none(data, "offices"),
        first_day=_text_or_none(data, "first_day"),
        last_day=_text_or_none(data, "last_day"),
        weekdays=_list_or_none(data, "weekdays"),
        earliest=_text_or_none(data, "earliest"),
        latest=_text_or_none(data, "latest"),
        name=_text_or_none(data, "name"),
        email=_text_or_none(data, "email"),
        phone=_text_or_none(data, "phone"),
        lang=_text_or_none(data, "lang"),
    )
    return jsonify(view.to_api()), 201


@bp.post("/v1/appointments/<token>/waitlist")
@write_limit
def create_earlier_request(token: str):
    data = json_body()
    view = waitlist.request_earlier(
        token,
        first_day=_text_or_none(data, "first_day"),
        weekdays=_list_or_none(data, "weekdays"),
        earliest=_text_or_none(data, "earliest"),
        latest=_text_or_none(data, "latest"),
    )
    return jsonify(view.to_api()), 201


@bp.get("/v1/waitlist/<token>")
def get_waitlist_request(token: str):
    return jsonify(waitlist.get_waitlist(token).to_api())


@bp.post("/v1/waitlist/<token>/confirm")
@write_limit
def confirm_waitlist_request(token: str):
    return jsonify(waitlist.confirm_waitlist(token).to_api())


@bp.post("/v1/waitlist/<token>/cancel")
@write_limit
def cancel_waitlist_request(token: str):
    return jsonify(waitlist.cancel_waitlist(token).to_api())


@bp.get("/v1/waitlist/offers/<token>")
def get_waitlist_offer(token: str):
    return jsonify(waitlist.get_offer(token).to_api())


@bp.post("/v1/waitlist/offers/<token>/accept")
@write_limit
def accept_waitlist_offer(token: str):
    return jsonify(appointment_json(waitlist.accept_offer(token)))


@bp.post("/v1/waitlist/offers/<token>/decline")
@write_limit
def decline_waitlist_offer(token: str):
    return jsonify(waitlist.decline_offer(token).to_api())


WAITLIST_ENDPOINTS = {
    "api.create_waitlist_request",
    "api.create_earlier_request",
    "api.get_waitlist_request",
    "api.confirm_waitlist_request",
    "api.cancel_waitlist_request",
    "api.get_waitlist_offer",
    "api.accept_waitlist_offer",
    "api.decline_waitlist_offer",
}
