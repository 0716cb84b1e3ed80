"""OpenAPI description of the routes in ``api/display.py``."""

from __future__ import annotations

from typing import Any

from . import add_paths, add_schemas, json_response, problem_responses

_time = {"type": "string", "format": "date-time"}
_names = {"type": "object", "properties": {"de": {"type": "string"}, "en": {"type": "string"}}}
_call: dict[str, Any] = {
    "type": "object",
    "required": ["call_id", "number", "counter"],
    "properties": {
        "call_id": {
            "type": "string",
            "description": "names one call or recall; a client shows "
            "and announces each call_id once",
            "example": "P042-0-1795683600000",
        },
        "number": {"type": "string", "example": "P042"},
        "counter": {"type": ["integer", "null"], "example": 3},
        "counter_name": {"type": ["string", "null"], "example": "Platz 3"},
        "service": {"type": "string", "example": "PA"},
        "recall_count": {"type": "integer"},
        "called_at": _time,
        "active": {
            "type": "boolean",
            "description": "called there now (the visitor has not come yet); a call that is "
            "not active was served or is minutes old. Snapshot only",
        },
    },
}

add_schemas(
    {
        "DisplayCall": _call,
        "DisplayState": {
            "type": "object",
            "description": (
                "Everything a waiting-room display shows. Public: no personal data, no ticket tokens, "
                "no staff names. `seq` is the office's event sequence number: socket events with a "
                "higher seq follow; a client that sees a gap fetches this again "
                "(docs/realtime-protocol.md)."
            ),
            "required": [
                "office",
                "seq",
                "server_time",
                "services",
                "counters",
                "calls",
                "messages",
            ],
            "properties": {
                "office": {
                    "type": "object",
                    "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
                },
                "seq": {"type": "integer", "minimum": 0},
                "server_time": _time,
                "business_date": {"type": "string", "format": "date"},
                "open": {
                    "type": "boolean",
                    "description": "an opening window (walk-in or appointments) now",
                },
                "walkin_open": {"type": "boolean"},
                "closed_reason": {
                    "type": ["string", "null"],
                    "description": "holiday or closure today",
                },
                "waiting_total": {"type": "integer"},
                "services": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "prefix": {"type": "string"},
                            "name": _names,
                            "walk_in_allowed": {"type": "boolean"},
                            "waiting": {"type": "integer"},
                            "estimated_wait_minutes": {
                                "type": ["integer", "null"],
                                "description": "for a ticket issued now",
                            },
                        },
                    },
                },
                "counters": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "number": {"type": "integer"},
                            "name": {"type": "string"},
                            "status": {"type": "string", "enum": ["open", "paused", "closed"]},
                            "current": {
                                "oneOf": [
                                    {"type": "null"},
                                    {
                                        "type": "object",
                                        "properties": {
                                            **{
                                                k: v
                                                for k, v in _call["properties"].items()
                                                if k not in ("counter", "counter_name")
                                            },
                                            "status": {
                                                "type": "string",
                                                "enum": ["called", "serving"],
                                            },
                                        },
                                    },
                                ]
                            },
                        },
                    },
                },
                "calls": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/DisplayCall"},
                    "description": "the calls of the last DISPLAY_CALL_MINUTES (and every call still "
                    "active), newest first, each number once; never a number sent away since "
                    "(no-show, parked, transferred)",
                },
                "messages": {
                    "type": "array",
                    "description": "ticker messages showing now or later",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "office": {"type": "string"},
                            "text_de": {"type": "string"},
                            "text_en": {"type": ["string", "null"]},
                            "active_from": _time,
                            "active_until": {"type": ["string", "null"]},
                            "active": {"type": "boolean"},
                        },
                    },
                },
                "replay": {
                    "$ref": "#/components/schemas/DisplayReplay",
                    "description": "only with the query parameter since: the calls after it",
                },
            },
        },
        "DisplayReplay": {
            "type": "object",
            "description": (
                "Every ticket_called and call_withdrawn with a seq above `since` up to `seq` (the "
                "snapshot's), oldest first, as they were sent: the socket's display_replay "
                "(docs/realtime-protocol.md 4.7). `complete` is false when the gap reaches back "
                "past the kept window (DISPLAY_REPLAY_SEQS)."
            ),
            "required": ["office", "since", "seq", "complete", "events"],
            "properties": {
                "office": {"type": "string"},
                "since": {"type": "integer", "minimum": 0},
                "seq": {"type": "integer", "minimum": 0},
                "complete": {"type": "boolean"},
                "events": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["event", "data"],
                        "properties": {
                            "event": {
                                "type": "string",
                                "enum": ["ticket_called", "call_withdrawn"],
                            },
                            "data": {"type": "object"},
                        },
                    },
                },
            },
        },
    }
)

add_paths(
    {
        "/api/v1/offices/{slug}/display-state": {
            "get": {
                "summary": "Waiting-room display snapshot (public; same as the socket's display_state)",
                "description": (
                    "Current calls per counter, the latest calls, waiting count and estimated wait per "
                    "service, counters, ticker messages, server time and the office's event `seq`. "
                    "Displays fetch this when their socket is down (every DISPLAY_POLL_SECONDS) and "
                    "after a gap in the seq, with `since` (the seq they have) to get the calls "
                    "they missed as well."
                ),
                "tags": ["realtime"],
                "parameters": [
                    {
                        "name": "slug",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "aegi",
                    },
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "description": "the seq the display has (every seq up to it in hand): the "
                        "answer adds `replay`, every call after it, as the socket's join_office "
                        "with since replays them (display_replay)",
                        "schema": {"type": "integer", "minimum": 0},
                        "example": 41,
                    },
                ],
                "responses": {
                    "200": json_response("The snapshot", "DisplayState"),
                    **problem_responses(404, 422),
                },
            }
        },
    }
)
