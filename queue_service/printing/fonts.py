"""The fonts a ticket is printed with.

Text that fits the PDF standard encoding (WinAnsi: German and English, umlauts, ß, –) is set in
Helvetica, one of the standard fonts every PDF reader and printer driver carries, so nothing is
embedded: the ticket stays about 4 KB and renders in about half the time (see
benchmarks/bench_pdf.py). Text beyond it (Turkish ğ ş ı, Cyrillic) is set in DejaVu Sans, embedded
as a subset, when the font is installed (Debian package fonts-dejavu-core).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/local/share/fonts/dejavu",
)
STANDARD_ENCODING = "cp1252"  # what reportlab's standard fonts are encoded in (WinAnsi)


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    embedded: bool  # True: a TrueType font embedded in the PDF, covering far more than Latin-1


STANDARD = Fonts("Helvetica", "Helvetica-Bold", embedded=False)


def _find(name: str) -> Path | None:
    for directory in FONT_DIRS:
        path = Path(directory) / name
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def embedded_fonts() -> Fonts | None:
    """DejaVu Sans and Sans Bold, registered once per process; None when not installed."""
    regular, bold = _find("DejaVuSans.ttf"), _find("DejaVuSans-Bold.ttf")
    if not (regular and bold):
        return None
    try:
        pdfmetrics.registerFont(TTFont("TicketSans", str(regular)))
        pdfmetrics.registerFont(TTFont("TicketSans-Bold", str(bold)))
    except Exception:  # a broken font file must not stop printing
        return None
    return Fonts("TicketSans", "TicketSans-Bold", embedded=True)


def fits_standard_font(text: str) -> bool:
    try:
        text.encode(STANDARD_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def fonts_for(texts: list[str], embed: bool | None = None) -> Fonts:
    """The fonts to print ``texts`` with: standard when they fit, else embedded when installed.

    ``embed=True`` always embeds (when installed); ``embed=False`` never does.
    """
    embedded = embedded_fonts() if embed is not False else None
    if embedded and (embed or not all(fits_standard_font(t) for t in texts)):
        return embedded
    return STANDARD


def printable(text: str, fonts: Fonts) -> str:
    """``text`` with characters the standard fonts lack replaced by '?' (only without DejaVu)."""
    if fonts.embedded:
        return text
    return text.encode(STANDARD_ENCODING, "replace").decode(STANDARD_ENCODING)
