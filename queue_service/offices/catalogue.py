"""Load the catalogue file (YAML): validate everything first, report by line and field, then
apply it in one transaction, so a bad file never half-loads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from ..db import unit_of_work
from ..errors import CatalogueError
from .models import (
    Closure,
    Counter,
    MobileEvent,
    Office,
    OfficeService,
    OpeningWindow,
    Service,
    WindowKind,
)

DEMO_FILE = Path(__file__).parent / "data" / "hannover.yaml"
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Located:
    """Parsed YAML with the line number of every node, keyed by path."""

    def __init__(self, text: str, source: str):
        self.source = source
        self.lines: dict[tuple, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else source
            raise CatalogueError(
                [f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})"]
            ) from exc
        if node is None:
            raise CatalogueError([f"{source}: the file is empty"])
        self._index(node, ())
        self.data = yaml.safe_load(text)

    def _index(self, node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                self._index(value_node, path + (key_node.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                self._index(child, path + (i,))

    def line(self, path: tuple) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


@dataclass
class _Checker:
    doc: _Located
    problems: list[str] = field(default_factory=list)

    def fail(self, path: tuple, message: str) -> None:
        dotted = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(
            ".[", "["
        )
        self.problems.append(f"line {self.doc.line(path)}: {dotted}: {message}")

    def get(self, mapping: dict, path: tuple, key: str, kind, *, required=True, default=None):
        if not isinstance(mapping, dict) or key not in mapping or mapping[key] is None:
            if required:
                self.fail(path + (key,), "is required")
            return default
        value = mapping[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(path + (key,), f"must be a whole number, not {value!r}")
            return default
        if kind is not int and not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(path + (key,), f"must be {names}, not {value!r}")
            return default
        return value


def _time(checker: _Checker, path: tuple, value: Any) -> time | None:
    if not isinstance(value, str) or not _HHMM.match(value):
        checker.fail(path, f'must be a time like "08:00", not {value!r}')
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _windows(checker: _Checker, path: tuple, spec: Any) -> list[tuple[int, time, time, int | None]]:
    result: list[tuple[int, time, time, int | None]] = []
    if spec in (None, {}):
        return result
    if not isinstance(spec, dict):
        checker.fail(path, "must map weekdays (mon..sun) to lists of [start, end] windows")
        return result
    for day_name, entries in spec.items():
        dpath = path + (day_name,)
        if day_name not in WEEKDAYS:
            checker.fail(dpath, f"unknown weekday {day_name!r} (use {', '.join(WEEKDAYS)})")
            continue
        if not isinstance(entries, list):
            checker.fail(dpath, "must be a list of [start, end] windows")
            continue
        previous_end = None
        for i, entry in enumerate(entries):
            wpath = dpath + (i,)
            if not isinstance(entry, list) or len(entry) not in (2, 3):
                checker.fail(wpath, "must be [start, end] or [start, end, capacity]")
                continue
            start, end = (
                _time(checker, wpath + (0,), entry[0]),
                _time(checker, wpath + (1,), entry[1]),
            )
            capacity = entry[2] if len(entry) == 3 else None
            if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
                checker.fail(wpath + (2,), "capacity must be a positive whole number")
                capacity = None
            if start and end:
                if start >= end:
                    checker.fail(wpath, "start must be before end")
                elif previous_end and start < previous_end:
                    checker.fail(wpath, "windows of one day must not overlap")
                else:
                    previous_end = end
                    result.append((WEEKDAYS.index(day_name), start, end, capacity))
    return result


def parse_catalogue(text: str, source: str = "catalogue") -> dict:
    """Validate a catalogue document; return normalised data or raise CatalogueError."""
    doc = _Located(text, source)
    data = doc.data
    c = _Checker(doc)
    if not isinstance(data, dict):
        raise CatalogueError([f"line 1: {source}: the top level must be a mapping"])
    if data.get("version") != 1:
        c.fail(("version",), "must be 1")

    region = data.get("region") or {}
    recurring = []
    for i, rc in enumerate(region.get("recurring_closures") or []):
        path = ("region", "recurring_closures", i)
        value = rc.get("date") if isinstance(rc, dict) else None
        if not isinstance(value, str) or not re.match(r"^\d{2}-\d{2}$", value):
            c.fail(path + ("date",), 'must be "MM-DD"')
            continue
        try:
            day = date(2000, int(value[:2]), int(value[3:]))
        except ValueError:
            c.fail(path + ("date",), f"{value!r} is not a day of the year")
            continue
        recurring.append({"day": day, "reason": str(rc.get("reason") or "Geschlossen")})
    default_cap = region.get("walkin_daily_cap")

    services: dict[str, dict] = {}
    for i, s in enumerate(data.get("services") or []):
        path = ("services", i)
        if not isinstance(s, dict):
            c.fail(path, "must be a mapping")
            continue
        code = c.get(s, path, "code", str)
        if code and not _CODE.match(code):
            c.fail(
                path + ("code",),
                f"{code!r}: use capital letters and digits, starting with a letter",
            )
            code = None
        if code and code in services:
            c.fail(path + ("code",), f"duplicate service code {code!r}")
        prefix = c.get(s, path, "prefix", str)
        if prefix and not re.match(r"^[A-HJ-NPR-Z]$", prefix):
            c.fail(path + ("prefix",), f"{prefix!r}: one capital letter (not I, O, Q)")
        minutes = c.get(s, path, "minutes", int)
        if minutes is not None and not 1 <= minutes <= 240:
            c.fail(path + ("minutes",), "must be between 1 and 240")
        extra = c.get(s, path, "extra_person_minutes", int, required=False, default=0)
        if extra is not None and extra < 0:
            c.fail(path + ("extra_person_minutes",), "must not be negative")
        documents = {}
        for lang in ("de", "en"):
            docs = s.get(f"documents_{lang}") or []
            if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
                c.fail(path + (f"documents_{lang}",), "must be a list of texts")
                docs = []
            documents[lang] = docs
        entry = {
            "code": code,
            "prefix": prefix,
            "name_de": c.get(s, path, "name_de", str),
            "name_en": c.get(s, path, "name_en", str),
            "description_de": s.get("description_de"),
            "description_en": s.get("description_en"),
            "duration_minutes": minutes,
            "extra_person_minutes": extra or 0,
            "walk_in_allowed": bool(s.get("walk_in", True)),
            "online_bookable": bool(s.get("online", True)),
            "short_matter": bool(s.get("short", False)),
            "online_alternative_url": s.get("online_alternative_url"),
            "documents_de": documents["de"],
            "documents_en": documents["en"],
            "group": str(s.get("group") or "other"),
            "sort_order": i,
            "demo_fields": list(s.get("demo") or []),
        }
        if code:
            services[code] = entry

    templates: dict[str, dict] = {}
    for name, spec in (data.get("hours_templates") or {}).items():
        path = ("hours_templates", name)
        if not isinstance(spec, dict):
            c.fail(path, "must be a mapping with appointment and walkin windows")
            continue
        templates[name] = {
            WindowKind.APPOINTMENT: _windows(c, path + ("appointment",), spec.get("appointment")),
            WindowKind.WALKIN: _windows(c, path + ("walkin",), spec.get("walkin")),
        }

    offices: dict[str, dict] = {}
    for i, o in enumerate(data.get("offices") or []):
        path = ("offices", i)
        if not isinstance(o, dict):
            c.fail(path, "must be a mapping")
            continue
        slug = c.get(o, path, "slug", str)
        if slug and not _SLUG.match(slug):
            c.fail(path + ("slug",), f"{slug!r}: lower-case letters, digits and dashes only")
            slug = None
        if slug and slug in offices:
            c.fail(path + ("slug",), f"duplicate office slug {slug!r}")
        counters = c.get(o, path, "counters", int)
        if counters is not None and not 1 <= counters <= 99:
            c.fail(path + ("counters",), "must be between 1 and 99")
        hours = o.get("hours")
        mobile = bool(o.get("mobile", False))
        if hours is None and not mobile:
            c.fail(path + ("hours",), "is required (name of an hours template)")
        elif hours is not None and hours not in templates:
            c.fail(path + ("hours",), f"unknown hours template {hours!r}")
        offered = o.get("services")
        if offered == "all":
            offered_codes = list(services)
        elif isinstance(offered, dict) and set(offered) == {"all_except"}:
            excluded = offered["all_except"] or []
            for j, code in enumerate(excluded):
                if code not in services:
                    c.fail(path + ("services", "all_except", j), f"unknown service code {code!r}")
            offered_codes = [code for code in services if code not in excluded]
        elif isinstance(offered, list):
            offered_codes = []
            for j, code in enumerate(offered):
                if code not in services:
                    c.fail(path + ("services", j), f"unknown service code {code!r}")
                else:
                    offered_codes.append(code)
        else:
            c.fail(path + ("services",), 'must be "all", {all_except: [...]} or a list of codes')
            offered_codes = []
        counter_services: dict[int, list[str]] = {}
        for number, codes in (o.get("counter_services") or {}).items():
            cpath = path + ("counter_services", number)
            if not isinstance(number, int) or not counters or not 1 <= number <= counters:
                c.fail(cpath, f"counter {number!r} does not exist (1..{counters})")
                continue
            bad = [code for code in codes or [] if code not in offered_codes]
            if bad:
                c.fail(cpath, f"services not offered by this office: {', '.join(map(str, bad))}")
            counter_services[number] = [code for code in codes or [] if code in offered_codes]
        cap = o.get("walkin_daily_cap", default_cap)
        if cap is not None and (not isinstance(cap, int) or cap < 1 or cap > 999):
            c.fail(path + ("walkin_daily_cap",), "must be between 1 and 999")
        access = o.get("accessibility") or {}
        if (
            not isinstance(access, dict)
            or not set(access) <= {"de", "en"}
            or not all(isinstance(text, str) for text in access.values())
        ):
            c.fail(path + ("accessibility",), "must be {de: text, en: text}")
            access = {}
        if slug:
            offices[slug] = {
                "slug": slug,
                "name": c.get(o, path, "name", str),
                "address": o.get("address"),
                "phone": o.get("phone"),
                "email": o.get("email"),
                "accessibility_de": access.get("de"),
                "accessibility_en": access.get("en"),
                "timezone": o.get("timezone") or region.get("timezone") or "Europe/Berlin",
                "is_mobile": mobile,
                "walkin_daily_cap": cap,
                "counters": counters or 0,
                "counter_services": counter_services,
                "hours": templates.get(hours) if hours else None,
                "services": offered_codes,
                "demo_fields": list(o.get("demo") or []),
            }

    closures = []
    for i, cl in enumerate(data.get("closures") or []):
        path = ("closures", i)
        office = cl.get("office") if isinstance(cl, dict) else None
        if office is not None and office not in offices:
            c.fail(path + ("office",), f"unknown office {office!r}")
        day = cl.get("date") if isinstance(cl, dict) else None
        if not isinstance(day, date):
            c.fail(path + ("date",), "must be a date like 2026-12-24")
            continue
        closures.append(
            {"office": office, "day": day, "reason": str(cl.get("reason") or "Geschlossen")}
        )

    events = []
    for i, ev in enumerate(data.get("mobile_events") or []):
        path = ("mobile_events", i)
        if not isinstance(ev, dict):
            c.fail(path, "must be a mapping")
            continue
        office = ev.get("office")
        if office not in offices or not offices[office]["is_mobile"]:
            c.fail(path + ("office",), f"{office!r} is not a mobile office of this file")
        day = ev.get("date")
        if not isinstance(day, date):
            c.fail(path + ("date",), "must be a date like 2026-12-03")
        start, end = (
            _time(c, path + ("start",), ev.get("start")),
            _time(c, path + ("end",), ev.get("end")),
        )
        if start and end and start >= end:
            c.fail(path, "start must be before end")
        codes = ev.get("services") or []
        for j, code in enumerate(codes):
            if office in offices and code not in offices[office]["services"]:
                c.fail(path + ("services", j), f"{code!r} is not offered by {office}")
        place = c.get(ev, path, "place", str)
        events.append(
            {
                "office": office,
                "day": day,
                "start": start,
                "end": end,
                "place": place,
                "address": ev.get("address"),
                "services": codes,
            }
        )

    if not services:
        c.fail(("services",), "at least one service is required")
    if not offices:
        c.fail(("offices",), "at least one office is required")
    if c.problems:
        raise CatalogueError(c.problems)
    return {
        "recurring": recurring,
        "services": services,
        "offices": offices,
        "closures": closures,
        "events": events,
    }


@dataclass
class LoadReport:
    offices: int
    services: int
    counters: int
    windows: int
    closures: int
    mobile_events: int


def load_catalogue_text(text: str, source: str = "catalogue") -> LoadReport:
    """Validate and apply a catalogue document; upserts by slug and code, all or nothing."""
    data = parse_catalogue(text, source)
    with unit_of_work() as session:
        by_code: dict[str, Service] = {s.code: s for s in session.scalars(select(Service)).all()}
        for code, attrs in data["services"].items():
            service = by_code.get(code) or Service(code=code)
            for key, value in attrs.items():
                setattr(service, key, value)
            session.add(service)
            by_code[code] = service
        session.flush()

        existing = {o.slug: o for o in session.scalars(select(Office)).all()}
        n_counters = n_windows = 0
        for slug, attrs in data["offices"].items():
            office = existing.get(slug) or Office(slug=slug)
            for key in (
                "name",
                "address",
                "phone",
                "email",
                "accessibility_de",
                "accessibility_en",
                "timezone",
                "is_mobile",
                "walkin_daily_cap",
                "demo_fields",
            ):
                setattr(office, key, attrs[key])
            session.add(office)
            session.flush()
            existing[slug] = office
            # services offered
            offered = {code: by_code[code] for code in attrs["services"]}
            current = {os_.service.code: os_ for os_ in office.services}
            for code, os_ in current.items():
                if code not in offered:
                    office.services.remove(os_)
            for code, service in offered.items():
                if code not in current:
                    office.services.append(OfficeService(service=service))
            # counters: upsert by number; counters beyond the count are deactivated, not deleted
            by_number = {ctr.number: ctr for ctr in office.counters}
            for number in range(1, attrs["counters"] + 1):
                counter = by_number.get(number) or Counter(number=number)
                counter.active = True
                codes = attrs["counter_services"].get(number, attrs["services"])
                counter.services = [by_code[code] for code in codes]
                if number not in by_number:
                    office.counters.append(counter)
                n_counters += 1
            for number, counter in by_number.items():
                if number > attrs["counters"]:
                    counter.active = False
            # weekly windows: replaced as a whole
            for window in list(office.hours):
                office.hours.remove(window)
            if attrs["hours"]:
                for kind, rows in attrs["hours"].items():
                    for weekday, start, end, capacity in rows:
                        office.hours.append(
                            OpeningWindow(
                                weekday=weekday,
                                kind=kind,
                                start_time=start,
                                end_time=end,
                                capacity=capacity,
                            )
                        )
                        n_windows += 1
        session.flush()

        for rc in data["recurring"]:
            _upsert_closure(session, None, rc["day"], rc["reason"], recurring=True)
        for cl in data["closures"]:
            office_id = existing[cl["office"]].id if cl["office"] else None
            _upsert_closure(session, office_id, cl["day"], cl["reason"], recurring=False)

        for ev in data["events"]:
            office = existing[ev["office"]]
            event = session.scalar(
                select(MobileEvent).where(
                    MobileEvent.office_id == office.id,
                    MobileEvent.day == ev["day"],
                    MobileEvent.start_time == ev["start"],
                )
            ) or MobileEvent(office_id=office.id, day=ev["day"], start_time=ev["start"])
            event.end_time = ev["end"]
            event.place = ev["place"]
            event.address = ev["address"]
            event.services = [by_code[code] for code in ev["services"]]
            session.add(event)

    return LoadReport(
        offices=len(data["offices"]),
        services=len(data["services"]),
        counters=n_counters,
        windows=n_windows,
        closures=len(data["closures"]) + len(data["recurring"]),
        mobile_events=len(data["events"]),
    )


def _upsert_closure(session, office_id, day, reason, *, recurring: bool) -> None:
    closure = session.scalar(
        select(Closure).where(
            Closure.office_id.is_(office_id)
            if office_id is None
            else Closure.office_id == office_id,
            Closure.day == day,
        )
    ) or Closure(office_id=office_id, day=day)
    closure.reason = reason
    closure.recurring = recurring
    session.add(closure)


def load_catalogue_file(path: str | Path) -> LoadReport:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogueError([f"{path}: file not found"]) from exc
    except UnicodeDecodeError as exc:
        raise CatalogueError([f"{path}: not UTF-8 text"]) from exc
    return load_catalogue_text(text, str(path))
