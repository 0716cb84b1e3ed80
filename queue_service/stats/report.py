"""The statistics report for the admin pages and their CSV export: tables per day, hour,
service and office, the charts drawn from them, and the ratings."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from ..auth.models import User
from ..errors import N_, Forbidden, ValidationFailed
from ..extensions import db
from ..management.access import managed_offices
from ..offices.models import Service
from ..waitlist import stats as waitlist_stats
from . import charts, compute, ratings

MAX_DAYS = 400


@dataclass
class Table:
    key: str  # day | hour | service | office | ratings
    caption: str
    columns: list[tuple[str, str]]  # (id, label)
    rows: list[dict]
    charts: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def figure_columns() -> list[tuple[str, str]]:
    return [
        ("issued", _("Tickets issued")),
        ("requests", _("Matters (every service of a visit)")),
        ("persons", _("Persons")),
        ("served", _("Served")),
        ("no_show", _("No-shows")),
        ("cancelled", _("Cancelled")),
        ("not_served", _("Not served")),
        ("walkin_share", _("Walk-in share (per cent)")),
        ("wait_median_min", _("Waiting time, median (min)")),
        ("wait_p90_min", _("Waiting time, 90th percentile (min)")),
        ("service_median_min", _("Service time, median (min)")),
        ("punctuality_median_min", _("Check-in vs appointment, median (min)")),
        ("on_time_share", _("Appointments checked in on time (per cent)")),
        ("lead_median_days", _("Booking lead time, median (days)")),
        ("lead_p90_days", _("Booking lead time, 90th percentile (days)")),
    ]


def parse_range(start: str | None, end: str | None) -> tuple[date, date]:
    today = clock.today()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=6)
    except ValueError as exc:
        raise ValidationFailed(N_("Please give dates as YYYY-MM-DD."), field="from") from exc
    if first > last:
        raise ValidationFailed(N_("The start date is after the end date."), field="from")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed(
            N_("Please choose at most %(days)s days."), field="from", params={"days": MAX_DAYS}
        )
    return first, last


def allowed_offices(slug: str | None, *, actor: User):
    """The offices the report covers: ``slug`` if the actor manages it, else all they manage."""
    offices = managed_offices(actor=actor)
    if slug:
        chosen = [o for o in offices if o.slug == slug]
        if not chosen:
            raise Forbidden(N_("Your account has no access to this office."))
        return offices, chosen
    return offices, offices


def _labels(rows: list[dict]) -> list[str]:
    """Short chart labels: the service code, "26.11." for a date, "08:00" for an hour."""
    return [r.get("code") or r["label"] for r in rows]


def _day_row(day: date, figures: dict, lang: str) -> dict:
    """A day's row: "Do., 26.11.2026" in the table, "26.11." under the chart, ISO in the CSV."""
    german = lang == "de"
    return {
        "label": format_date(day, "EEE, dd.MM.yyyy" if german else "EEE, d MMM yyyy", locale=lang),
        "code": format_date(day, "dd.MM." if german else "d MMM", locale=lang),
        "csv_label": day.isoformat(),
        **figures,
    }


def build_report(
    office_slug: str | None, start: date, end: date, lang: str, *, actor: User
) -> dict:
    offices, chosen = allowed_offices(office_slug, actor=actor)
    ids = [o.id for o in chosen]
    items = compute.buckets(ids, start, end)
    services = {s.id: s for s in db.session.scalars(select(Service))}
    office_names = {o.id: o.name for o in chosen}
    columns = figure_columns()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]

    by_day = compute.summarise(items, lambda b: b.day)
    day_rows = [_day_row(d, by_day.get(d, compute.Summary().figures()), lang) for d in days]
    by_hour = compute.summarise(items, lambda b: b.hour)
    hours = list(range(min(by_hour, default=7), max(by_hour, default=18) + 1))
    hour_rows = [
        {"label": f"{h:02d}:00", **by_hour.get(h, compute.Summary().figures())} for h in hours
    ]
    by_service = compute.summarise(items, lambda b: b.service_id)
    service_rows = sorted(
        (
            {
                "label": f"{services[k].code} – {services[k].name(lang)}",
                "code": services[k].code,
                **v,
            }
            for k, v in by_service.items()
        ),
        key=lambda r: -r["issued"],
    )
    by_office = compute.summarise(items, lambda b: b.office_id)
    # chart labels: "Aegi" rather than "Bürgeramt Aegi"
    office_rows = [
        {"label": office_names[k], "code": office_names[k].removeprefix("Bürgeramt "), **v}
        for k, v in by_office.items()
    ]

    def volume(rows, title):
        return charts.bar_chart(
            title,
            _("Bars: tickets issued and served; the table below holds the figures."),
            _labels(rows),
            [
                charts.Series(_("Tickets issued"), [r["issued"] for r in rows]),
                charts.Series(_("Served"), [r["served"] for r in rows]),
            ],
            _("Tickets"),
        )

    def waiting(rows, title, draw=charts.line_chart):
        if draw is charts.bar_chart:  # categories (services, offices) side by side
            description = _(
                "Bars: median and 90th percentile of the waiting time in minutes; the "
                "table below holds the figures."
            )
        else:
            description = _(
                "Lines: median and 90th percentile of the waiting time in minutes; the "
                "table below holds the figures."
            )
        return draw(
            title,
            description,
            _labels(rows),
            [
                charts.Series(_("Median"), [r["wait_median_min"] for r in rows]),
                charts.Series(_("90th percentile"), [r["wait_p90_min"] for r in rows]),
            ],
            _("Minutes"),
        )

    def lead(rows, title, draw=charts.line_chart):
        return draw(
            title,
            _(
                "Median and 90th percentile of the time between booking and appointment in "
                "days; the table below holds the figures."
            ),
            _labels(rows),
            [
                charts.Series(_("Median"), [r["lead_median_days"] for r in rows]),
                charts.Series(_("90th percentile"), [r["lead_p90_days"] for r in rows]),
            ],
            _("Days"),
        )

    tables = [
        Table(
            "day",
            _("Per day"),
            columns,
            day_rows,
            [
                volume(day_rows, _("Tickets per day")),
                waiting(day_rows, _("Waiting time per day")),
                lead(day_rows, _("Booking lead time per appointment day")),
            ],
        ),
        Table(
            "hour",
            _("Per hour of the day"),
            columns,
            hour_rows,
            [
                volume(hour_rows, _("Tickets per hour")),
                waiting(hour_rows, _("Waiting time per hour")),
            ],
        ),
        Table(
            "service",
            _("Per service"),
            columns,
            service_rows,
            [
                waiting(service_rows, _("Waiting time per service"), charts.bar_chart),
                lead(service_rows, _("Booking lead time per service"), charts.bar_chart),
            ],
        ),
    ]
    if len(chosen) > 1:
        tables.append(
            Table(
                "office",
                _("Per office"),
                columns,
                office_rows,
                [waiting(office_rows, _("Waiting time per office"), charts.bar_chart)],
            )
        )
    waitlist_rows = [
        {
            "label": office_names.get(r["office_id"]) or _("Any office"),
            **{k: v for k, v in r.items() if k != "office_id"},
        }
        for r in sorted(
            waitlist_stats.figures(ids, start, end),
            key=lambda r: (r["office_id"] is None, office_names.get(r["office_id"], "")),
        )
    ]
    tables.append(
        Table(
            "waitlist",
            _("Waitlist"),
            [
                ("requests", _("Requests")),
                ("offers", _("Times offered")),
                ("accepted", _("Accepted")),
                ("acceptance_share", _("Acceptance rate (per cent)")),
                ("days_gained_median", _("Days earlier, median")),
            ],
            waitlist_rows,
        )
    )
    rating = ratings.rating_summary(ids, start, end)
    dist = rating["distribution"]
    tables.append(
        Table(
            "ratings",
            _("Satisfaction ratings"),
            [("count", _("Ratings")), ("share", _("Share (per cent)"))],
            [
                {
                    "label": f"{s} ★",
                    "count": dist[s],
                    "share": round(100 * dist[s] / rating["count"], 1) if rating["count"] else None,
                }
                for s in range(5, 0, -1)
            ],
            [
                charts.bar_chart(
                    _("Ratings from 1 to 5"),
                    _("Bars: number of ratings per score."),
                    [str(s) for s in range(1, 6)],
                    [charts.Series(_("Ratings"), [dist[s] for s in range(1, 6)])],
                    _("Ratings"),
                )
            ],
            extra=rating,
        )
    )
    return {
        "offices": offices,
        "chosen": chosen,
        "start": start,
        "end": end,
        "total": compute.total(items),
        "tables": tables,
    }


SOFT_HYPHEN = "\u00ad"


def to_csv(table: Table, label_header: str, sep: str = ";") -> str:
    """The table as CSV text with a BOM (Excel): ``;`` with decimal commas (German Excel) or
    ``,`` with decimal points."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    # the German headings carry soft hyphens for the page's narrow columns; a sheet needs none
    writer.writerow(
        [label_header, *[label.replace(SOFT_HYPHEN, "") for _id, label in table.columns]]
    )
    for row in table.rows:
        cells = []
        for column, _label in table.columns:
            value = row.get(column)
            if value is None:
                cells.append("")
            elif isinstance(value, float) and sep == ";":
                cells.append(f"{value:g}".replace(".", ","))
            else:
                cells.append(f"{value:g}" if isinstance(value, float) else str(value))
        writer.writerow([row.get("csv_label", row["label"]), *cells])
    return out.getvalue()
