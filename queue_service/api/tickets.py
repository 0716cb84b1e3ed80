"""The live queue API: issue tickets, public ticket and office status, the clerk's actions."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import get_locale

from ..auth.web import current_device, staff_required, staff_user
from ..booking import next_free
from ..errors import Unauthorized, ValidationFailed
from ..extensions import limiter
from ..links import absolute_url
from ..offices.services import get_office
from ..tickets import printouts, reads
from ..tickets import services as queue
from . import bp
from .openapi import add_paths, add_schemas, json_response, problem_responses


def _lang() -> str:
    return str(get_locale() or "de")


def _body() -> dict:
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.", field="body")
    return body


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ValidationFailed(f"{name} must be true or false.", field=name)
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
            f"lang must be one of {', '.join(printouts.LANGUAGES)}.", field="lang"
        )
    return lang


def _kiosk_key() -> str:
    device = current_device()
    return f"kiosk-device:{device.id}" if device else "kiosk-device:none"


def _not_a_kiosk() -> bool:
    return staff_user() is not None or current_device() is None


@bp.post("/v1/offices/<slug>/tickets")
@limiter.limit(
    lambda: current_app.config["KIOSK_RATELIMIT_TICKETS"],
    key_func=_kiosk_key,
    exempt_when=_not_a_kiosk,
)
def issue_ticket(slug: str):
    body = _body()
    user = staff_user()
    device = None if user else current_device()
    if user is None and device is None:
        raise Unauthorized(
            "Log in as staff, send a bearer token, or use a registered kiosk (X-Device-Token)."
        )
    lang = _ticket_language(body)
    view = queue.issue_ticket(
        slug,
        body.get("service"),
        priority=_flag(body, "priority"),
        idempotency_key=request.headers.get("Idempotency-Key"),
        user=user,
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
    view = queue.call_next(slug, number, staff_user(), _lang())
    if view is None:
        return "", 204
    return jsonify(_with_links(view))


@bp.post("/v1/offices/<slug>/counters/<int:number>/call")
@staff_required()
def call_ticket(slug: str, number: int):
    body = _body()
    view = queue.call_ticket(
        slug, number, staff_user(), token=body.get("token"), number=body.get("number"), lang=_lang()
    )
    return jsonify(_with_links(view))


@bp.get("/v1/offices/<slug>/counters/<int:number>")
@staff_required()
def counter_overview(slug: str, number: int):
    return jsonify(reads.counter_overview(slug, number, staff_user(), _lang()))


def _counter_action(action):
    def view(slug: str, number: int):
        return jsonify(action(slug, number, staff_user(), _lang()))

    return view


for _name, _action in (
    ("open", queue.open_counter),
    ("pause", queue.pause_counter),
    ("close", queue.close_counter),
):
    bp.add_url_rule(
        f"/v1/offices/<slug>/counters/<int:number>/{_name}",
        f"counter_{_name}",
        staff_required()(_counter_action(_action)),
        methods=["POST"],
    )


def _ticket_action(path: str, call):
    def view(token: str):
        return jsonify(_with_links(call(token, _body())))

    view.__name__ = f"ticket_{path.replace('-', '_')}"
    bp.add_url_rule(
        f"/v1/tickets/<token>/{path}", view.__name__, staff_required()(view), methods=["POST"]
    )


_ticket_action("recall", lambda t, b: queue.recall_ticket(t, staff_user(), _lang()))
_ticket_action("start", lambda t, b: queue.start_serving(t, staff_user(), _lang()))
_ticket_action(
    "finish", lambda t, b: queue.finish_ticket(t, staff_user(), b.get("performed_service"), _lang())
)
_ticket_action("no-show", lambda t, b: queue.mark_no_show(t, staff_user(), _lang()))
_ticket_action("park", lambda t, b: queue.park_ticket(t, staff_user(), _lang()))
_ticket_action(
    "unpark", lambda t, b: queue.unpark_ticket(t, staff_user(), b.get("position"), _lang())
)
_ticket_action(
    "transfer",
    lambda t, b: queue.transfer_ticket(
        t,
        staff_user(),
        service_code=b.get("service"),
        counter_number=b.get("counter"),
        position=b.get("position"),
        lang=_lang(),
    ),
)


@bp.post("/v1/tickets/<token>/cancel")
def cancel_ticket(token: str):
    """Staff cancel (session or bearer); without a login the token holder (the visitor) does."""
    view = queue.cancel_ticket(token, staff_user(), _lang())
    if staff_user() is None:
        view.pop("token", None)
    return jsonify(view)


@bp.get("/v1/offices/<slug>/queue")
@staff_required()
def office_queue(slug: str):
    return jsonify(reads.queue_overview(slug, staff_user(), _lang()))


@bp.get("/v1/offices/<slug>/status")
def office_status(slug: str):
    status = reads.office_status(slug, _lang())
    status = next_free.office_status_with_next_free(status, get_office(slug))
    return jsonify(status), 200, {"Cache-Control": "no-cache"}


# ---------------------------------------------------------------- OpenAPI

_ref = {"$ref": "#/components/schemas/"}
_nullable_int = {"type": ["integer", "null"]}
_named = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}

add_schemas(
    {
        "Refusal": {
            "allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {
                    "type": "object",
                    "properties": {
                        "reason": {
                            "type": "string",
                            "description": "machine-readable cause: closed, outside_walkin_hours, cap_reached, "
                            "service_not_offered, walkin_not_allowed, numbers_exhausted, counter_busy, "
                            "invalid_transition, recall_first, not_today, idempotency_key_reused",
                        }
                    },
                },
            ]
        },
        "TicketPublic": {
            "type": "object",
            "description": "A ticket as its holder sees it. No personal data.",
            "properties": {
                "number": {"type": "string", "example": "P042"},
                "status": {
                    "type": "string",
                    "enum": [
                        "waiting",
                        "called",
                        "serving",
                        "done",
                        "no_show",
                        "parked",
                        "cancelled",
                        "not_served",
                    ],
                },
                "kind": {"type": "string", "enum": ["walkin", "appointment"]},
                "service": _named,
                "office": {
                    "type": "object",
                    "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
                },
                "counter": {
                    "type": ["object", "null"],
                    "description": "once called: {number, name}",
                },
                "recall_count": {
                    "type": "integer",
                    "description": "how often the number was called "
                    "again at its counter (a status page alerts anew on each)",
                },
                "people_ahead": {
                    **_nullable_int,
                    "description": "null unless waiting or at a counter",
                },
                "estimated_wait_minutes": {
                    **_nullable_int,
                    "description": "null when no estimate is possible",
                },
                "issued_at": {"type": "string", "format": "date-time"},
                "called_at": {"type": ["string", "null"], "format": "date-time"},
                "business_date": {"type": "string", "format": "date"},
                "status_url": {"type": "string", "format": "uri"},
            },
        },
        "TicketStaff": {
            "allOf": [
                {"$ref": "#/components/schemas/TicketPublic"},
                {
                    "type": "object",
                    "properties": {
                        "token": {
                            "type": "string",
                            "description": "the ticket's secret (>= 128 bits)",
                        },
                        "pdf_url": {"type": "string", "format": "uri"},
                        "priority": {"type": "boolean"},
                        "recall_count": {"type": "integer"},
                        "transferred": {"type": "boolean"},
                        "target_counter": {"type": ["object", "null"]},
                        "due_at": {"type": ["string", "null"], "format": "date-time"},
                        "waiting_minutes": {"type": "integer"},
                        "performed_service": {"type": ["string", "null"]},
                        "actions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "actions the desk may offer now",
                        },
                    },
                },
            ]
        },
        "CounterView": {
            "type": "object",
            "properties": {
                "number": {"type": "integer"},
                "name": {"type": "string"},
                "status": {"type": "string", "enum": ["open", "paused", "closed"]},
                "user": {"type": ["object", "null"]},
                "services": {"type": "array", "items": {"type": "string"}},
                "current": {
                    "oneOf": [{"$ref": "#/components/schemas/TicketStaff"}, {"type": "null"}]
                },
                "waiting_for_counter": {"type": "integer"},
            },
        },
        "ServiceQueue": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "prefix": {"type": "string"},
                "walk_in_allowed": {"type": "boolean"},
                "waiting": {"type": "integer"},
                "longest_wait_minutes": {"type": "integer"},
                "estimated_wait_minutes": {
                    **_nullable_int,
                    "description": "for a ticket issued now",
                },
                "next_free_appointment": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "public status only: start (office-local time with offset) of the "
                    "earliest free appointment for this service, one person; null when "
                    "none is bookable within the booking horizon or it is not bookable online",
                },
            },
        },
        "OfficeQueue": {
            "type": "object",
            "properties": {
                "office": {"type": "object"},
                "business_date": {"type": "string", "format": "date"},
                "waiting_total": {"type": "integer"},
                "queue": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/TicketStaff"},
                    "description": "every waiting ticket in call order",
                },
                "services": {
                    "type": "array",
                    "items": {
                        "allOf": [
                            {"$ref": "#/components/schemas/ServiceQueue"},
                            {
                                "type": "object",
                                "properties": {
                                    "tickets": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/TicketStaff"},
                                    }
                                },
                            },
                        ]
                    },
                },
                "parked": {"type": "array", "items": {"$ref": "#/components/schemas/TicketStaff"}},
                "counters": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/CounterView"},
                },
            },
        },
        "OfficeStatus": {
            "type": "object",
            "description": "Public live figures of an office (no personal data).",
            "properties": {
                "office": {"type": "object"},
                "open": {"type": "boolean"},
                "walkin_open": {"type": "boolean"},
                "closed_reason": {"type": ["string", "null"]},
                "next_walkin_window": {"type": ["object", "null"]},
                "open_counters": {"type": "integer"},
                "waiting_total": {"type": "integer"},
                "next_free_appointment": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "start (office-local time with offset) of the earliest free "
                    "appointment for any one service, one person; null when none is "
                    "bookable within the booking horizon. Recomputed at most once a minute.",
                },
                "services": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/ServiceQueue"},
                },
            },
        },
    }
)

_staff_security = [{"bearer": []}, {"session": []}]
_slug = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "example": "aegi",
}
_number = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
    "description": "counter number",
}
_token = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}


def _refusals(*codes: int) -> dict:
    responses = problem_responses(*codes)
    if "409" in responses:
        responses["409"]["content"]["application/problem+json"]["schema"] = {
            "$ref": "#/components/schemas/Refusal"
        }
    return responses


def _json_body(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _ticket_op(summary: str, body: dict | None = None, extra: str = "") -> dict:
    op = {
        "summary": summary,
        "description": (
            "Staff of the ticket's office. An action that the ticket's state does not "
            "allow is refused with 409 and changes nothing. " + extra
        ).strip(),
        "tags": ["queue"],
        "security": _staff_security,
        "parameters": [_token],
        "responses": {
            "200": json_response("The ticket after the action", "TicketStaff"),
            **_refusals(401, 403, 404, 409, 422),
        },
    }
    if body:
        op["requestBody"] = body
    return op


_position = {"type": "string", "enum": ["front", "back"]}

add_paths(
    {
        "/api/v1/offices/{slug}/tickets": {
            "post": {
                "summary": "Issue a ticket",
                "description": (
                    "For staff (session or bearer) of the office and registered kiosks of the office "
                    "(X-Device-Token or the device cookie). Send an Idempotency-Key header per tap: a "
                    "repeated key returns the same ticket. Refused with 409 and a `reason` on closure "
                    "days, outside walk-in hours, for services needing an appointment or past the daily "
                    "caps. `priority` may only be set by staff. Kiosks are rate-limited per device "
                    "(KIOSK_RATELIMIT_TICKETS, 429). With KIOSK_CUPS_PRINTING on and a printer named for "
                    "the kiosk, the server prints the ticket after the commit and answers "
                    '`"printing": "server"`.'
                ),
                "tags": ["queue"],
                "security": [{"device": []}, *_staff_security],
                "parameters": [
                    _slug,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 64},
                    },
                ],
                "requestBody": _json_body(
                    {
                        "service": {"type": "string", "example": "PA"},
                        "priority": {"type": "boolean", "default": False},
                        "lang": {
                            "type": "string",
                            "enum": ["de", "en", "tr", "ar", "uk"],
                            "description": "language of the answer's texts and of a ticket the server prints",
                        },
                        "paper": {
                            "type": "string",
                            "enum": ["80mm", "58mm", "a6"],
                            "description": "paper of a ticket the server prints (default KIOSK_PAPER)",
                        },
                    },
                    ["service"],
                ),
                "responses": {
                    "201": json_response(
                        "The new ticket (with token, status_url and pdf_url)", "TicketStaff"
                    ),
                    **_refusals(401, 403, 404, 409, 422, 429),
                },
            }
        },
        "/api/v1/tickets/{token}": {
            "get": {
                "summary": "Public status of a ticket",
                "tags": ["queue"],
                "parameters": [_token],
                "responses": {
                    "200": json_response(
                        "Number, status, people ahead, estimate, counter once called",
                        "TicketPublic",
                    ),
                    **problem_responses(404),
                },
            }
        },
        "/api/v1/offices/{slug}/counters/{number}/call-next": {
            "post": {
                "summary": "Call the next ticket this counter can serve",
                "description": (
                    "Opens the counter for the caller if it was closed or paused. 409 "
                    "(`counter_busy`) while the counter still has a called or served ticket."
                ),
                "tags": ["queue"],
                "security": _staff_security,
                "parameters": [_slug, _number],
                "responses": {
                    "200": json_response(
                        "The called ticket (with token and counter)", "TicketStaff"
                    ),
                    "204": {"description": "Nobody is waiting for this counter"},
                    **_refusals(401, 403, 404, 409),
                },
            }
        },
        "/api/v1/offices/{slug}/counters/{number}/call": {
            "post": {
                "summary": "Call a specific ticket out of order (waiting or parked)",
                "tags": ["queue"],
                "security": _staff_security,
                "parameters": [_slug, _number],
                "requestBody": _json_body(
                    {"token": {"type": "string"}, "number": {"type": "string", "example": "P042"}}
                ),
                "responses": {
                    "200": json_response("The called ticket", "TicketStaff"),
                    **_refusals(401, 403, 404, 409, 422),
                },
            }
        },
        "/api/v1/offices/{slug}/counters/{number}": {
            "get": {
                "summary": "One counter: state, clerk, current ticket, tickets waiting for it",
                "tags": ["queue"],
                "security": _staff_security,
                "parameters": [_slug, _number],
                "responses": {
                    "200": json_response("The counter", "CounterView"),
                    **problem_responses(401, 403, 404),
                },
            }
        },
        **{
            f"/api/v1/offices/{{slug}}/counters/{{number}}/{name}": {
                "post": {
                    "summary": summary,
                    "tags": ["queue"],
                    "security": _staff_security,
                    "parameters": [_slug, _number],
                    "responses": {
                        "200": json_response("The counter", "CounterView"),
                        **_refusals(401, 403, 404, 409),
                    },
                }
            }
            for name, summary in (
                ("open", "Open the counter for the calling clerk"),
                ("pause", "Pause the counter (no new tickets; the current one may be finished)"),
                ("close", "Close the counter (409 while it still has a ticket)"),
            )
        },
        "/api/v1/tickets/{token}/recall": {
            "post": _ticket_op("Recall a called ticket (shown again)")
        },
        "/api/v1/tickets/{token}/start": {"post": _ticket_op("The visitor arrived: start serving")},
        "/api/v1/tickets/{token}/finish": {
            "post": _ticket_op(
                "Finish serving",
                _json_body(
                    {
                        "performed_service": {
                            "type": "string",
                            "description": "service code actually performed (default: the ticket's)",
                        }
                    }
                ),
            )
        },
        "/api/v1/tickets/{token}/no-show": {
            "post": _ticket_op(
                "Mark a called ticket as a no-show",
                extra="Allowed after NO_SHOW_AFTER_RECALLS recalls (default 2); before that 409 `recall_first`.",
            )
        },
        "/api/v1/tickets/{token}/park": {"post": _ticket_op("Park a ticket (frees the counter)")},
        "/api/v1/tickets/{token}/unpark": {
            "post": _ticket_op(
                "Put a parked ticket back into the queue",
                _json_body({"position": {**_position, "default": "front"}}),
            )
        },
        "/api/v1/tickets/{token}/transfer": {
            "post": _ticket_op(
                "Transfer to another service and/or counter, keeping the number",
                _json_body(
                    {
                        "service": {"type": "string"},
                        "counter": {"type": "integer"},
                        "position": {**_position, "default": "back"},
                    }
                ),
            )
        },
        "/api/v1/tickets/{token}/cancel": {
            "post": {
                "summary": "Cancel a ticket (staff, or the visitor holding the token)",
                "description": "Without a staff login the token holder cancels (a cookie session needs X-CSRFToken).",
                "tags": ["queue"],
                "parameters": [_token],
                "responses": {
                    "200": json_response("The cancelled ticket", "TicketPublic"),
                    **_refusals(403, 404, 409),
                },
            }
        },
        "/api/v1/offices/{slug}/queue": {
            "get": {
                "summary": "The office's live queue for the clerk desk",
                "description": "Waiting tickets in call order and per service (count, longest wait), parked "
                "tickets, and every counter with its state and current ticket.",
                "tags": ["queue"],
                "security": _staff_security,
                "parameters": [_slug],
                "responses": {
                    "200": json_response("The queue", "OfficeQueue"),
                    **problem_responses(401, 403, 404),
                },
            }
        },
        "/api/v1/offices/{slug}/status": {
            "get": {
                "summary": "Public live status of an office: waiting and estimated wait per service",
                "tags": ["queue"],
                "parameters": [_slug],
                "responses": {
                    "200": json_response("Live figures", "OfficeStatus"),
                    **problem_responses(404),
                },
            }
        },
    }
)
