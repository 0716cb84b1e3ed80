"""The OpenAPI 3.1 document at /api/openapi.json.

Each API module describes its own paths with ``add_paths`` and its schemas with ``add_schemas``
next to the routes, so the document and the code change together. A test checks that every
/api/v1 route is described.
"""

from __future__ import annotations

from flask import jsonify

from . import bp

_paths: dict[str, dict] = {}
_schemas: dict[str, dict] = {}


def add_paths(paths: dict[str, dict]) -> None:
    for path, operations in paths.items():
        _paths.setdefault(path, {}).update(operations)


def add_schemas(schemas: dict[str, dict]) -> None:
    _schemas.update(schemas)


def problem_responses(*codes: int) -> dict:
    texts = {
        400: "Malformed request",
        401: "Authentication required",
        403: "Not allowed for this account or device",
        404: "Not found",
        409: "Conflict with the current state",
        422: "Invalid input (the problem names the field)",
        429: "Too many requests",
    }
    return {
        str(code): {
            "description": texts.get(code, "Error"),
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in codes
    }


def json_response(description: str, schema_ref: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bürgerservice Hannover API",
            "version": "1",
            "description": (
                "Appointments and queues of the Bürgerämter of Hannover. Public endpoints carry no "
                "personal data. Staff endpoints take a session cookie (with X-CSRFToken) or a "
                "bearer token from `queue-service create-token`; kiosk endpoints take a device "
                "token in X-Device-Token. Errors are application/problem+json (RFC 9457)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(_paths.items())),
        "components": {
            "schemas": dict(sorted(_schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "device": {"type": "apiKey", "in": "header", "name": "X-Device-Token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


add_schemas(
    {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "field": {"type": "string", "description": "the input field at fault, if any"},
            },
        },
        "OfficeSummary": {
            "type": "object",
            "required": ["slug", "name"],
            "properties": {
                "slug": {"type": "string", "example": "aegi"},
                "name": {"type": "string", "example": "Bürgeramt Aegi"},
                "address": {"type": ["string", "null"]},
                "mobile": {"type": "boolean"},
            },
        },
        "Service": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "PA"},
                "prefix": {"type": "string", "example": "P"},
                "name": {"type": "string"},
                "name_de": {"type": "string"},
                "name_en": {"type": "string"},
                "description": {"type": ["string", "null"]},
                "duration_minutes": {"type": "integer"},
                "extra_person_minutes": {"type": "integer"},
                "walk_in_allowed": {"type": "boolean"},
                "online_bookable": {"type": "boolean"},
                "documents": {"type": "array", "items": {"type": "string"}},
            },
        },
        "OfficeDetail": {
            "allOf": [
                {"$ref": "#/components/schemas/OfficeSummary"},
                {
                    "type": "object",
                    "properties": {
                        "timezone": {"type": "string"},
                        "counters": {"type": "integer", "description": "active counters"},
                        "services": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Service"},
                        },
                        "opening_hours": {
                            "type": "object",
                            "description": "appointment and walkin windows per weekday (mon..sun), local time",
                        },
                        "closed_today": {"type": ["string", "null"]},
                        "mobile_events": {"type": "array", "items": {"type": "object"}},
                    },
                },
            ]
        },
    }
)

lang_param = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["de", "en"]},
    "description": "language of names and texts (default: Accept-Language, then German)",
}

add_paths(
    {
        "/api/v1/offices": {
            "get": {
                "summary": "List the offices",
                "tags": ["catalogue"],
                "responses": {
                    "200": {
                        "description": "All active offices, the mobile office last",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "offices": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/OfficeSummary"},
                                        }
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/api/v1/offices/{slug}": {
            "get": {
                "summary": "One office with its services, counters and opening hours",
                "tags": ["catalogue"],
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                    lang_param,
                ],
                "responses": {
                    "200": json_response("The office", "OfficeDetail"),
                    **problem_responses(404),
                },
            }
        },
        "/api/v1/services": {
            "get": {
                "summary": "List the services of the catalogue",
                "tags": ["catalogue"],
                "parameters": [lang_param],
                "responses": {
                    "200": {
                        "description": "All services",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "services": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Service"},
                                        }
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "tags": ["meta"],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
    }
)
