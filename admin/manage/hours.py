"""Weekly opening hours, edited one weekday at a time."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from queue_service.errors import ConfirmationRequired, DomainError
from queue_service.management import hours as management
from queue_service.management.hours import WindowSpec
from queue_service.offices.models import WindowKind

from . import bp
from .common import (
    actor,
    confirmation_page,
    confirmed_args,
    form_status,
    managers_only,
    show_error,
)
from .forms import WINDOW_ROWS, DayHoursForm


def weekday_names() -> list[str]:
    return [
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    ]


@bp.get("/offices/<slug>/hours")
@managers_only
def hours(slug: str):
    office, week = management.weekly_windows(slug, actor=actor())
    return render_template(
        "admin/manage/hours.html",
        office=office,
        week=week,
        weekdays=weekday_names(),
        kinds=WindowKind,
    )


@bp.route("/offices/<slug>/hours/<int:weekday>", methods=["GET", "POST"])
@managers_only
def hours_day(slug: str, weekday: int):
    if weekday not in range(7):
        abort(404)
    office, week = management.weekly_windows(slug, actor=actor())
    form = DayHoursForm()
    if not form.is_submitted():
        for kind, rows in (
            (WindowKind.APPOINTMENT, form.appointment),
            (WindowKind.WALKIN, form.walkin),
        ):
            for entry, window in zip(rows.entries, week[weekday][kind], strict=False):
                entry.form.start.data, entry.form.end.data = window.start_time, window.end_time
                entry.form.capacity.data = window.capacity
    overflow = any(len(week[weekday][kind]) > WINDOW_ROWS for kind in WindowKind)
    if form.validate_on_submit():
        specs = [
            WindowSpec(
                kind,
                entry.form.start.data,
                entry.form.end.data,
                entry.form.capacity.data if kind == WindowKind.APPOINTMENT else None,
            )
            for kind, rows in (
                (WindowKind.APPOINTMENT, form.appointment),
                (WindowKind.WALKIN, form.walkin),
            )
            for entry in rows.entries
            if entry.form.start.data and entry.form.end.data
        ]
        try:
            management.set_day_windows(slug, weekday, specs, actor=actor(), **confirmed_args())
        except ConfirmationRequired as error:
            return confirmation_page(
                error,
                title=_("Change the hours of %(day)s?", day=weekday_names()[weekday]),
                back_url=url_for(".hours_day", slug=slug, weekday=weekday),
                action_label=_("Change the hours and cancel these appointments"),
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("The hours of %(day)s were saved.", day=weekday_names()[weekday]), "success")
            return redirect(url_for(".hours", slug=slug))
    return render_template(
        "admin/manage/hours_day.html",
        office=office,
        form=form,
        weekday=weekday,
        day_name=weekday_names()[weekday],
        overflow=overflow,
    ), form_status(form)
