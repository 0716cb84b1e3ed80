"""Statistics pages (managers for their offices, administrators for all) and the live city
overview. Presentation only: figures come from queue_service.stats."""

from __future__ import annotations

from flask import Response, current_app, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from queue_service.errors import N_, NotFound
from queue_service.stats import report

from . import bp
from .manage.common import actor, managers_only


def _lang() -> str:
    return str(get_locale() or "de")


@bp.app_template_filter("slot_time")
def slot_time(value: str) -> str:
    """An ISO time with offset as a short local weekday, date and time ("Do. 26.11. 08:30")."""
    from datetime import datetime

    from babel.dates import format_datetime

    from queue_service import clock

    return format_datetime(
        datetime.fromisoformat(value), "EEE dd.MM. HH:mm", tzinfo=clock.LOCAL_TZ, locale=_lang()
    )


@bp.get("/statistics")
@managers_only
def statistics():
    start, end = report.parse_range(request.args.get("from"), request.args.get("to"))
    office_slug = request.args.get("office") or None
    data = report.build_report(office_slug, start, end, _lang(), actor=actor())
    if request.args.get("format") == "csv":
        key = request.args.get("table") or "day"
        table = next((t for t in data["tables"] if t.key == key), None)
        if table is None:
            raise NotFound(N_("There is no table %(name)s."), params={"name": key})
        sep = "," if request.args.get("sep") == "comma" else ";"
        name = f"statistik-{office_slug or 'alle'}-{key}-{start.isoformat()}-{end.isoformat()}.csv"
        return Response(
            report.to_csv(table, table.caption, sep),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
            },
        )
    filters = {"office": office_slug or "", "from": start.isoformat(), "to": end.isoformat()}
    return render_template("admin/statistics.html", data=data, filters=filters)


@bp.get("/overview")
@managers_only
def overview():
    from queue_service import clock
    from queue_service.stats import live
    from queue_service.tickets import kiosk_watch

    offices = current_user.office_ids()
    return render_template(
        "admin/overview.html",
        status=live.city_status(_lang()),
        updated=clock.local_now().strftime("%H:%M"),
        fast_kiosks=kiosk_watch.fast_kiosks(
            sorted(offices) if offices is not None else None,
            current_app.config["KIOSK_ALERT_TICKETS"],
            current_app.config["KIOSK_ALERT_WINDOW_MINUTES"],
        ),
    )
