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
    checker = _Checker(doc)
    if not isinstance(data, dict):
        raise CatalogueError([f"line 1: {source}: the top level must be a mapping"])
    if data.get("version") != 1:
        checker.fail(("version",), "must be 1")
    region = data.get("region") or {}
    recurring = _parse_recurring_closures(checker, region.get("recurring_closures") or [])
    services = _parse_services(checker, data.get("services") or [])
    templates = _parse_hours_templates(checker, data.get("hours_templates") or {})
    offices = _parse_offices(checker, data.get("offices") or [], region, services, templates)
    closures = _parse_closures(checker, data.get("closures") or [], offices)
    events = _parse_mobile_events(checker, data.get("mobile_events") or [], offices)
    if not services:
        checker.fail(("services",), "at least one service is required")
    if not offices:
        checker.fail(("offices",), "at least one office is required")
    if checker.problems:
        raise CatalogueError(checker.problems)
    return {
        "recurring": recurring,
        "services": services,
        "offices": offices,
        "closures": closures,
        "events": events,
    }


# ---------------------------------------------------------------- region


def _parse_recurring_closures(checker: _Checker, entries: list) -> list[dict]:
    """Closures on the same day every year ("MM-DD"), for every office of the region."""
    recurring = []
    for i, entry in enumerate(entries):
        path = ("region", "recurring_closures", i)
        value = entry.get("date") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not re.match(r"^\d{2}-\d{2}$", value):
            checker.fail(path + ("date",), 'must be "MM-DD"')
            continue
        try:
            day = date(2000, int(value[:2]), int(value[3:]))
        except ValueError:
            checker.fail(path + ("date",), f"{value!r} is not a day of the year")
            continue
        recurring.append({"day": day, "reason": str(entry.get("reason") or "Geschlossen")})
    return recurring


# ---------------------------------------------------------------- services


def _parse_services(checker: _Checker, entries: list) -> dict[str, dict]:
    services: dict[str, dict] = {}
    for i, spec in enumerate(entries):
        path = ("services", i)
        if not isinstance(spec, dict):
            checker.fail(path, "must be a mapping")
            continue
        entry = _parse_service(checker, path, spec, services)
        entry["sort_order"] = i
        if entry["code"]:
            services[entry["code"]] = entry
    return services


def _service_code(checker: _Checker, path: tuple, spec: dict, seen: dict) -> str | None:
    code = checker.get(spec, path, "code", str)
    if code and not _CODE.match(code):
        checker.fail(
            path + ("code",), f"{code!r}: use capital letters and digits, starting with a letter"
        )
        code = None
    if code and code in seen:
        checker.fail(path + ("code",), f"duplicate service code {code!r}")
    return code


def _service_documents(checker: _Checker, path: tuple, spec: dict) -> dict[str, list[str]]:
    documents = {}
    for lang in ("de", "en"):
        docs = spec.get(f"documents_{lang}") or []
        if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
            checker.fail(path + (f"documents_{lang}",), "must be a list of texts")
            docs = []
        documents[lang] = docs
    return documents


def _parse_service(checker: _Checker, path: tuple, spec: dict, seen: dict) -> dict:
    code = _service_code(checker, path, spec, seen)
    prefix = checker.get(spec, path, "prefix", str)
    if prefix and not re.match(r"^[A-HJ-NPR-Z]$", prefix):
        checker.fail(path + ("prefix",), f"{prefix!r}: one capital letter (not I, O, Q)")
    minutes = checker.get(spec, path, "minutes", int)
    if minutes is not None and not 1 <= minutes <= 240:
        checker.fail(path + ("minutes",), "must be between 1 and 240")
    extra = checker.get(spec, path, "extra_person_minutes", int, required=False, default=0)
    if extra is not None and extra < 0:
        checker.fail(path + ("extra_person_minutes",), "must not be negative")
    documents = _service_documents(checker, path, spec)
    return {
        "code": code,
        "prefix": prefix,
        "name_de": checker.get(spec, path, "name_de", str),
        "name_en": checker.get(spec, path, "name_en", str),
        "description_de": spec.get("description_de"),
        "description_en": spec.get("description_en"),
        "duration_minutes": minutes,
        "extra_person_minutes": extra or 0,
        "walk_in_allowed": bool(spec.get("walk_in", True)),
        "online_bookable": bool(spec.get("online", True)),
        "short_matter": bool(spec.get("short", False)),
        "online_alternative_url": spec.get("online_alternative_url"),
        "documents_de": documents["de"],
        "documents_en": documents["en"],
        "group": str(spec.get("group") or "other"),
        "demo_fields": list(spec.get("demo") or []),
    }


# ---------------------------------------------------------------- hours templates


def _parse_hours_templates(checker: _Checker, specs: dict) -> dict[str, dict]:
    templates: dict[str, dict] = {}
    for name, spec in specs.items():
        path = ("hours_templates", name)
        if not isinstance(spec, dict):
            checker.fail(path, "must be a mapping with appointment and walkin windows")
            continue
        templates[name] = {
            WindowKind.APPOINTMENT: _windows(
                checker, path + ("appointment",), spec.get("appointment")
            ),
            WindowKind.WALKIN: _windows(checker, path + ("walkin",), spec.get("walkin")),
        }
    return templates


# ---------------------------------------------------------------- offices


def _parse_offices(
    checker: _Checker, entries: list, region: dict, services: dict, templates: dict
) -> dict[str, dict]:
    offices: dict[str, dict] = {}
    for i, spec in enumerate(entries):
        path = ("offices", i)
        if not isinstance(spec, dict):
            checker.fail(path, "must be a mapping")
            continue
        entry = _parse_office(checker, path, spec, offices, region, services, templates)
        if entry:
            offices[entry["slug"]] = entry
    return offices


def _office_slug(checker: _Checker, path: tuple, spec: dict, seen: dict) -> str | None:
    slug = checker.get(spec, path, "slug", str)
    if slug and not _SLUG.match(slug):
        checker.fail(path + ("slug",), f"{slug!r}: lower-case letters, digits and dashes only")
        slug = None
    if slug and slug in seen:
        checker.fail(path + ("slug",), f"duplicate office slug {slug!r}")
    return slug


def _office_hours(checker: _Checker, path: tuple, spec: dict, templates: dict) -> str | None:
    hours = spec.get("hours")
    if hours is None and not spec.get("mobile", False):
        checker.fail(path + ("hours",), "is required (name of an hours template)")
    elif hours is not None and hours not in templates:
        checker.fail(path + ("hours",), f"unknown hours template {hours!r}")
    return hours


def _offered_codes(checker: _Checker, path: tuple, offered: Any, services: dict) -> list[str]:
    """``all``, ``{all_except: [...]}`` or a list of service codes."""
    if offered == "all":
        return list(services)
    if isinstance(offered, dict) and set(offered) == {"all_except"}:
        excluded = offered["all_except"] or []
        for j, code in enumerate(excluded):
            if code not in services:
                checker.fail(path + ("services", "all_except", j), f"unknown service code {code!r}")
        return [code for code in services if code not in excluded]
    if isinstance(offered, list):
        codes = []
        for j, code in enumerate(offered):
            if code not in services:
                checker.fail(path + ("services", j), f"unknown service code {code!r}")
            else:
                codes.append(code)
        return codes
    checker.fail(path + ("services",), 'must be "all", {all_except: [...]} or a list of codes')
    return []


def _counter_services(
    checker: _Checker, path: tuple, spec: dict, counters: int | None, offered: list[str]
) -> dict[int, list[str]]:
    """The services of counters that do not serve everything the office offers."""
    result: dict[int, list[str]] = {}
    for number, codes in (spec.get("counter_services") or {}).items():
        cpath = path + ("counter_services", number)
        if not isinstance(number, int) or not counters or not 1 <= number <= counters:
            checker.fail(cpath, f"counter {number!r} does not exist (1..{counters})")
            continue
        bad = [code for code in codes or [] if code not in offered]
        if bad:
            checker.fail(cpath, f"services not offered by this office: {', '.join(map(str, bad))}")
        result[number] = [code for code in codes or [] if code in offered]
    return result


def _accessibility(checker: _Checker, path: tuple, spec: dict) -> dict:
    """The accessibility notes of the building, in German and English."""
    access = spec.get("accessibility") or {}
    if (
        not isinstance(access, dict)
        or not set(access) <= {"de", "en"}
        or not all(isinstance(text, str) for text in access.values())
    ):
        checker.fail(path + ("accessibility",), "must be {de: text, en: text}")
        access = {}
    return access


def _parse_office(
    checker: _Checker,
    path: tuple,
    spec: dict,
    seen: dict,
    region: dict,
    services: dict,
    templates: dict,
) -> dict | None:
    slug = _office_slug(checker, path, spec, seen)
    counters = checker.get(spec, path, "counters", int)
    if counters is not None and not 1 <= counters <= 99:
        checker.fail(path + ("counters",), "must be between 1 and 99")
    hours = _office_hours(checker, path, spec, templates)
    offered = _offered_codes(checker, path, spec.get("services"), services)
    counter_services = _counter_services(checker, path, spec, counters, offered)
    cap = spec.get("walkin_daily_cap", region.get("walkin_daily_cap"))
    if cap is not None and (not isinstance(cap, int) or cap < 1 or cap > 999):
        checker.fail(path + ("walkin_daily_cap",), "must be between 1 and 999")
    access = _accessibility(checker, path, spec)
    if not slug:
        return None
    return {
        "slug": slug,
        "name": checker.get(spec, path, "name", str),
        "address": spec.get("address"),
        "phone": spec.get("phone"),
        "email": spec.get("email"),
        "accessibility_de": access.get("de"),
        "accessibility_en": access.get("en"),
        "timezone": spec.get("timezone") or region.get("timezone") or "Europe/Berlin",
        "is_mobile": bool(spec.get("mobile", False)),
        "walkin_daily_cap": cap,
        "counters": counters or 0,
        "counter_services": counter_services,
        "hours": templates.get(hours) if hours else None,
        "services": offered,
        "demo_fields": list(spec.get("demo") or []),
    }


# ---------------------------------------------------------------- closures and mobile dates


def _parse_closures(checker: _Checker, entries: list, offices: dict) -> list[dict]:
    closures = []
    for i, entry in enumerate(entries):
        path = ("closures", i)
        office = entry.get("office") if isinstance(entry, dict) else None
        if office is not None and office not in offices:
            checker.fail(path + ("office",), f"unknown office {office!r}")
        day = entry.get("date") if isinstance(entry, dict) else None
        if not isinstance(day, date):
            checker.fail(path + ("date",), "must be a date like 2026-12-24")
            continue
        closures.append(
            {"office": office, "day": day, "reason": str(entry.get("reason") or "Geschlossen")}
        )
    return closures


def _parse_mobile_events(checker: _Checker, entries: list, offices: dict) -> list[dict]:
    events = []
    for i, spec in enumerate(entries):
        path = ("mobile_events", i)
        if not isinstance(spec, dict):
            checker.fail(path, "must be a mapping")
            continue
        events.append(_parse_mobile_event(checker, path, spec, offices))
    return events


def _parse_mobile_event(checker: _Checker, path: tuple, spec: dict, offices: dict) -> dict:
    office = spec.get("office")
    if office not in offices or not offices[office]["is_mobile"]:
        checker.fail(path + ("office",), f"{office!r} is not a mobile office of this file")
    day = spec.get("date")
    if not isinstance(day, date):
        checker.fail(path + ("date",), "must be a date like 2026-12-03")
    start, end = (
        _time(checker, path + ("start",), spec.get("start")),
        _time(checker, path + ("end",), spec.get("end")),
    )
    if start and end and start >= end:
        checker.fail(path, "start must be before end")
    codes = spec.get("services") or []
    for j, code in enumerate(codes):
        if office in offices and code not in offices[office]["services"]:
            checker.fail(path + ("services", j), f"{code!r} is not offered by {office}")
    return {
        "office": office,
        "day": day,
        "start": start,
        "end": end,
        "place": checker.get(spec, path, "place", str),
        "address": spec.get("address"),
        "services": codes,
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
    n_counters = n_windows = 0
    with unit_of_work() as session:
        by_code = _apply_services(session, data["services"])
        existing = {o.slug: o for o in session.scalars(select(Office)).all()}
        for slug, attrs in data["offices"].items():
            existing[slug] = office = _apply_office(session, existing.get(slug), slug, attrs)
            _apply_offered_services(office, attrs["services"], by_code)
            n_counters += _apply_counters(office, attrs, by_code)
            n_windows += _apply_hours(office, attrs["hours"])
        session.flush()
        _apply_closures(session, data["recurring"], data["closures"], existing)
        _apply_mobile_events(session, data["events"], existing, by_code)
    return LoadReport(
        offices=len(data["offices"]),
        services=len(data["services"]),
        counters=n_counters,
        windows=n_windows,
        closures=len(data["closures"]) + len(data["recurring"]),
        mobile_events=len(data["events"]),
    )


_OFFICE_FIELDS = (
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
)


def _apply_services(session, services: dict[str, dict]) -> dict[str, Service]:
    """Upsert the services by code; returns every service by code."""
    by_code: dict[str, Service] = {s.code: s for s in session.scalars(select(Service)).all()}
    for code, attrs in services.items():
        service = by_code.get(code) or Service(code=code)
        for key, value in attrs.items():
            setattr(service, key, value)
        session.add(service)
        by_code[code] = service
    session.flush()
    return by_code


def _apply_office(session, office: Office | None, slug: str, attrs: dict) -> Office:
    office = office or Office(slug=slug)
    for key in _OFFICE_FIELDS:
        setattr(office, key, attrs[key])
    session.add(office)
    session.flush()
    return office


def _apply_offered_services(office: Office, codes: list[str], by_code: dict) -> None:
    offered = {code: by_code[code] for code in codes}
    current = {os_.service.code: os_ for os_ in office.services}
    for code, os_ in current.items():
        if code not in offered:
            office.services.remove(os_)
    for code, service in offered.items():
        if code not in current:
            office.services.append(OfficeService(service=service))


def _apply_counters(office: Office, attrs: dict, by_code: dict) -> int:
    """Upsert counters by number; counters beyond the count are deactivated, not deleted."""
    by_number = {ctr.number: ctr for ctr in office.counters}
    for number in range(1, attrs["counters"] + 1):
        counter = by_number.get(number) or Counter(number=number)
        counter.active = True
        codes = attrs["counter_services"].get(number, attrs["services"])
        counter.services = [by_code[code] for code in codes]
        if number not in by_number:
            office.counters.append(counter)
    for number, counter in by_number.items():
        if number > attrs["counters"]:
            counter.active = False
    return attrs["counters"]


def _apply_hours(office: Office, hours: dict | None) -> int:
    """Weekly windows are replaced as a whole; returns how many there are now."""
    for window in list(office.hours):
        office.hours.remove(window)
    count = 0
    for kind, rows in (hours or {}).items():
        for weekday, start, end, capacity in rows:
            office.hours.append(
                OpeningWindow(
                    weekday=weekday, kind=kind, start_time=start, end_time=end, capacity=capacity
                )
            )
            count += 1
    return count


def _apply_closures(session, recurring: list, closures: list, offices: dict) -> None:
    for rc in recurring:
        _upsert_closure(session, None, rc["day"], rc["reason"], recurring=True)
    for cl in closures:
        office_id = offices[cl["office"]].id if cl["office"] else None
        _upsert_closure(session, office_id, cl["day"], cl["reason"], recurring=False)


def _apply_mobile_events(session, events: list, offices: dict, by_code: dict) -> None:
    for ev in events:
        office = offices[ev["office"]]
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
