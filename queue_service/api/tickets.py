"""The live queue API: issue tickets, public ticket and office status, the clerk's actions."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import get_locale

from ..auth.web import (
    current_device,
    signed_in_staff,
    staff_or_device,
    staff_required,
    staff_user,
)
from ..booking import next_free
from ..errors import N_, Unauthorized, ValidationFailed
from ..extensions import limiter
from ..links import absolute_url
from ..offices.services import get_office
from ..tickets import printouts, reads
from ..tickets import services as queue
from . import bp
from .contract import json_body


def _lang() -> str:
    return str(get_locale() or "de")


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ValidationFailed(
            N_("%(field)s must be true or false."), field=name, params={"field": name}
        )
    return value


def _absolute(path: str) -> str:
    return absolute_url(path)


def _with_links(view: dict) -> dict:
    token = view.get("token")
    if token:
        view["status_url"] = _absolute(f"/t/{token}")
        view["pdf_url"] = _absolute(f"/api/v1/tickets/{token}/pdf")
    return view


def _ticket_language(body: dict) -> str:
    lang = body.get("lang")
    if lang is None:
        return _lang()
    if lang not in printouts.LANGUAGES:
        raise ValidationFailed(
            N_("lang must be one of %(languages)s."),
            field="lang",
            params={"languages": ", ".join(printouts.LANGUAGES)},
        )
    return lang


def _kiosk_key() -> str:
    device = current_device()
    return f"kiosk-device:{device.id}" if device else "kiosk-device:none"


def _not_a_kiosk() -> bool:
    return staff_user() is not None or current_device() is None


@bp.post("/v1/offices/<slug>/tickets")
@limiter.limit(
    lambda: "{};{}".format(
        current_app.config["KIOSK_RATELIMIT_TICKETS"],
        current_app.config["KIOSK_RATELIMIT_TICKETS_HOURLY"],
    ),
    key_func=_kiosk_key,
    exempt_when=_not_a_kiosk,
)
@staff_or_device
def issue_ticket(slug: str):
    user = staff_user()
    device = None if user else current_device()
    if user is None and device is None:  # who asks comes before what they send: 401, then 422
        raise Unauthorized(
            N_("Log in as staff, send a bearer token, or use a registered kiosk (X-Device-Token).")
        )
    body = json_body()
    lang = _ticket_language(body)
    view = queue.issue_ticket(
        slug,
        body.get("service"),
        priority=_flag(body, "priority"),
        force=_flag(body, "force"),
        idempotency_key=request.headers.get("Idempotency-Key"),
        actor=user,
        device=device,
        lang=lang,
    )
    view = _with_links(view)
    if device is not None and device.printer and current_app.config["KIOSK_CUPS_PRINTING"]:
        # after the commit; the PDF goes to CUPS in the background (see printouts.print_on_server)
        printouts.print_on_server(
            view["token"], device.printer, view["status_url"], lang=lang, paper=body.get("paper")
        )
        view["printing"] = "server"
    return jsonify(view), 201, {"Location": view["status_url"]}


@bp.get("/v1/tickets/<token>")
def ticket_status(token: str):
    view = reads.ticket_status(token, _lang())
    view["status_url"] = _absolute(f"/t/{token}")
    return jsonify(view), 200, {"Cache-Control": "no-store"}


@bp.post("/v1/offices/<slug>/counters/<int:number>/call-next")
@staff_required()
def call_next(slug: str, number: int):
    view = queue.call_next(slug, number, actor=signed_in_staff(), lang=_lang())
    if view is None:
        return "", 204
    return jsonify(_with_links(view))


@bp.post("/v1/offices/<slug>/counters/<int:number>/call")
@staff_required()
def call_ticket(slug: str, number: int):
    body = json_body()
    view = queue.call_ticket(
        slug,
        number,
        actor=signed_in_staff(),
        token=body.get("token"),
        number=body.get("number"),
        lang=_lang(),
    )
    return jsonify(_with_links(view))


@bp.get("/v1/offices/<slug>/counters/<int:number>")
@staff_required()
def counter_overview(slug: str, number: int):
    return jsonify(reads.counter_overview(slug, number, actor=signed_in_staff(), lang=_lang()))


@bp.post("/v1/offices/<slug>/counters/<int:number>/open")
@staff_required()
def counter_open(slug: str, number: int):
    return jsonify(queue.open_counter(slug, number, actor=signed_in_staff(), lang=_lang()))


@bp.post("/v1/offices/<slug>/counters/<int:number>/pause")
@staff_required()
def counter_pause(slug: str, number: int):
    return jsonify(queue.pause_counter(slug, number, actor=signed_in_staff(), lang=_lang()))


@bp.post("/v1/offices/<slug>/counters/<int:number>/close")
@staff_required()
def counter_close(slug: str, number: int):
    return jsonify(queue.close_counter(slug, number, actor=signed_in_staff(), lang=_lang()))


@bp.post("/v1/tickets/<token>/recall")
@staff_required()
def ticket_recall(token: str):
    return jsonify(_with_links(queue.recall_ticket(token, actor=signed_in_staff(), lang=_lang())))


@bp.post("/v1/tickets/<token>/start")
@staff_required()
def ticket_start(token: str):
    return jsonify(_with_links(queue.start_serving(token, actor=signed_in_staff(), lang=_lang())))


@bp.post("/v1/tickets/<token>/finish")
@staff_required()
def ticket_finish(token: str):
    performed = json_body().get("performed_service")
    return jsonify(
        _with_links(
            queue.finish_ticket(
                token, actor=signed_in_staff(), performed_service_code=performed, lang=_lang()
            )
        )
    )


@bp.post("/v1/tickets/<token>/no-show")
@staff_required()
def ticket_no_show(token: str):
    return jsonify(_with_links(queue.mark_no_show(token, actor=signed_in_staff(), lang=_lang())))


@bp.post("/v1/tickets/<token>/park")
@staff_required()
def ticket_park(token: str):
    return jsonify(_with_links(queue.park_ticket(token, actor=signed_in_staff(), lang=_lang())))


@bp.post("/v1/tickets/<token>/unpark")
@staff_required()
def ticket_unpark(token: str):
    position = json_body().get("position")
    return jsonify(
        _with_links(
            queue.unpark_ticket(token, actor=signed_in_staff(), position=position, lang=_lang())
        )
    )


@bp.post("/v1/tickets/<token>/transfer")
@staff_required()
def ticket_transfer(token: str):
    body = json_body()
    view = queue.transfer_ticket(
        token,
        actor=signed_in_staff(),
        service_code=body.get("service"),
        counter_number=body.get("counter"),
        position=body.get("position"),
        lang=_lang(),
    )
    return jsonify(_with_links(view))


@bp.post("/v1/tickets/<token>/cancel")
def cancel_ticket(token: str):
    """Staff cancel (session or bearer); without a login the token holder (the visitor) does."""
    view = queue.cancel_ticket(token, actor=staff_user(), lang=_lang())
    if staff_user() is None:
        view.pop("token", None)
    return jsonify(view)


@bp.get("/v1/offices/<slug>/queue")
@staff_required()
def office_queue(slug: str):
    return jsonify(reads.queue_overview(slug, actor=signed_in_staff(), lang=_lang()))


@bp.get("/v1/offices/<slug>/status")
def office_status(slug: str):
    status = reads.office_status(slug, _lang())
    status = next_free.office_status_with_next_free(status, get_office(slug))
    return jsonify(status), 200, {"Cache-Control": "no-cache"}
