"""Figures and integrity checks of a simulated day, as a JSON-ready dict and as text."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from .actors import Display, Outcome, SimClock, TicketRecord
from .plan import DayPlan
from .readback import Stored

LIVE_APPOINTMENT = {"pending", "confirmed", "checked_in", "no_show"}
ENDED = {"done", "no_show", "cancelled", "not_served"}
UNIT = 5  # minutes: booking capacity is counted per unit


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: list[float], digits: int = 1) -> dict:
    def r(x):
        return None if x is None else round(x, digits)

    return {
        "n": len(values),
        "median": r(percentile(values, 50)),
        "p90": r(percentile(values, 90)),
        "max": r(max(values) if values else None),
    }


def latency_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": _round(percentile(ms, 50)),
        "p95": _round(percentile(ms, 95)),
        "p99": _round(percentile(ms, 99)),
        "max": _round(max(ms) if ms else None),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def hhmm(minute: float) -> str:
    minute = int(round(minute))
    return f"{minute // 60:02d}:{minute % 60:02d}"


def waiting_minutes(called: float, issued: float, due: float | None) -> float:
    """Walk-ins wait from the ticket; appointment holders from the later of check-in and start."""
    return max(0.0, called - max(issued, due if due is not None else issued))


def figures(plan: DayPlan, outcome: Outcome, clock: SimClock) -> dict:
    """What the day was like: visits, waits per office and service, load, latencies."""
    tickets = list(outcome.tickets.values())
    by_office, by_service = _waits(tickets)
    real = outcome.ended_real - outcome.started_real
    return {
        "day": plan.day.isoformat(),
        "simulated": {"from": hhmm(plan.start), "to": hhmm(outcome.ended_minute)},
        "clock_speed": clock.speed,
        "real_seconds": round(real, 1),
        "visits": _visit_figures(plan, outcome, tickets),
        "offices": {
            slug: _office_figures(plan, outcome, tickets, by_office, slug)
            for slug in sorted(plan.offices)
        },
        "waiting_by_service_minutes": {code: spread(v) for code, v in sorted(by_service.items())},
        "throughput": {
            "requests": len(outcome.requests),
            "requests_per_second": round(len(outcome.requests) / real, 1) if real else None,
            "tickets_ended_per_simulated_hour": round(
                sum(1 for t in tickets if t.status in ENDED)
                / max((outcome.ended_minute - plan.start) / 60, 1e-9),
                1,
            ),
        },
        "endpoints_ms": _endpoint_figures(outcome),
        # compressed time compresses the server's latency too: an answer's wait in simulated
        # minutes (when this is not small against service times, the day is distorted)
        "request_latency_simulated_minutes": {
            "p50": _round(
                _sim_minutes(percentile([r.seconds for r in outcome.requests], 50), clock)
            ),
            "p95": _round(
                _sim_minutes(percentile([r.seconds for r in outcome.requests], 95), clock)
            ),
        },
        "call_to_display_ms": latency_ms(
            [s - c.sent for c in outcome.calls for s in c.seen.values()]
        ),
        "call_to_phone_ms": latency_ms(outcome.phone_calls),
        "connections": {
            "displays": len(outcome.displays),
            "phones": outcome.phones,
            "display_reconnects": sum(
                max(len(d.connected) - 1, 0) for d in outcome.displays.values()
            ),
            "display_resyncs": sum(d.resyncs for d in outcome.displays.values()),
            # of them, found by the heartbeat (the rest by a seq missing for REORDER_SECONDS)
            "display_resyncs_heartbeat": sum(
                d.heartbeat_resyncs for d in outcome.displays.values()
            ),
        },
        "errors": outcome.errors[:50],
        "error_count": len(outcome.errors),
    }


def _waits(
    tickets: list[TicketRecord],
) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[float]]]:
    """Waiting minutes of the called tickets per office and kind, and per service."""
    by_office: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    by_service: dict[str, list[float]] = defaultdict(list)
    for t in tickets:
        if t.called_at is None:
            continue
        wait = waiting_minutes(t.called_at, t.issued_at, t.due if t.kind == "appointment" else None)
        by_office[t.office][t.kind].append(wait)
        by_service[t.service].append(wait)
    return by_office, by_service


def _visit_figures(plan: DayPlan, outcome: Outcome, tickets: list[TicketRecord]) -> dict:
    """Visits planned, booked, checked in and served."""
    walkins = [v for v in plan.visits if v.kind == "walkin"]
    appointments = [v for v in plan.visits if v.kind == "appointment"]
    checked_in = [t for t in tickets if t.kind == "appointment"]
    return {
        "planned": len(plan.visits),
        "walk_ins": len(walkins),
        "appointments_planned": len(appointments),
        "appointments_booked": len(outcome.bookings),
        "appointments_checked_in": len(checked_in),
        "appointment_no_shows_planned": sum(
            1 for v in appointments if v.no_show and v.id in outcome.bookings
        ),
        "two_persons": sum(1 for v in plan.visits if v.persons > 1),
        "several_services": sum(1 for v in plan.visits if len(v.services) > 1),
        "tickets": len(tickets),
        "served": sum(1 for t in tickets if t.status == "done"),
        "no_show_at_counter": sum(1 for t in tickets if t.status == "no_show"),
        "refused": dict(outcome.refused),
    }


def _office_figures(
    plan: DayPlan,
    outcome: Outcome,
    tickets: list[TicketRecord],
    by_office: dict[str, dict[str, list[float]]],
    slug: str,
) -> dict:
    """One office's tickets, waits, counter utilisation and pace."""
    counters = [v for (o, _n), v in outcome.counter_time.items() if o == slug]
    open_minutes = sum(c["open"] for c in counters)
    busy = sum(c["busy"] for c in counters)
    ended = [t for t in tickets if t.office == slug and t.status in ENDED]
    span = (max((t.finished_at or 0) for t in ended) - plan.offices[slug].opens) if ended else 0
    return {
        "counters": len(plan.offices[slug].counters),
        "tickets": sum(1 for t in tickets if t.office == slug),
        "served": sum(1 for t in ended if t.status == "done"),
        "waiting_walkin_minutes": spread(by_office[slug]["walkin"]),
        "waiting_appointment_minutes": spread(by_office[slug]["appointment"]),
        "utilisation": round(busy / open_minutes, 3) if open_minutes else None,
        "served_per_hour": round(len(ended) / (span / 60), 1) if span > 0 else None,
        "last_ticket_ended": hhmm(span + plan.offices[slug].opens) if ended else None,
    }


def _endpoint_figures(outcome: Outcome) -> dict:
    """Latency (ms) and failures (no answer or 5xx) per endpoint."""
    endpoints: dict[str, list[float]] = defaultdict(list)
    failures: Counter[str] = Counter()
    for r in outcome.requests:
        endpoints[r.endpoint].append(r.seconds)
        if r.status == 0 or r.status >= 500:
            failures[r.endpoint] += 1
    return {
        name: latency_ms(v) | {"failed": failures[name]} for name, v in sorted(endpoints.items())
    }


def _sim_minutes(seconds: float | None, clock: SimClock) -> float | None:
    return None if seconds is None else seconds * clock.speed / 60


def _covered(display: Display, moment: float, until: float) -> bool:
    return any(start <= moment and until <= end for start, end in display.connected)


def integrity(plan: DayPlan, outcome: Outcome, stored: Stored, clock: SimClock) -> dict:
    """The invariants the day must keep, each checked against what was stored."""
    checks = {
        "tickets_issued_once": _tickets_issued_once(outcome, stored),
        "called_at_most_once_at_a_time": _called_at_most_once_at_a_time(outcome, stored),
        "tickets_ended": _tickets_ended(stored),
        "calls_reached_displays": _calls_reached_displays(outcome),
        "bookings_exist": _bookings_exist(outcome, stored, clock),
        "bookings_within_capacity": _bookings_within_capacity(plan, stored, clock),
    }
    return {"source": stored.source, "all_ok": all(c["ok"] for c in checks.values()), **checks}


def _tickets_issued_once(outcome: Outcome, stored: Stored) -> dict:
    """Every ticket issued once: one ticket per acknowledged issue, numbers unique per office."""
    ours = outcome.tickets
    stored_tokens = {t.token for t in stored.tickets}
    numbers = Counter((t.office, t.number) for t in stored.tickets)
    duplicates = [f"{o} {n}" for (o, n), k in numbers.items() if k > 1]
    missing = [t.number for token, t in ours.items() if token not in stored_tokens]
    extra = (
        [t.number for t in stored.tickets if t.token not in ours]
        if stored.source == "database"
        else []
    )
    handed_twice = [e for e in outcome.errors if "handed out twice" in e]
    # stored without an answer: a request whose answer was lost (timeout, killed process) may
    # well have been carried out; only a second ticket for the same visit would be a duplicate
    # (the Idempotency-Key and the check-in's key prevent that), so these are shown, not failed
    return {
        "ok": not duplicates and not missing and not handed_twice,
        "tickets": len(stored.tickets),
        "acknowledged": len(ours),
        "duplicate_numbers": duplicates[:20],
        "acknowledged_but_missing": missing[:20],
        "stored_without_answer": len(extra),
        "stored_without_answer_numbers": extra[:20],
    }


def _called_at_most_once_at_a_time(outcome: Outcome, stored: Stored) -> dict:
    """Never at two counters, no second call without a way back, no counter with two at once."""
    problems = list(outcome.double_handouts)
    problems += _called_while_called(stored)
    problems += _counters_with_two_at_once(stored)
    return {
        "ok": not problems,
        "calls": sum(1 for ev in stored.events.values() for a, _ in ev if a == "call")
        if stored.events
        else len([c for c in outcome.calls if c.recall == 0]),
        "problems": problems[:20],
    }


def _called_while_called(stored: Stored) -> list[str]:
    """Tickets called again while still called (without a park, transfer, end... between)."""
    stored_by_token = {t.token: t for t in stored.tickets}
    problems = []
    for token, events in stored.events.items():
        holding = False
        for action, _counter in events:
            if action == "call":
                if holding:
                    problems.append(f"{stored_by_token[token].number}: called again while called")
                holding = True
            elif action in ("park", "transfer", "unpark", "finish", "no_show", "cancel", "close"):
                holding = False
    return problems


def _counters_with_two_at_once(stored: Stored) -> list[str]:
    """Counters whose tickets' spans from call to end overlap."""
    per_counter: dict[tuple[str, int], list[tuple[datetime, datetime]]] = defaultdict(list)
    for t in stored.tickets:
        if t.counter is not None and t.called_at and t.ended_at:
            per_counter[(t.office, t.counter)].append((t.called_at, t.ended_at))
    problems = []
    for (office, counter), spans in per_counter.items():
        spans.sort()
        for (_a_start, a_end), (b_start, _b_end) in zip(spans, spans[1:], strict=False):
            if b_start < a_end:
                problems.append(f"{office} counter {counter}: two tickets at once at {b_start}")
    return problems


def _tickets_ended(stored: Stored) -> dict:
    """Nothing left waiting, called or being served."""
    open_tickets = [
        f"{t.office} {t.number} {t.status}" for t in stored.tickets if t.status not in ENDED
    ]
    return {"ok": not open_tickets, "not_ended": open_tickets[:20]}


def _calls_reached_displays(outcome: Outcome) -> dict:
    """Every call reached every display connected from the call until its answer (+1 s)."""
    missed_live, missed_all = [], []
    for call in outcome.calls:
        for display in outcome.displays.values():
            if display.office != call.office or not _covered(display, call.sent, call.answered + 1):
                continue
            if display.id not in call.seen:
                missed_live.append(f"{call.number}/{call.recall} -> {display.id}")
                if display.id not in call.resynced:
                    missed_all.append(f"{call.number}/{call.recall} -> {display.id}")
    return {
        "ok": not missed_all,
        "calls": len(outcome.calls),
        "receipts": sum(len(c.seen) for c in outcome.calls),
        "missed_live": len(missed_live),
        "recovered_by_resync": len(missed_live) - len(missed_all),
        "missed": missed_all[:20],
    }


def _bookings_exist(outcome: Outcome, stored: Stored, clock: SimClock) -> dict:
    """Every acknowledged booking exists as booked; nobody booked twice."""
    stored_codes = {a.code: a for a in stored.appointments if a.code}
    lost = []
    for booking in outcome.bookings.values():
        found = stored_codes.get(booking.code)
        start = clock.midnight + timedelta(minutes=booking.start)
        if (
            found is None
            or found.status not in LIVE_APPOINTMENT
            or found.office != booking.office
            or abs((found.start - start).total_seconds()) > 1
        ):
            lost.append(booking.code)
    emails = Counter(
        a.email for a in stored.appointments if a.status in LIVE_APPOINTMENT and a.email
    )
    twice = [e for e, k in emails.items() if k > 1]
    return {
        "ok": not lost and not twice and not stored.missing,
        "acknowledged": len(outcome.bookings),
        "lost": lost[:20] + stored.missing[:20],
        "booked_twice": twice[:20],
    }


def _bookings_within_capacity(plan: DayPlan, stored: Stored, clock: SimClock) -> dict:
    """No booking unit of an office holds more appointments than the office has seats."""
    load: Counter[tuple[str, int]] = Counter()
    for a in stored.appointments:
        if a.status not in LIVE_APPOINTMENT:
            continue
        minute = (a.start - clock.midnight).total_seconds() / 60
        end = (a.end - clock.midnight).total_seconds() / 60
        while minute < end - 1e-6:
            load[(a.office, int(minute // UNIT) * UNIT)] += 1
            minute += UNIT
    over = []
    for (office, unit), count in sorted(load.items()):
        capacity = plan.offices[office].capacity_at(unit) if office in plan.offices else 0
        if count > capacity:
            over.append(f"{office} {hhmm(unit)}: {count} > {capacity}")
    return {
        "ok": not over,
        "units_checked": len(load),
        "over": over[:20],
        "scope": "every appointment of the day"
        if stored.source == "database"
        else "the simulation's bookings",
    }


def as_text(report: dict) -> str:
    f = report["figures"]
    lines = [
        f"Simulated {f['day']} {f['simulated']['from']}-{f['simulated']['to']} at {f['clock_speed']:g}x "
        f"in {f['real_seconds']} s real time",
        f"Visits planned {f['visits']['planned']}: tickets {f['visits']['tickets']}, served "
        f"{f['visits']['served']}, bookings {f['visits']['appointments_booked']} "
        f"(checked in {f['visits']['appointments_checked_in']}), refused {f['visits']['refused']}",
        f"{'office':<15}{'tickets':>8}{'served':>7}{'walk-in wait med/p90':>22}"
        f"{'appt wait med/p90':>19}{'util':>6}{'last':>7}",
    ]
    for slug, o in f["offices"].items():
        w, a = o["waiting_walkin_minutes"], o["waiting_appointment_minutes"]
        lines.append(
            f"{slug:<15}{o['tickets']:>8}{o['served']:>7}{_pair(w):>22}{_pair(a):>19}"
            f"{(o['utilisation'] or 0):>6.2f}{o['last_ticket_ended'] or '-':>7}"
        )
    lines.append(
        f"Requests {f['throughput']['requests']} ({f['throughput']['requests_per_second']}/s, "
        f"answers take {f['request_latency_simulated_minutes']} simulated minutes); "
        f"call->display ms {f['call_to_display_ms']}; call->phone ms p95 {f['call_to_phone_ms']['p95']}"
    )
    for name, e in f["endpoints_ms"].items():
        lines.append(
            f"  {name:<20} n={e['n']:<6} p50={e['p50']} p95={e['p95']} failed={e['failed']}"
        )
    checks = report["integrity"]
    lines.append(f"Integrity ({checks['source']}): {'all true' if checks['all_ok'] else 'FAILED'}")
    for name, c in checks.items():
        if isinstance(c, dict):
            lines.append(f"  {name}: {c['ok']}")
    if f["error_count"]:
        lines.append(f"Errors: {f['error_count']} (first: {f['errors'][:3]})")
    return "\n".join(lines)


def _pair(s: dict) -> str:
    if not s["n"]:
        return "-"
    return f"{s['median']}/{s['p90']} min"


def build(plan: DayPlan, outcome: Outcome, stored: Stored, clock: SimClock, **extra) -> dict:
    return {
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        **extra,
        "figures": figures(plan, outcome, clock),
        "integrity": integrity(plan, outcome, stored, clock),
    }
