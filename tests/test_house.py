"""The house in order: no function too complex to follow (radon grade C at most)."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("queue_service", "kiosk", "display", "admin")


def python_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_function_is_rated_worse_than_c():
    too_complex = []
    for path in python_files():
        for block in cc_visit(path.read_text(encoding="utf-8")):
            if cc_rank(block.complexity) > "C":
                where = f"{path.relative_to(ROOT)}:{block.lineno}"
                too_complex.append(f"{where} {block.fullname} {cc_rank(block.complexity)}")
    assert too_complex == []
