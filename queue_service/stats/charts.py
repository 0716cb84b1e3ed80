"""Server-drawn SVG charts (no JavaScript): bars and lines with <title> and <desc>.

Each chart is meant to stand next to a data table with the same figures (the accessible
alternative); the SVG itself has role="img" and aria-labelledby its title and description.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from ..i18n import format_number

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 56
COLOURS = ["#1d5fa8", "#b3261e", "#2e7d32", "#6a3d9a"]  # AA contrast on white
_ids = itertools.count(1)


@dataclass
class Series:
    name: str
    values: list[float | None]

    def __post_init__(self) -> None:
        # SVG text does not wrap: the soft hyphens of a German table heading have no use here
        self.name = self.name.replace("\u00ad", "")


def _nice_max(value: float) -> float:
    """The smallest 4 x (1, 2, 2.5 or 5 x 10^k) at or above ``value`` (so the grid is round)."""
    if value <= 0:
        return 4
    magnitude = 10 ** math.floor(math.log10(value / 4))
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude * 4 >= value:
            return m * magnitude * 4
    return value


def _frame(
    title: str,
    desc: str,
    labels: list[str],
    top: float,
    unit: str,
    body: list[str],
    legend: list[Series],
) -> Markup:
    n = next(_ids)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart{n}-title chart{n}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart{n}-title">{escape(title)}</title>',
        f'<desc id="chart{n}-desc">{escape(desc)}</desc>',
    ]
    for i in range(5):  # grid and y labels
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d0d0"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333">{format_number(value)}</text>'
        )
    parts.append(f'<text x="4" y="{TOP - 14}" font-size="11" fill="#333">{escape(unit)}</text>')
    slot = plot_w / max(1, len(labels))
    every = max(1, math.ceil(len(labels) * 44 / plot_w))  # labels about 40 px wide
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11" fill="#333">{escape(label)}</text>'
            )
    parts += body
    for i, s in enumerate(legend):
        x = LEFT + i * 200
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 18}" width="12" height="12" fill="{COLOURS[i % 4]}"/>'
        )
        parts.append(
            f'<text x="{x + 16}" y="{HEIGHT - 8}" font-size="12" fill="#222">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text above went through escape())


def bar_chart(
    title: str, desc: str, labels: list[str], series: list[Series], unit: str = ""
) -> Markup:
    """Grouped bars, one group per label."""
    top = _nice_max(max((v or 0 for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar = slot * 0.8 / max(1, len(series))
    body = []
    for si, s in enumerate(series):
        for i, value in enumerate(s.values):
            if not value:
                continue
            h = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + bar * si
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[si % 4]}"><title>{escape(labels[i])}: {escape(s.name)} '
                f"{format_number(value)}</title></rect>"
            )
    return _frame(title, desc, labels, top, unit, body, series)


def line_chart(
    title: str, desc: str, labels: list[str], series: list[Series], unit: str = ""
) -> Markup:
    """Lines with point markers; gaps where a value is missing."""
    top = _nice_max(max((v or 0 for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    body = []
    for si, s in enumerate(series):
        colour = COLOURS[si % 4]
        path, pen_down = [], False
        for i, value in enumerate(s.values):
            if value is None:
                pen_down = False
                continue
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * value / top
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>'
                f"{escape(labels[i])}: {escape(s.name)} {format_number(value)}</title></circle>"
            )
        if path:
            dash = ' stroke-dasharray="6 4"' if si else ""
            body.insert(
                0,
                f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>',
            )
    return _frame(title, desc, labels, top, unit, body, series)
