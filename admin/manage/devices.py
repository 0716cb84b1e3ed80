"""Kiosks and displays, and the ticker messages on the displays."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from queue_service import clock
from queue_service.errors import DomainError
from queue_service.management import devices as device_service
from queue_service.management import messages as message_service
from queue_service.offices.calendar import office_tz

from . import bp
from .common import actor, form_status, managers_only, show_error
from .forms import ConfirmActionForm, MessageForm


@bp.get("/offices/<slug>/devices")
@managers_only
def devices(slug: str):
    office, rows = device_service.office_devices(slug, actor=actor())
    return render_template("admin/manage/devices.html", office=office, devices=rows)


@bp.post("/offices/<slug>/devices/<int:device_id>/revoke")
@managers_only
def device_revoke(slug: str, device_id: int):
    device = device_service.revoke_device(slug, device_id, actor=actor())
    flash(_("%(name)s can no longer connect.", name=device.name), "success")
    return redirect(url_for(".devices", slug=slug))


def _utc(value: datetime | None, office) -> datetime | None:
    """A local date and time from the form as aware UTC (Hannover time)."""
    if value is None:
        return None
    return value.replace(tzinfo=office_tz(office)).astimezone(UTC)


@bp.route("/offices/<slug>/messages", methods=["GET", "POST"])
@managers_only
def messages(slug: str):
    office, rows = message_service.office_messages(slug, actor=actor())
    form = MessageForm()
    if form.validate_on_submit():
        try:
            message_service.post_office_message(
                slug,
                form.text_de.data,
                form.text_en.data,
                _utc(form.active_from.data, office),
                _utc(form.active_until.data, office),
                actor=actor(),
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("The message is on the displays."), "success")
            return redirect(url_for(".messages", slug=slug))
    return render_template(
        "admin/manage/messages.html",
        office=office,
        messages=rows,
        form=form,
        withdraw_form=ConfirmActionForm(),
        now=clock.now(),
    ), form_status(form)


@bp.post("/offices/<slug>/messages/<int:message_id>/withdraw")
@managers_only
def message_withdraw(slug: str, message_id: int):
    message_service.withdraw_office_message(slug, message_id, actor=actor())
    flash(_("The message was taken off the displays."), "success")
    return redirect(url_for(".messages", slug=slug))
