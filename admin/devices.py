"""Registering this browser as a kiosk or display of an office (staff only, presentation only).

Used by GET/POST /kiosk/register and /display/register. A manager or admin opens the page on the
kiosk's own browser; the device token goes into an HttpOnly cookie there and is shown nowhere.
Afterwards the staff member is logged out of that browser, which from then on is a public device.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from queue_service.auth import services as auth
from queue_service.auth.models import DeviceKind, Role
from queue_service.auth.web import current_device, set_device_cookie
from queue_service.errors import ValidationFailed
from queue_service.management.devices import register_device
from queue_service.offices.services import get_office, list_offices


class DeviceRegistrationForm(FlaskForm):
    office = SelectField(_l("Office"), validators=[DataRequired()])
    name = StringField(
        _l("Device name"),
        validators=[Optional(), Length(max=80)],
        description=_l("For example “Kiosk entrance” or “Display waiting room 2”."),
    )
    printer = StringField(
        _l("CUPS printer (optional)"),
        validators=[Optional(), Length(max=127)],
        description=_l("Only for server-side printing; leave empty when the kiosk browser prints."),
    )


def registration_page(kind: DeviceKind):
    """Show the form (GET) or register this browser as a device and set its cookie (POST)."""
    auth.require_role(current_user, Role.ADMIN, Role.MANAGER)
    allowed = current_user.office_ids()
    offices = [o for o in list_offices() if allowed is None or o.id in allowed]
    form = DeviceRegistrationForm()
    form.office.choices = [(o.slug, o.name) for o in offices]
    if request.method == "GET" and request.args.get("office"):
        form.office.data = request.args["office"]
    if kind != DeviceKind.KIOSK:
        del form.printer
    status = 200
    if request.method == "POST":
        # the office is checked against the account (not only against the offered choices)
        office = get_office(form.office.data or "")
        auth.require_office_access(current_user, office)
        if form.validate():
            try:
                token = register_device(
                    office.slug,
                    kind.value,
                    form.name.data,
                    actor=current_user,
                    printer=form.printer.data if "printer" in form else None,
                ).token
            except ValidationFailed as error:
                getattr(form, error.field or "name").errors.append(error.detail)
            else:
                endpoint = "kiosk.start" if kind == DeviceKind.KIOSK else "display.screen"
                response = redirect(url_for(endpoint, slug=office.slug))
                set_device_cookie(response, token)
                logout_user()
                flash(
                    _("This browser is now registered for %(office)s.", office=office.name),
                    "success",
                )
                return response
        status = 422
    return (
        render_template(
            "admin/register_device.html",
            form=form,
            kind=kind.value,
            registered=current_device(),
        ),
        status,
    )
