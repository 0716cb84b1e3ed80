"""OpenAPI description of the routes in ``api/session.py``."""

from __future__ import annotations

from . import add_paths, problem_responses

add_paths(
    {
        "/api/v1/me": {
            "get": {
                "summary": "The authenticated staff member",
                "tags": ["staff"],
                "security": [{"bearer": []}, {"session": []}],
                "responses": {
                    "200": {"description": "User name, role and offices"},
                    **problem_responses(401),
                },
            }
        },
        "/api/v1/csrf-token": {
            "get": {
                "summary": "A CSRF token for the current session (send as X-CSRFToken on POST)",
                "tags": ["meta"],
                "responses": {"200": {"description": '{"csrf_token": "..."}'}},
            }
        },
    }
)
