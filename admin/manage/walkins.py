"""Stopping walk-in tickets early for today (with a reason for visitors), and reopening."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from queue_service import clock
from queue_service.errors import DomainError
from queue_service.management import walkins as walkin_service
from queue_service.management.access import managed_office
from queue_service.offices.calendar import office_tz
from queue_service.tickets.forecast import day_forecast

from . import bp
from .common import actor_id, form_status, managers_only, show_error
from .forms import ConfirmActionForm


class StopWalkinsForm(FlaskForm):
    reason = StringField(
        _l("Reason shown to visitors"),
        validators=[DataRequired(), Length(min=3, max=200)],
        description=_l("e.g. “Wegen Personalausfalls können wir heute niemanden mehr annehmen.”"),
    )


@bp.route("/offices/<slug>/walkins", methods=["GET", "POST"])
@managers_only
def walkins(slug: str):
    office = managed_office(actor_id(), slug)
    form = StopWalkinsForm()
    if form.validate_on_submit():
        try:
            walkin_service.close_walkins_today(actor_id(), slug, form.reason.data)
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Walk-in tickets are stopped for today."), "success")
            return redirect(url_for(".walkins", slug=slug))
    now = clock.now()
    today = now.astimezone(office_tz(office)).date()
    return render_template(
        "admin/manage/walkins.html",
        office=office,
        form=form,
        reopen_form=ConfirmActionForm(),
        stopped=office.walkins_closed_reason_on(today),
        forecast=day_forecast(office, now),
        tz=office_tz(office),
    ), form_status(form)


@bp.post("/offices/<slug>/walkins/reopen")
@managers_only
def walkins_reopen(slug: str):
    walkin_service.reopen_walkins(actor_id(), slug)
    flash(_("Walk-in tickets are given out again."), "success")
    return redirect(url_for(".walkins", slug=slug))
