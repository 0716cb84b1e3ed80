"""Stopping walk-in tickets early for today (with a reason for visitors), and reopening; the
office's capacity rules (walk-in share of appointment windows, online booking closing)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from queue_service import clock
from queue_service.errors import DomainError
from queue_service.management import capacity_rules
from queue_service.management import walkins as walkin_service
from queue_service.management.access import managed_office
from queue_service.offices.calendar import office_tz
from queue_service.tickets.forecast import day_forecast

from . import bp
from .common import actor, form_status, managers_only, show_error
from .forms import ConfirmActionForm


class StopWalkinsForm(FlaskForm):
    reason = StringField(
        _l("Reason shown to visitors"),
        validators=[DataRequired(), Length(min=3, max=200)],
        description=_l("e.g. “Wegen Personalausfalls können wir heute niemanden mehr annehmen.”"),
    )


class CapacityRulesForm(FlaskForm):
    walkin_share_percent = IntegerField(
        _l("Walk-in share of each appointment window (per cent)"),
        validators=[InputRequired(), NumberRange(min=0, max=capacity_rules.MAX_SHARE_PERCENT)],
        description=_l(
            "Kept back from online booking for visitors without an appointment; 0: none."
        ),
    )
    online_closes_days_before = IntegerField(
        _l("Online booking closes … days before the day"),
        validators=[Optional(), NumberRange(min=0, max=capacity_rules.MAX_DAYS_BEFORE)],
        description=_l("e.g. 1 (the day before); empty: online booking stays open."),
    )
    online_closes_at = TimeField(
        _l("… at (local time)"),
        validators=[Optional()],
        description=_l(
            "e.g. 12:00. Times not booked by then go to the waitlist, then to walk-ins."
        ),
    )


def _rules_form(office) -> CapacityRulesForm:
    return CapacityRulesForm(
        formdata=None,
        data={
            "walkin_share_percent": office.walkin_share_percent,
            "online_closes_days_before": office.online_closes_days_before,
            "online_closes_at": office.online_closes_at,
        },
    )


@bp.route("/offices/<slug>/walkins", methods=["GET", "POST"])
@managers_only
def walkins(slug: str):
    office = managed_office(slug, actor=actor())
    form = StopWalkinsForm()
    if form.validate_on_submit():
        try:
            walkin_service.close_walkins_today(slug, form.reason.data, actor=actor())
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Walk-in tickets are stopped for today."), "success")
            return redirect(url_for(".walkins", slug=slug))
    return _page(office, form, _rules_form(office)), form_status(form)


@bp.post("/offices/<slug>/walkins/rules")
@managers_only
def walkins_rules(slug: str):
    office = managed_office(slug, actor=actor())
    rules = CapacityRulesForm()
    if rules.validate_on_submit():
        try:
            capacity_rules.set_capacity_rules(
                slug,
                rules.walkin_share_percent.data,
                rules.online_closes_days_before.data,
                rules.online_closes_at.data,
                actor=actor(),
            )
        except DomainError as error:
            show_error(rules, error)
        else:
            flash(_("The capacity rules are saved."), "success")
            return redirect(url_for(".walkins", slug=slug) + "#capacity-rules")
    return _page(office, StopWalkinsForm(formdata=None), rules), 422


def _page(office, form: StopWalkinsForm, rules: CapacityRulesForm) -> str:
    now = clock.now()
    today = now.astimezone(office_tz(office)).date()
    return render_template(
        "admin/manage/walkins.html",
        office=office,
        form=form,
        rules=rules,
        reopen_form=ConfirmActionForm(),
        stopped=office.walkins_closed_reason_on(today),
        forecast=day_forecast(office, now),
        tz=office_tz(office),
    )


@bp.post("/offices/<slug>/walkins/reopen")
@managers_only
def walkins_reopen(slug: str):
    walkin_service.reopen_walkins(slug, actor=actor())
    flash(_("Walk-in tickets are given out again."), "success")
    return redirect(url_for(".walkins", slug=slug))
