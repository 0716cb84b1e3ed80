"""Domain errors. Services raise them; the API turns them into problem+json, pages into messages.

A service raises an error with an English message id marked for the catalogues (``N_``, or
``N_plural`` for one with a count in ``params["num"]``) and the values it names (``params``),
never with text it translated itself. ``translate`` below is the
one place that message becomes text, in the language of the request (``?lang=``, the session,
the browser's preference, else German), for the API's problem+json, the pages, the forms and
the Socket.IO acks alike.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import has_app_context
from flask_babel import gettext, ngettext


def N_(message: str) -> str:  # the name the message extractor looks for
    """Mark an English message for the translation catalogues without translating it: it is
    translated when the error is shown (``translate``)."""
    return message


class Plural(NamedTuple):
    singular: str
    plural: str


def N_plural(singular: str, plural: str) -> Plural:  # extracted like ngettext (tools/i18n.py)
    """Mark a message with a plural form; ``translate`` picks the form for ``params["num"]``."""
    return Plural(singular, plural)


def translate(
    message: str, params: dict[str, Any] | None = None, *, plural: str | None = None
) -> str:
    """A domain error's message in the current language, its ``%(name)s`` filled from
    ``params``; with ``plural``, the form for ``params["num"]`` in that language's plural rule.
    Outside an application (no catalogues) the English message."""
    message = str(message)
    if not has_app_context():
        return _english(message, params, plural)
    if plural is not None:  # params name the count "num", as ngettext does
        return ngettext(message, plural, **(params or {}))
    return gettext(message, **params) if params else gettext(message)


def _english(message: str, params: dict[str, Any] | None, plural: str | None) -> str:
    if plural is not None and (params or {}).get("num") != 1:
        message = plural
    return message % params if params else message


# status -> (heading, explanation) a person reads
STATUS_TEXTS: dict[int, tuple[str, str]] = {
    400: (
        N_("The request could not be processed"),
        N_(
            "Something in the address or the form was missing or damaged. Please go back and "
            "try again."
        ),
    ),
    401: (N_("Please log in"), N_("This page is for staff. Please log in first.")),
    403: (N_("No access"), N_("You are not allowed to open this page.")),
    404: (
        N_("Page not found"),
        N_("There is no page at this address. The link may be incomplete or out of date."),
    ),
    405: (
        N_("Not possible this way"),
        N_("This page cannot be used like this. Please go back and use the buttons on the page."),
    ),
    409: (N_("Not possible right now"), N_("This cannot be done right now.")),
    413: (N_("Too much data"), N_("What was sent is too large. Please send less at once.")),
    422: (N_("Please check your input"), N_("Some of the input is not valid.")),
    429: (N_("Too many requests"), N_("Please wait a moment, then try again.")),
    500: (
        N_("Something went wrong"),
        N_("Something went wrong on our side. Nothing was changed. Please try again later."),
    ),
    503: (
        N_("Temporarily unavailable"),
        N_("The service is briefly unavailable. Please try again in a few minutes."),
    ),
}


def status_texts(status: int) -> tuple[str, str]:
    """(heading, explanation) of an HTTP status for people, in the request's language: the
    error pages' texts and the API's problem details for errors of the HTTP layer (unknown
    address, wrong method, too large, too many requests)."""
    found = STATUS_TEXTS.get(status) or STATUS_TEXTS[500 if status >= 500 else 400]
    return translate(found[0]), translate(found[1])


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    ``message`` is the English message id (the key of the catalogues, so the code of what went
    wrong together with the class's ``slug``), ``params`` the values it names; ``detail`` is the
    translated text, made when it is read.
    """

    status = 400
    title = N_("Bad request")
    slug = "bad-request"

    def __init__(
        self,
        message: str | Plural | None = None,
        *,
        field: str | None = None,
        params: dict[str, Any] | None = None,
        **extra,
    ):
        self.plural: str | None = None
        if isinstance(message, Plural):
            message, self.plural = message
        self.message = str(message) if message else self.title
        self.params = dict(params or {})
        super().__init__(_english(self.message, self.params, self.plural))  # logs: English
        self.field = field
        self.extra = extra

    @property
    def detail(self) -> str:
        """The message in the current language (see ``translate``)."""
        return translate(self.message, self.params, plural=self.plural)

    def to_problem(self) -> dict:
        problem = {
            "type": f"https://buergerservice-hannover.example/problems/{self.slug}",
            "title": translate(self.title),
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            problem["field"] = self.field
        problem.update(self.extra)
        return problem


class ValidationFailed(DomainError):
    status = 422
    title = N_("Invalid input")
    slug = "invalid-input"


class NotFound(DomainError):
    status = 404
    title = N_("Not found")
    slug = "not-found"


class UnknownOffice(NotFound):
    title = N_("Unknown office")
    slug = "unknown-office"


class UnknownService(NotFound):
    title = N_("Unknown service")
    slug = "unknown-service"


class Forbidden(DomainError):
    status = 403
    title = N_("Forbidden")
    slug = "forbidden"


class Unauthorized(DomainError):
    status = 401
    title = N_("Authentication required")
    slug = "unauthorized"


class Conflict(DomainError):
    status = 409
    title = N_("Conflict")
    slug = "conflict"


class InvalidTransition(Conflict):
    title = N_("Invalid state transition")
    slug = "invalid-transition"


class SlotTaken(Conflict):
    title = N_("Slot no longer available")
    slug = "slot-taken"


class Refused(DomainError):
    """A request that is well formed but cannot be granted now (closed, cap reached...)."""

    status = 409
    title = N_("Not possible right now")
    slug = "refused"


class CatalogueError(DomainError):
    title = N_("Invalid catalogue file")
    slug = "invalid-catalogue"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems), problems=problems)


class ConfirmationRequired(Conflict):
    """The change would affect others (e.g. strand appointments): show ``items`` and ask first."""

    title = N_("Confirmation required")
    slug = "confirmation-required"

    def __init__(self, message: str | Plural, *, items: list, params: dict[str, Any] | None = None):
        self.items = list(items)
        super().__init__(message, params=params, affected=len(self.items))
