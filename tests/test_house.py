"""The house in order: no function too complex to follow (radon grade C at most) and no import
cycle between the packages of queue_service."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("queue_service", "kiosk", "display", "admin")


def python_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


# functions rated D or worse that are tolerated for now: none (every one was split); the list
# may only shrink, so nothing is added here
KNOWN_COMPLEX: set[str] = set()


def test_no_function_is_rated_worse_than_c():
    too_complex = []
    for path in python_files():
        for block in cc_visit(path.read_text(encoding="utf-8")):
            name = f"{path.relative_to(ROOT)} {block.fullname}"
            if cc_rank(block.complexity) > "C" and name not in KNOWN_COMPLEX:
                too_complex.append(f"{name} {cc_rank(block.complexity)} (line {block.lineno})")
    assert too_complex == []


def package_imports() -> dict[str, set[str]]:
    """Which first-level packages (and top-level modules) of queue_service each one imports,
    counting imports inside functions too (a local import hides a dependency, not removes it)."""
    root = ROOT / "queue_service"
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts == ("__init__",):
            continue  # the composition root imports everything by design
        module = (
            ("queue_service", *parts[:-1]) if parts[-1] == "__init__" else ("queue_service", *parts)
        )
        package = module[: len(module) if parts[-1] == "__init__" else len(module) - 1]
        source = parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = list(package[: len(package) - node.level + 1]) if node.level else []
                name = ".".join([*base, node.module] if node.module else base)
                targets = [name] if node.module else [f"{name}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                bits = target.split(".")
                if bits[0] == "queue_service" and len(bits) > 1 and bits[1] != source:
                    graph[source].add(bits[1])
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_packages():
    graph = package_imports()
    assert "realtime" in graph["tickets"]  # the graph is real
    assert cycles(graph) == []


def test_realtime_imports_no_package_that_publishes_through_it():
    graph = package_imports()
    publishers = {name for name, imported in graph.items() if "realtime" in imported}
    assert graph["realtime"] & publishers == set()


def test_monitoring_imports_no_package_that_counts_through_it():
    """Packages count into monitoring and register their scrape-time figures with it
    (metrics.register_database_figures); monitoring reads none of them itself."""
    graph = package_imports()
    counting = {name for name, imported in graph.items() if "monitoring" in imported}
    assert {"notify", "scheduler"} <= counting  # the graph is real
    assert graph["monitoring"] & counting == set()
