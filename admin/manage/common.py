"""What every management view shares: the role gate, the acting user, domain errors in forms,
and the confirm-before-stranding page."""

from __future__ import annotations

import re
from functools import wraps

from flask import make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from queue_service.auth.models import Role, User
from queue_service.auth.web import requires_staff
from queue_service.errors import N_, ConfirmationRequired, DomainError, Forbidden
from queue_service.extensions import login_manager

from . import bp

CONFIRM_FIELDS = {"csrf_token", "confirmed", "ack", "notify"}


def managers_only(view):
    """Logged-in managers and administrators; anonymous users go to the login, clerks get 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in (Role.ADMIN, Role.MANAGER):
            raise Forbidden(N_("Only managers and administrators can manage offices."))
        return view(*args, **kwargs)

    return requires_staff(wrapped)


def actor() -> User:
    """The signed-in staff member, the ``actor`` every management service takes."""
    return current_user._get_current_object()


def is_admin() -> bool:
    return current_user.role == Role.ADMIN


_INDEXED = re.compile(r"^(?P<list>[a-z_]+)-(?P<index>\d+)-(?P<field>[a-z_]+)$")


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's error next to the field it names (or above the form)."""
    field = None
    if error.field:
        field = getattr(form, error.field.replace("-", "_"), None)
        match = _INDEXED.match(error.field)
        if field is None and match and hasattr(form, match["list"]):
            entries = getattr(form, match["list"]).entries
            index = int(match["index"])
            if index < len(entries):
                field = getattr(entries[index].form, match["field"], None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.detail]
    else:
        form.form_errors.append(error.detail)


def confirmation_page(
    error: ConfirmationRequired,
    *,
    title: str,
    back_url: str,
    action_label: str,
    explanation: str | None = None,
):
    """Show who would be stranded and ask again, re-posting the same form with confirmed=1."""
    hidden = [
        (key, value)
        for key, values in request.form.lists()
        if key not in CONFIRM_FIELDS
        for value in values
    ]
    response = make_response(
        render_template(
            "admin/manage/confirm.html",
            title=title,
            message=error.detail,
            items=error.items,
            hidden=hidden,
            back_url=back_url,
            action_label=action_label,
            explanation=explanation
            or _(
                "These appointments fall on the time that would be closed. "
                "If you go ahead they are cancelled."
            ),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def confirmed_args() -> dict:
    """confirmed / notify / acknowledged as posted by the confirmation page."""
    confirmed = request.form.get("confirmed") == "1"
    return {
        "confirmed": confirmed,
        "notify": request.form.get("notify") == "1" if confirmed else True,
        "acknowledged": request.form.getlist("ack") if confirmed else None,
    }


def no_store(response):
    """Pages showing a password or token once must not be cached."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global("error_list")
def error_list(form) -> list[tuple[str, str, str]]:
    """(field id, label, message) of every error in ``form``, for the summary above it."""
    found = [("", "", str(message)) for message in form.form_errors]
    for field in form:
        found.extend(_field_errors(field))
    return found


def _field_errors(field, label: str | None = None):
    if field.type == "CSRFTokenField":
        if field.errors:
            yield ("", "", _("The form has expired. Please send it again."))
    elif field.type == "FieldList":
        for index, entry in enumerate(field.entries):
            for sub in entry.form:
                yield from _field_errors(
                    sub,
                    _(
                        "%(list)s, window %(n)d: %(field)s",
                        list=field.label.text,
                        n=index + 1,
                        field=sub.label.text,
                    ),
                )
    else:
        for message in field.errors if isinstance(field.errors, list | tuple) else []:
            yield (field.id, label or field.label.text, str(message))


def form_status(form) -> int:
    """422 for a form shown again with errors, 200 otherwise."""
    return 422 if request.method == "POST" and error_list(form) else 200


@bp.context_processor
def _helpers():
    return {"is_admin": current_user.is_authenticated and is_admin()}
