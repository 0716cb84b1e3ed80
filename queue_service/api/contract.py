"""Requests checked against the OpenAPI document before a route runs.

The document is the contract: path, query and header parameters are checked against their
schemas and a JSON body against a depth limit before any route runs; routes read their body
through ``json_body()``, which validates it against the operation's request schema (inside the
route, so that a refused body still counts against the route's rate limit). A request that
breaks the contract gets 422 problem+json naming the field, so no route (and no database driver)
ever sees a nested bomb, a number past the column's range or a list where a string belongs.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import cast

from flask import current_app, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ..errors import N_, ValidationFailed
from . import bp
from .openapi import document

_CONVERTER = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>")


def openapi_path(flask_rule: str) -> str:
    """``/api/v1/offices/<slug>/counters/<int:number>`` -> ``/api/v1/offices/{slug}/counters/{number}``."""
    return _CONVERTER.sub(r"{\1}", flask_rule)


class Operation:
    """The validators of one documented operation."""

    def __init__(self, operation: dict, components: dict) -> None:
        def validator(schema: dict) -> Draft202012Validator:
            return Draft202012Validator({**schema, "components": components})

        self.parameters: list[tuple[str, str, dict, Draft202012Validator]] = [
            (p["in"], p["name"], p.get("schema", {}), validator(p.get("schema", {})))
            for p in operation.get("parameters", [])
        ]
        body = operation.get("requestBody") or {}
        schema = body.get("content", {}).get("application/json", {}).get("schema")
        self.body = validator(schema) if schema else None
        self.body_required = bool(body.get("required"))


@cache
def _operations() -> dict[tuple[str, str], Operation]:
    doc = document()
    components = doc["components"]
    return {
        (path, method.upper()): Operation(op, components)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }


def _field(error: ValidationError, fallback: str) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        if missing:
            path.append(missing[0])
    return ".".join(path) or fallback


def _refuse(error: ValidationError, field: str) -> ValidationFailed:
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    # the schema validator's own words are English; the message puts the field before them
    return ValidationFailed(
        N_("%(field)s: %(message)s"), params={"field": field, "message": message}, field=field
    )


def _depth(value) -> int:
    """Nesting depth of parsed JSON, iteratively (no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def parsed_body() -> object | None:
    """The JSON body within the depth limit, or None when the request has no JSON body (parsed
    and measured once per request: the parameter check and the view both ask)."""
    found = getattr(request, "_qs_json_body", _UNPARSED)
    if found is _UNPARSED:
        found = request._qs_json_body = _parse_body()  # type: ignore[attr-defined]
    return found


_UNPARSED = object()


def _parse_body() -> object | None:
    if not request.is_json or not request.get_data(cache=True):
        return None
    try:
        data = json.loads(request.get_data(cache=True))
    except RecursionError as exc:
        raise ValidationFailed(N_("The JSON body is nested too deeply."), field="body") from exc
    except ValueError as exc:
        raise ValidationFailed(N_("The request body is not valid JSON."), field="body") from exc
    if _depth(data) > current_app.config["API_MAX_JSON_DEPTH"]:
        raise ValidationFailed(N_("The JSON body is nested too deeply."), field="body")
    return data


def _coerce(raw: str, schema: dict):
    """A query or header value as the type its schema names (strings stay strings)."""
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False, "1": True, "0": False}.get(raw.lower(), raw)
    return raw


def _operation() -> Operation | None:
    """The request's documented operation (found once per request)."""
    found = getattr(request, "_qs_operation", _UNPARSED)
    if found is _UNPARSED:
        rule = request.url_rule
        found = (
            None if rule is None else _operations().get((openapi_path(rule.rule), request.method))
        )
        request._qs_operation = found  # type: ignore[attr-defined]
    return cast("Operation | None", found)


@bp.before_request
def check_parameters_and_depth() -> None:
    """Path, query and header parameters as documented; any JSON body within the depth limit."""
    if request.url_rule is None:
        return  # 404 or 405: the router answers
    parsed_body()
    op = _operation()
    if op is None:
        return
    for where, name, schema, validator in op.parameters:
        if where == "path":
            value = (request.view_args or {}).get(name)
        elif where == "query":
            if name not in request.args:
                continue
            value = _coerce(request.args[name], schema)
        elif where == "header":
            if name not in request.headers:
                continue
            value = _coerce(request.headers[name], schema)
        else:
            continue
        error = best_match(validator.iter_errors(value))
        if error is not None:
            raise _refuse(error, name)


def json_body() -> dict:
    """The request's JSON object, validated against the operation's schema ({} when absent)."""
    if request.get_data(cache=True) and not request.is_json:
        raise ValidationFailed(
            N_("The request body must be JSON (application/json)."), field="body"
        )
    body = parsed_body()
    body = {} if body is None else body
    op = _operation()
    if op is not None and op.body is not None:
        error = best_match(op.body.iter_errors(body))
        if error is not None:
            raise _refuse(error, _field(error, "body"))
    if not isinstance(body, dict):
        raise ValidationFailed(N_("The request body must be a JSON object."), field="body")
    return body
