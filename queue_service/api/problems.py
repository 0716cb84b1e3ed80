"""RFC 9457 problem details for every API error."""

from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

from ..errors import DomainError, status_texts

PROBLEM_JSON = "application/problem+json"
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def problem_response(problem: dict, status: int):
    response = jsonify(problem)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def from_domain_error(error: DomainError):
    return problem_response(error.to_problem(), error.status)


def from_http_exception(error: HTTPException):
    """An error of the HTTP layer (unknown route, wrong method, too large, rate limit) in the
    request's language, like the pages' and the services' errors; a description other than the
    framework's default (e.g. the rate limit hit) is kept after the explanation."""
    code = error.code or 500
    title, detail = status_texts(code)
    if error.description and error.description != type(error).description:
        detail = f"{detail} ({error.description})"
    problem = {"type": "about:blank", "title": title, "status": code, "detail": detail}
    response = problem_response(problem, code)
    for name in _KEPT_HEADERS:  # e.g. Allow on 405, Retry-After on 429 and 503
        value = error.get_response().headers.get(name)
        if value:
            response.headers[name] = value
    return response
