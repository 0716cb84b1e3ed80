"""RFC 9457 problem details for every API error."""

from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

from ..errors import DomainError

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: dict, status: int):
    response = jsonify(problem)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def from_domain_error(error: DomainError):
    return problem_response(error.to_problem(), error.status)


def from_http_exception(error: HTTPException):
    code = error.code or 500
    problem = {
        "type": "about:blank",
        "title": error.name,
        "status": code,
        "detail": error.description,
    }
    response = problem_response(problem, code)
    if code == 429 and error.get_response().headers.get("Retry-After"):
        response.headers["Retry-After"] = error.get_response().headers["Retry-After"]
    return response
