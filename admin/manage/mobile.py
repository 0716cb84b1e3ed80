"""Dates and places of the mobile Bürgeramt."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from queue_service.errors import ConfirmationRequired, DomainError
from queue_service.management import mobile as management
from queue_service.management.mobile import MobileEventData

from . import bp
from .common import (
    actor,
    confirmation_page,
    confirmed_args,
    form_status,
    managers_only,
    show_error,
)
from .forms import ConfirmActionForm, MobileEventForm


def _choices(office) -> list[tuple[str, str]]:
    return [
        SelectChoice(o.service.code, f"{o.service.code} – {o.service.name_de}")
        for o in sorted(office.services, key=lambda o: o.service.sort_order)
    ]


def _data(form) -> MobileEventData:
    return MobileEventData(
        day=form.day.data,
        start=form.start.data,
        end=form.end.data,
        place=form.place.data,
        address=form.address.data,
        walk_in=form.walk_in.data,
        appointments=form.appointments.data,
        service_codes=form.services.data,
    )


@bp.get("/offices/<slug>/mobile")
@managers_only
def mobile_events(slug: str):
    office, events = management.list_mobile_events(slug, actor=actor())
    return render_template(
        "admin/manage/mobile.html", office=office, events=events, delete_form=ConfirmActionForm()
    )


@bp.route("/offices/<slug>/mobile/new", methods=["GET", "POST"])
@managers_only
def mobile_event_new(slug: str):
    office, _events = management.list_mobile_events(slug, actor=actor())
    form = MobileEventForm()
    form.services.choices = _choices(office)
    if request.method == "GET":
        form.services.data = [choice.value for choice in form.services.choices]
    if form.validate_on_submit():
        try:
            management.add_mobile_event(slug, _data(form), actor=actor())
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("The date was added."), "success")
            return redirect(url_for(".mobile_events", slug=slug))
    return render_template(
        "admin/manage/mobile_form.html", office=office, form=form, event=None
    ), form_status(form)


@bp.route("/offices/<slug>/mobile/<int:event_id>", methods=["GET", "POST"])
@managers_only
def mobile_event_edit(slug: str, event_id: int):
    office, event = management.mobile_event_for(slug, event_id, actor=actor())
    form = MobileEventForm(obj=event, start=event.start_time, end=event.end_time)
    form.services.choices = _choices(office)
    if request.method == "GET":
        form.services.data = [s.code for s in event.services]
    if form.validate_on_submit():
        try:
            management.update_mobile_event(
                slug, event_id, _data(form), actor=actor(), **confirmed_args()
            )
        except ConfirmationRequired as error:
            return confirmation_page(
                error,
                title=_("Change this date?"),
                back_url=url_for(".mobile_event_edit", slug=slug, event_id=event_id),
                action_label=_("Change and cancel these appointments"),
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".mobile_events", slug=slug))
    return render_template(
        "admin/manage/mobile_form.html", office=office, form=form, event=event
    ), form_status(form)


@bp.post("/offices/<slug>/mobile/<int:event_id>/delete")
@managers_only
def mobile_event_delete(slug: str, event_id: int):
    try:
        management.delete_mobile_event(slug, event_id, actor=actor(), **confirmed_args())
    except ConfirmationRequired as error:
        return confirmation_page(
            error,
            title=_("Remove this date?"),
            back_url=url_for(".mobile_events", slug=slug),
            action_label=_("Remove and cancel these appointments"),
        )
    flash(_("The date was removed."), "success")
    return redirect(url_for(".mobile_events", slug=slug))
