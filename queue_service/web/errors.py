"""Error pages for people: in the visitor's language and the site's layout, never the
framework's English pages. The API answers problem+json instead (``queue_service.api``)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from ..errors import DomainError, UnknownOffice, UnknownService, status_texts


def page(status: int, detail: str | None = None, title: str | None = None):
    """The error page for ``status``; ``detail`` (already in the visitor's language) replaces the
    general explanation."""
    heading, explanation = status_texts(status)
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
