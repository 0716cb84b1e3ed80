"""Ticket PDF + QR generation time, next to the floor of shared/reference/floors.md §2.

    .venv/bin/python benchmarks/bench_pdf.py            # 3 x 500 renders per variant
    .venv/bin/python benchmarks/bench_pdf.py --quick    # 1 x 100 renders (proves it runs)

Variants (all in one process, same machine, same run):
  ours-80mm / ours-58mm / ours-a6   render_ticket_pdf, German walk-in ticket (standard font)
  ours-80mm-tr                      Turkish ticket: DejaVu Sans subset embedded
  ours-80mm-embedded                German ticket with embed_fonts=True (cost of always embedding)
  floor-a                           floors.md §2.1 variant (a): qrcode PNG (auto mask) drawn with
                                    drawImage into a plain 80x120 mm canvas with the same text
  qr-matrix / qr-reference          our QR matrix (fast spec mask choice) vs qrcode make(fit=True)

The ticket uses the floor's 60-character URL so the two are comparable. Prints a table and writes
benchmarks/results/pdf.json. Never pass/fail: the target (p95 <= 10 ms) is reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import qrcode
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_service.printing import TicketPrint, qr_matrix, render_ticket_pdf

URL = "https://termine.example-amt.de/t/2025-06-12/A0427?k=Xy7Qp2Rb"  # floors.md §2.1, 60 chars
TARGET_P95_MS = 10.0


def ticket(lang: str = "de") -> TicketPrint:
    return TicketPrint(
        number="A042",
        service_name="Führerschein / Ummeldung",
        office_name="Bürgeramt Hannover – Schalterhalle",
        office_address="Aegidientorplatz 1, 30159 Hannover",
        issued_at=datetime(2025, 6, 12, 8, 7, tzinfo=UTC),
        people_ahead=4,
        estimated_wait_minutes=25,
        status_url=URL,
        lang=lang,
    )


def floor_a() -> bytes:
    """floors.md §2.1 variant (a), as described there."""
    buffer = BytesIO()
    c = canvas.Canvas(buffer, pagesize=(80 * mm, 120 * mm))
    c.setFont("Helvetica-Bold", 60)
    c.drawString(8 * mm, 95 * mm, "A042")
    c.setFont("Helvetica", 8)
    lines = [
        "Bürgeramt Hannover – Schalterhalle",
        "Anliegen: Führerschein / Ummeldung",
        "Datum 12.06.2025 Uhrzeit 10:07",
        "Viele Grüße!",
    ]
    for i, line in enumerate(lines):
        c.drawString(5 * mm, (88 - 4 * i) * mm, line)
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=2)
    code.add_data(URL)
    code.make(fit=True)
    png = BytesIO()
    code.make_image().save(png, format="PNG")
    png.seek(0)
    c.drawImage(ImageReader(png), 15 * mm, 15 * mm, 50 * mm, 50 * mm)
    c.showPage()
    c.save()
    return buffer.getvalue()


def qr_reference() -> list:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(URL)
    code.make(fit=True)
    return code.modules


VARIANTS = {
    "ours-80mm": lambda: render_ticket_pdf(ticket(), "80mm"),
    "ours-58mm": lambda: render_ticket_pdf(ticket(), "58mm"),
    "ours-a6": lambda: render_ticket_pdf(ticket(), "a6"),
    "ours-80mm-tr": lambda: render_ticket_pdf(ticket("tr"), "80mm"),
    "ours-80mm-embedded": lambda: render_ticket_pdf(ticket(), "80mm", embed_fonts=True),
    "floor-a": floor_a,
    "qr-matrix": lambda: qr_matrix(URL),
    "qr-reference": qr_reference,
}


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def measure(work, renders: int, warmup: int = 20) -> dict:
    for _ in range(warmup):
        work()
    samples = []
    for _ in range(renders):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50": percentile(samples, 0.50),
        "p95": percentile(samples, 0.95),
        "p99": percentile(samples, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 x 100 renders per variant")
    parser.add_argument("--renders", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "pdf.json"))
    args = parser.parse_args()
    renders, repeats = (100, 1) if args.quick else (args.renders, args.repeats)

    try:
        import _rl_accel  # noqa: F401

        accelerated = True
    except ImportError:
        accelerated = False
    load_before = os.getloadavg()
    results = {}
    for name, work in VARIANTS.items():
        runs = [measure(work, renders) for _ in range(repeats)]
        output = work()
        results[name] = {
            "p50_ms": round(statistics.median(r["p50"] for r in runs), 3),
            "p95_ms": round(statistics.median(r["p95"] for r in runs), 3),
            "p99_ms": round(statistics.median(r["p99"] for r in runs), 3),
            "p95_range_ms": [
                round(min(r["p95"] for r in runs), 3),
                round(max(r["p95"] for r in runs), 3),
            ],
            "bytes": len(output) if isinstance(output, bytes) else None,
        }
    floor = results["floor-a"]
    for name, row in results.items():
        if name.startswith("ours"):
            row["ratio_p50_to_floor"] = round(row["p50_ms"] / floor["p50_ms"], 2)
            row["ratio_p95_to_floor"] = round(row["p95_ms"] / floor["p95_ms"], 2)
            row["meets_target_p95_10ms"] = row["p95_ms"] <= TARGET_P95_MS

    report = {
        "benchmark": "ticket PDF + QR generation",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "renders_per_run": renders,
        "runs": repeats,
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "reportlab_c_accelerator": accelerated,
        "floor": "floors.md §2 variant (a): qrcode PNG via drawImage, quiet machine: p50 5.76 ms, p95 6.04 ms",
        "target": "p95 <= 10 ms per ticket (PDF + QR)",
        "results": results,
    }
    print(
        f"{'variant':<22}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'bytes':>8}{'p50/floor':>11}{'p95/floor':>11}"
    )
    for name, row in results.items():
        print(
            f"{name:<22}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['bytes'] or '':>8}{row.get('ratio_p50_to_floor', ''):>11}{row.get('ratio_p95_to_floor', ''):>11}"
        )
    print(
        f"load average before/after: {report['load_average_before']} / {report['load_average_after']}"
        f"; reportlab C accelerator: {accelerated}"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
