"""The printed ticket: a small view object in, PDF bytes out (reportlab; no Flask, no database).

Paper sizes: ``80mm`` thermal roll (default), ``58mm`` thermal roll, ``a6`` for laser printers.
On a roll the page is exactly as tall as its content. The QR code is drawn as one vector path
(crisp at any printer resolution); its mask is chosen by the standard's penalty rules (qr.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from . import strings
from .fonts import Fonts, embedded_fonts, fonts_for, printable
from .qr import QUIET_ZONE, dark_runs, qr_matrix

KINDS = ("walkin", "appointment")


@dataclass(frozen=True)
class Paper:
    width: float  # points
    height: float | None  # None: a roll, as tall as the content
    margin_x: float
    margin_y: float
    qr_size: float  # side of the symbol without quiet zone
    number_size: float  # largest font size of the ticket number
    text_size: float


PAPERS: dict[str, Paper] = {
    # 80 mm rolls print about 72 mm wide; 58 mm rolls about 48 mm
    "80mm": Paper(80 * mm, None, 5 * mm, 5 * mm, 38 * mm, 80, 9.5),
    "58mm": Paper(58 * mm, None, 5 * mm, 4 * mm, 32 * mm, 60, 8.5),
    "a6": Paper(105 * mm, 148 * mm, 9 * mm, 8 * mm, 42 * mm, 96, 11),
}
MIN_QR_SIZE = 30 * mm  # still scans from a phone held at arm's length
LARGE_PRINT = 1.35  # factor for the text (not the QR code) in large-print mode


@dataclass(frozen=True)
class TicketPrint:
    """What a printed ticket shows. Walk-in tickets carry no personal data: keep it that way."""

    number: str
    service_name: str
    office_name: str
    issued_at: datetime
    status_url: str
    office_address: str | None = None
    people_ahead: int | None = None
    estimated_wait_minutes: int | None = None
    lang: str = "de"
    kind: str = "walkin"
    large_print: bool = False
    timezone: str = "Europe/Berlin"
    further_service_names: tuple[str, ...] = ()  # an appointment booked for several services
    persons: int = 1

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise ValueError("a ticket needs a number")
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be an aware datetime")
        if self.lang not in strings.LANGUAGES:
            raise ValueError(f"unsupported language {self.lang!r}; use one of {strings.LANGUAGES}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown ticket kind {self.kind!r}; use walkin or appointment")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if not self.status_url.startswith(("https://", "http://")):
            raise ValueError("status_url must be an absolute http(s) URL")
        for name in ("people_ahead", "estimated_wait_minutes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")


# A block of the layout: its height and how to draw it with its top edge at y.
Block = tuple[float, Callable[[Canvas, float], None]]


class _Layout:
    def __init__(self, paper: Paper, fonts: Fonts, scale: float, lang: str = "de") -> None:
        self.paper = paper
        self.fonts = fonts
        self.scale = scale
        self.lang = lang
        self.rtl = lang in strings.RIGHT_TO_LEFT
        self.left = paper.margin_x
        self.right = paper.width - paper.margin_x
        self.width = self.right - self.left
        self.centre = paper.width / 2
        self.blocks: list[Block] = []

    def size(self, base: float) -> float:
        return base * self.scale

    def gap(self, height: float) -> None:
        self.blocks.append((height, lambda c, y: None))

    def v(self, text: str) -> str:
        """One line as drawn (shaped and in visual order for a right-to-left language)."""
        return strings.visual(text, self.lang)

    def split(self, text: str, font: str, size: float) -> list[str]:
        """Lines that fit the width, each as drawn. Right to left: broken into lines in logical
        order first (each line then reordered alone), so the first line holds the first words."""
        if not self.rtl:
            return simpleSplit(text, font, size, self.width)
        lines: list[str] = []
        for word in text.split():
            wider = f"{lines[-1]} {word}" if lines else word
            if lines and stringWidth(self.v(wider), font, size) <= self.width:
                lines[-1] = wider
            else:
                lines.append(word)
        return [self.v(line) for line in lines]

    def centred(self, text: str, size: float, bold: bool = False, leading: float = 1.2) -> None:
        font = self.fonts.bold if bold else self.fonts.regular
        lines = self.split(text, font, size)
        step = size * leading
        centre = self.centre

        def draw(c: Canvas, y: float) -> None:
            c.setFont(font, size)
            for i, line in enumerate(lines):
                c.drawCentredString(centre, y - size * 0.95 - i * step, line)

        self.blocks.append((step * len(lines), draw))

    def number(self, text: str, largest: float) -> None:
        font = self.fonts.bold
        size = min(largest, self.width / stringWidth(text, font, 1))
        cap_height = 0.73 * size  # digits and capitals of Helvetica and DejaVu Sans
        above, below = 0.08 * size, 0.1 * size
        centre = self.centre

        def draw(c: Canvas, y: float) -> None:
            c.setFont(font, size)
            c.drawCentredString(centre, y - above - cap_height, text)

        self.blocks.append((above + cap_height + below, draw))

    def badge(self, text: str, size: float) -> None:
        """White text on a black bar (stands out on thermal paper, which has no colour)."""
        font = self.fonts.bold
        text = self.v(text)
        width = min(stringWidth(text, font, size) + 4 * mm, self.width)
        height = size * 1.6
        centre = self.centre

        def draw(c: Canvas, y: float) -> None:
            c.rect(centre - width / 2, y - height, width, height, stroke=0, fill=1)
            c.setFillGray(1)
            c.setFont(font, size)
            c.drawCentredString(centre, y - height + size * 0.45, text)
            c.setFillGray(0)

        self.blocks.append((height, draw))

    def rule(self) -> None:
        left, right = self.left, self.right

        def draw(c: Canvas, y: float) -> None:
            c.setLineWidth(0.6)
            c.setDash(2, 2)
            c.line(left, y - 1.5 * mm, right, y - 1.5 * mm)
            c.setDash()

        self.blocks.append((3 * mm, draw))

    def row(self, label: str, value: str, size: float) -> None:
        """Label left, value right in bold; the value moves to its own line when both do not fit.

        Right to left the sides swap: the label stands at the right edge, the value at the left.
        """
        regular, bold = self.fonts.regular, self.fonts.bold
        label, value = self.v(label), self.v(value)
        label_width = stringWidth(label, regular, size)
        value_width = stringWidth(value, bold, size)
        step = size * 1.35
        left, right = self.left, self.right
        one_line = label_width + value_width + 3 * mm <= self.width

        rtl = self.rtl

        def draw(c: Canvas, y: float) -> None:
            c.setFont(regular, size)
            if rtl:
                c.drawRightString(right, y - size, label)
            else:
                c.drawString(left, y - size, label)
            c.setFont(bold, size)
            below = y - size - (0 if one_line else step)
            if rtl:
                c.drawString(left, below, value)
            else:
                c.drawRightString(right, below, value)

        self.blocks.append((step if one_line else 2 * step, draw))

    def qr(self, matrix: list[list[bool]], side: float) -> None:
        module = side / len(matrix)
        quiet = QUIET_ZONE * module
        x0 = self.centre - side / 2

        def draw(c: Canvas, y: float) -> None:
            top = y - quiet
            path = c.beginPath()
            for row, col, length in dark_runs(matrix):
                path.rect(x0 + col * module, top - (row + 1) * module, length * module, module)
            c.drawPath(path, stroke=0, fill=1)

        self.blocks.append((side + 2 * quiet, draw))

    @property
    def height(self) -> float:
        return sum(height for height, _ in self.blocks)


@dataclass(frozen=True)
class _Content:
    """The words of one ticket in its printed language, made printable in the chosen fonts."""

    lang: str
    text: dict[str, str]
    fonts: Fonts
    number: str
    office: str
    address: str
    services: list[str]
    persons: str  # "" for one person
    rows: list[tuple[str, str]]  # label, value


def render_ticket_pdf(
    ticket: TicketPrint, paper: str = "80mm", *, embed_fonts: bool | None = None
) -> bytes:
    """The ticket as a one-page PDF for ``paper`` (80mm, 58mm or a6), with real, extractable text.

    Fonts: see fonts.py (standard Helvetica when the text allows, embedded DejaVu otherwise;
    ``embed_fonts=True`` always embeds DejaVu when installed).
    """
    try:
        spec = PAPERS[paper.lower()]
    except KeyError:
        raise ValueError(f"unknown paper {paper!r}; use one of {', '.join(PAPERS)}") from None
    content = _content(ticket, embed_fonts)
    layout = _fitted_layout(spec, content, qr_matrix(ticket.status_url), ticket)
    return _draw(spec, layout, content, ticket.number)


def _content(ticket: TicketPrint, embed_fonts: bool | None) -> _Content:
    """What the ticket says, in the language it can be printed in."""
    lang = strings.printed_language(ticket.lang, unicode_font=embedded_fonts() is not None)
    text = strings.TEXT[lang]
    local = ticket.issued_at.astimezone(ZoneInfo(ticket.timezone))
    rows = [(text["issued"], strings.issued(lang, local))]
    if ticket.people_ahead is not None:
        rows.append((text["ahead"], strings.people(lang, ticket.people_ahead)))
    if ticket.estimated_wait_minutes is not None:
        rows.append((text["wait"], strings.wait(lang, ticket.estimated_wait_minutes)))
    persons = strings.persons(lang, ticket.persons) if ticket.persons > 1 else ""
    services = [ticket.service_name, *ticket.further_service_names]
    names = [ticket.number, ticket.office_name, ticket.office_address or "", *services]
    fonts = fonts_for(
        [*names, persons, *text.values(), *(part for row in rows for part in row)], embed_fonts
    )
    number, office, address = (printable(name, fonts) for name in names[:3])
    return _Content(
        lang=lang,
        text=text,
        fonts=fonts,
        number=number,
        office=office,
        address=address,
        services=[printable(name, fonts) for name in services],
        persons=printable(persons, fonts) if persons else "",
        rows=rows,
    )


def _fitted_layout(
    spec: Paper, content: _Content, matrix: list[list[bool]], ticket: TicketPrint
) -> _Layout:
    """The layout; a sheet has a fixed height: shrink the number and the QR code, then the text,
    until it fits (a roll is as tall as its content)."""
    scale = LARGE_PRINT if ticket.large_print else 1.0
    shrink = 1.0
    while True:
        layout = _lay_out(spec, content, matrix, ticket.kind, scale, shrink)
        if spec.height is None or layout.height <= spec.height - 2 * spec.margin_y or scale < 0.6:
            return layout
        if shrink > 0.65:
            shrink -= 0.1
        else:
            scale *= 0.9


def _lay_out(
    spec: Paper,
    content: _Content,
    matrix: list[list[bool]],
    kind: str,
    scale: float,
    shrink: float,
) -> _Layout:
    """The blocks of the ticket, top to bottom, at this text scale and number/QR shrink."""
    text = content.text
    layout = _Layout(spec, content.fonts, scale, content.lang)
    body = layout.size(spec.text_size)
    layout.centred(content.office, layout.size(spec.text_size * 1.15), bold=True)
    if content.address:
        layout.centred(content.address, layout.size(spec.text_size * 0.85))
    layout.rule()
    layout.centred(text["your_number"], body)
    layout.number(content.number, spec.number_size * min(scale, 1.15) * shrink)
    if kind == "appointment":
        layout.badge(text["appointment"], body)
        layout.gap(1.5 * mm)
    for name in content.services:
        layout.centred(name, layout.size(spec.text_size * 1.25), bold=True, leading=1.15)
    if content.persons:
        layout.centred(content.persons, body)
    layout.rule()
    for label, value in content.rows:
        layout.row(label, value, body)
    layout.qr(matrix, max(spec.qr_size * shrink, MIN_QR_SIZE))
    layout.centred(text["scan"], body)
    layout.gap(1 * mm)
    layout.centred(text["watch"], layout.size(spec.text_size * 0.85))
    return layout


def _draw(spec: Paper, layout: _Layout, content: _Content, ticket_number: str) -> bytes:
    """The laid-out blocks drawn on one PDF page."""
    height = layout.height
    page_height = spec.height or height + 2 * spec.margin_y
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(spec.width, page_height), invariant=1, pageCompression=1)
    canvas.setTitle(content.text["title"].format(number=ticket_number))
    canvas.setAuthor(content.office)
    canvas.setSubject(" + ".join(content.services))
    # on a roll the content starts below the top margin; on a sheet it is centred vertically
    top = spec.margin_y if spec.height is None else max(spec.margin_y, (page_height - height) / 2)
    y = page_height - top
    for block_height, draw in layout.blocks:
        draw(canvas, y)
        y -= block_height
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
