"""Error pages for people: in the visitor's language and the site's layout, never the
framework's English pages. The API answers problem+json instead (``queue_service.api``)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from ..errors import DomainError, UnknownOffice, UnknownService

# status -> (heading, explanation) a person reads
STATUS_TEXTS = {
    400: (
        _l("The request could not be processed"),
        _l(
            "Something in the address or the form was missing or damaged. Please go back and "
            "try again."
        ),
    ),
    401: (_l("Please log in"), _l("This page is for staff. Please log in first.")),
    403: (_l("No access"), _l("You are not allowed to open this page.")),
    404: (
        _l("Page not found"),
        _l("There is no page at this address. The link may be incomplete or out of date."),
    ),
    405: (
        _l("Not possible this way"),
        _l("This page cannot be used like this. Please go back and use the buttons on the page."),
    ),
    409: (_l("Not possible right now"), _l("This cannot be done right now.")),
    413: (_l("Too much data"), _l("What was sent is too large. Please send less at once.")),
    422: (_l("Please check your input"), _l("Some of the input is not valid.")),
    429: (_l("Too many requests"), _l("Please wait a moment, then try again.")),
    500: (
        _l("Something went wrong"),
        _l("Something went wrong on our side. Nothing was changed. Please try again later."),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l("The service is briefly unavailable. Please try again in a few minutes."),
    ),
}


def _texts(status: int) -> tuple[str, str]:
    found = STATUS_TEXTS.get(status) or STATUS_TEXTS[500 if status >= 500 else 400]
    return str(found[0]), str(found[1])


def page(status: int, detail: str | None = None, title: str | None = None):
    """The error page for ``status``; ``detail`` (already in the visitor's language) replaces the
    general explanation."""
    heading, explanation = _texts(status)
    return render_template(
        "error.html", title=title or heading, detail=detail or explanation, status=status
    ), status


def domain_error_page(error: DomainError):
    """A service's refusal as a page, its message in the visitor's language
    (``errors.translate``, through ``error.detail``)."""
    if isinstance(error, UnknownOffice):
        detail = gettext("There is no office at this address.")
    elif isinstance(error, UnknownService):
        detail = gettext("There is no such service.")
    elif error.message == error.title:  # no message beyond the class's English title
        detail = None
    else:
        detail = error.detail
    return page(error.status, detail)


def http_error_page(error: HTTPException):
    return page(error.code or 500)
