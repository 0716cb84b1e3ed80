"""OpenAPI description of the routes in ``api/tickets.py``."""

from __future__ import annotations

from typing import Any

from . import add_paths, add_schemas, json_response, problem_responses

_ref = {"$ref": "#/components/schemas/"}
_nullable_int = {"type": ["integer", "null"]}
_named = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
_nullable_time = {"type": ["string", "null"], "format": "date-time"}
_nullable_uri = {"type": ["string", "null"], "format": "uri"}
# what a visitor the counters may not reach today can do instead: on a waiting ticket's status
# (``alternatives``) and in a ``served_out`` refusal
_ALTERNATIVES = {
    "service_ends": {
        **_nullable_time,
        "description": "when the office stops serving today (office-local, with offset)",
    },
    "expected_last_served": {
        **_nullable_time,
        "description": "when the counters open now are expected to finish the work already there",
    },
    "next_free_appointment": {
        **_nullable_time,
        "description": "the earliest free appointment for the service at the office, one "
        "person; null when none or not bookable online",
    },
    "book_url": {
        **_nullable_uri,
        "description": "where to book instead (the service's calendar at the office)",
    },
    "waitlist_url": {
        **_nullable_uri,
        "description": "where to ask to be told of a freed time; null when the service cannot "
        "be booked online",
    },
}

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
                            "invalid_transition, recall_first, not_today, idempotency_key_reused, "
                            "walkins_closed, served_out (this one also carries the fields below)",
                        },
                        **_ALTERNATIVES,
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
                "service": {
                    **_named,
                    "description": "the service the ticket is queued for (the first booked)",
                },
                "services": {
                    "type": "array",
                    "items": _named,
                    "description": "every service of the visit in booked order, the queued one "
                    "first (a checked-in appointment may have several; a walk-in has one)",
                },
                "persons": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "how many persons come (an appointment booked for several)",
                },
                "lang": {
                    "type": "string",
                    "enum": ["de", "en", "tr", "ar", "uk"],
                    "description": "the language the ticket was issued in (its status page "
                    "opens in it)",
                },
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
                "may_not_be_served": {
                    "type": "boolean",
                    "description": "public status only: true while the ticket waits and the "
                    "walk-in forecast says the counters open now may not reach it before service "
                    "ends today (docs/walk-in-forecast.md); the status page then warns its holder",
                },
                "alternatives": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/ServedOutAlternatives"},
                        {"type": "null"},
                    ],
                    "description": "public status only: set exactly when may_not_be_served",
                },
            },
        },
        "ServedOutAlternatives": {
            "type": "object",
            "description": "What a visitor who may not be served today can do instead. No "
            "personal data.",
            "properties": _ALTERNATIVES,
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
                "walkins_closed_reason": {
                    "type": ["string", "null"],
                    "description": "set when a manager stopped walk-in tickets early today: the "
                    "reason shown to visitors",
                },
                "next_walkin_window": {"type": ["object", "null"]},
                "open_counters": {"type": "integer"},
                "waiting_total": {"type": "integer"},
                "expected_last_served": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "when the counters open now are expected to finish today's "
                    "queue and the appointments still due (office-local time with offset); null "
                    "while no counter is open or the office is closed for the day",
                },
                "walkins_acceptable": {
                    "type": ["integer", "null"],
                    "description": "how many more walk-in visitors the counters open now can "
                    "still serve before closing (average walk-in duration); null outside "
                    "walk-in hours or while no counter is open",
                },
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

_staff_security: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
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
    "schema": {"type": "integer", "minimum": 1, "maximum": 9999},
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


def _links(**targets: str) -> dict:
    """OpenAPI links from an answer carrying a ticket's token to operations on that ticket
    (``name="get /api/v1/tickets/{token}"``); clients and Schemathesis's stateful runs follow them."""
    links = {}
    for name, target in targets.items():
        method, path = target.split(" ", 1)
        pointer = path.replace("~", "~0").replace("/", "~1")
        links[name] = {
            "operationRef": f"#/paths/{pointer}/{method}",
            "parameters": {"token": "$response.body#/token"},
        }
    return links


_AT_THE_COUNTER = _links(
    StartServing="post /api/v1/tickets/{token}/start",
    Recall="post /api/v1/tickets/{token}/recall",
    NoShow="post /api/v1/tickets/{token}/no-show",
    Park="post /api/v1/tickets/{token}/park",
    Finish="post /api/v1/tickets/{token}/finish",
)


def _ticket_op(
    summary: str, body: dict | None = None, extra: str = "", links: dict | None = None
) -> dict:
    op: dict[str, Any] = {
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
    if links:
        op["responses"]["200"]["links"] = links
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
                    "days, outside walk-in hours, for services needing an appointment, past the daily "
                    "caps, after a manager stopped walk-ins (`walkins_closed`) and when the walk-in "
                    "forecast says the counters open now cannot serve the visitor before service "
                    "ends today (`served_out`, the kiosk's rule; the answer carries "
                    "`next_free_appointment`, `book_url` and `waitlist_url`). Staff may issue such a "
                    "ticket deliberately with `force: true` (recorded on the ticket's issue event); "
                    "a kiosk sending `force` gets 403. `priority` may only be set by staff. Kiosks are rate-limited per device "
                    "(KIOSK_RATELIMIT_TICKETS per minute and KIOSK_RATELIMIT_TICKETS_HOURLY, 429). With KIOSK_CUPS_PRINTING on and a printer named for "
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
                        "force": {
                            "type": "boolean",
                            "default": False,
                            "description": "staff only: issue a walk-in although the forecast "
                            "says it cannot be served before closing (no `served_out` refusal)",
                        },
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
                    "201": {
                        **json_response(
                            "The new ticket (with token, status_url and pdf_url)", "TicketStaff"
                        ),
                        "links": _links(
                            TicketStatus="get /api/v1/tickets/{token}",
                            TicketPdf="get /api/v1/tickets/{token}/pdf",
                            CancelTicket="post /api/v1/tickets/{token}/cancel",
                            TransferTicket="post /api/v1/tickets/{token}/transfer",
                        ),
                    },
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
                    "200": {
                        **json_response(
                            "The called ticket (with token and counter)", "TicketStaff"
                        ),
                        "links": _AT_THE_COUNTER,
                    },
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
        "/api/v1/tickets/{token}/start": {
            "post": _ticket_op(
                "The visitor arrived: start serving",
                links=_links(Finish="post /api/v1/tickets/{token}/finish"),
            )
        },
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
                        "counter": {"type": "integer", "minimum": 1, "maximum": 9999},
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
