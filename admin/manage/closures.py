"""Closure days of an office and city-wide ones: preview the stranded appointments, confirm."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from queue_service.errors import ConfirmationRequired, DomainError
from queue_service.management import closures as management
from queue_service.management.changes import STRANDED

from . import bp
from .common import (
    actor,
    confirmation_page,
    confirmed_args,
    form_status,
    managers_only,
    show_error,
)
from .forms import ClosureForm, ConfirmActionForm


def _closures_page(office_slug: str | None, list_endpoint: str):
    office, own, city = management.list_closures(office_slug, actor=actor())
    form = ClosureForm()
    back = url_for(list_endpoint, slug=office_slug) if office_slug else url_for(list_endpoint)
    if form.validate_on_submit():
        try:
            days = management.closure_days(form.start.data, form.end.data)
            args = confirmed_args()
            if not args["confirmed"]:
                impact = management.preview_closure(
                    office_slug,
                    days,
                    actor=actor(),
                    recurring=form.recurring.data,
                    reason=form.reason.data,
                )
                # nothing stranded: close right away, but still refuse if bookings appear meanwhile
                args = {"confirmed": True, "notify": True, "acknowledged": impact.refs}
                if impact.items:
                    raise ConfirmationRequired(
                        STRANDED, params={"num": len(impact.items)}, items=impact.items
                    )
            result = management.add_closure(
                office_slug,
                days,
                form.reason.data,
                actor=actor(),
                recurring=form.recurring.data,
                **args,
            )
        except ConfirmationRequired as error:
            where = office.name if office else _("every office")
            return confirmation_page(
                error,
                title=_("Close %(office)s?", office=where),
                back_url=back,
                action_label=_("Close and cancel these appointments"),
            )
        except DomainError as error:
            show_error(form, error)
        else:
            message = ngettext(
                "Closed on %(num)d day.", "Closed on %(num)d days.", len(result.closures)
            )
            if result.items:
                message += " " + (
                    ngettext(
                        "%(num)d appointment was cancelled; the resident is being told.",
                        "%(num)d appointments were cancelled; the residents are being told.",
                        len(result.items),
                    )
                    if result.notified
                    else ngettext(
                        "%(num)d appointment was cancelled without a message.",
                        "%(num)d appointments were cancelled without a message.",
                        len(result.items),
                    )
                )
            flash(message, "success")
            return redirect(back)
    return render_template(
        "admin/manage/closures.html",
        office=office,
        closures=own,
        city_closures=city,
        form=form,
        delete_form=ConfirmActionForm(),
        list_endpoint=list_endpoint,
    ), form_status(form)


@bp.route("/offices/<slug>/closures", methods=["GET", "POST"])
@managers_only
def closures(slug: str):
    return _closures_page(slug, ".closures")


@bp.route("/closures", methods=["GET", "POST"])
@managers_only
def city_closures():
    return _closures_page(None, ".city_closures")


def _remove(office_slug: str | None, closure_id: int):
    management.remove_closure(office_slug, closure_id, actor=actor())
    flash(_("The day is open again."), "success")


@bp.post("/offices/<slug>/closures/<int:closure_id>/delete")
@managers_only
def closure_delete(slug: str, closure_id: int):
    _remove(slug, closure_id)
    return redirect(url_for(".closures", slug=slug))


@bp.post("/closures/<int:closure_id>/delete")
@managers_only
def city_closure_delete(closure_id: int):
    _remove(None, closure_id)
    return redirect(url_for(".city_closures"))
