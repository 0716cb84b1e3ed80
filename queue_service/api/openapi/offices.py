"""OpenAPI description of the routes in ``api/offices.py``."""

from __future__ import annotations

from . import add_paths, add_schemas, json_response, problem_responses

add_schemas(
    {
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
    }
)
