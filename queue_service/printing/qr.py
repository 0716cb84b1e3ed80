"""QR codes for tickets: a module matrix, an SVG and a PNG data URI (pure, no Flask).

Mask choice: the QR standard asks the encoder to try all eight mask patterns and keep the one
with the lowest penalty. ``qrcode`` does that in pure Python loops (about 10 ms per code here,
more than the whole rest of a ticket). ``penalty`` computes the same four penalty rules on bytes
and big integers instead (tested to agree with ``qrcode.util.lost_point``), which keeps the spec's
mask choice at a fraction of the cost.
"""

from __future__ import annotations

import base64
import zlib
from functools import lru_cache
from html import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4  # modules of light border the standard requires around the symbol


# The penalty is computed on whole matrices packed into one big integer with one byte lane per
# module (row after row; 1 = dark): every rule becomes a handful of shifts and ANDs in C.


@lru_cache(maxsize=8)
def _lanes(n: int) -> dict[str, int]:
    """Lane masks for an n x n matrix: all modules, and where windows of each width fit."""

    def where(keep) -> int:
        return int.from_bytes(bytes(bool(keep(r, c)) for r in range(n) for c in range(n)), "big")

    return {
        "all": where(lambda r, c: True),
        "not_first_col": where(lambda r, c: c > 0),
        "fits5": where(lambda r, c: c <= n - 5),
        "fits11": where(lambda r, c: c <= n - 11),
        "block": where(lambda r, c: r <= n - 2 and c <= n - 2),
    }


# 1:1:3:1:1 finder-like patterns with four light modules on one side (rule N3)
_FINDER_LIKE = ((1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0), (0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1))


def _line_penalty(x: int, n: int) -> int:
    """Rules N1 (runs) and N3 (finder-like patterns) along the rows of packed matrix ``x``."""
    lanes = _lanes(n)
    every = lanes["all"]
    points = 0
    for colour in (x, x ^ every):
        # windows of five equal modules starting at each column; a run of length L >= 5 holds
        # L - 4 of them and costs 3 + (L - 5) = (L - 4) + 2, so add 2 per run start
        windows = colour & lanes["fits5"]
        for k in range(1, 5):
            windows &= colour << (8 * k)
        continued = (colour >> 8) & lanes["not_first_col"]
        starts = windows & (continued ^ every)
        points += windows.bit_count() + 2 * starts.bit_count()
    light = x ^ every
    for pattern in _FINDER_LIKE:
        found = lanes["fits11"]
        for k, dark in enumerate(pattern):
            found &= (x if dark else light) << (8 * k)
        points += 40 * found.bit_count()
    return points


def _packed_penalty(x: int, xt: int, n: int) -> int:
    """The mask penalty of a matrix packed as ``x`` (rows) and ``xt`` (its transpose)."""
    lanes = _lanes(n)
    points = _line_penalty(x, n) + _line_penalty(xt, n)
    # N2: 2x2 blocks of one colour
    row_below = 8 * n
    for colour in (x, x ^ lanes["all"]):
        pair = colour & (colour << 8)
        points += 3 * (pair & (pair << row_below) & lanes["block"]).bit_count()
    # N4: every 5 % that the share of dark modules departs from 50 %
    points += int(abs(x.bit_count() / (n * n) * 100 - 50) / 5) * 10
    return points


def _pack(modules) -> tuple[int, int]:
    rows = b"".join(bytes(row) for row in modules)
    cols = b"".join(bytes(col) for col in zip(*modules, strict=True))
    return int.from_bytes(rows, "big"), int.from_bytes(cols, "big")


def penalty(modules: list[list[bool]]) -> int:
    """The QR mask penalty (ISO/IEC 18004 rules N1-N4), equal to ``qrcode.util.lost_point``."""
    x, xt = _pack(modules)
    return _packed_penalty(x, xt, len(modules))


@lru_cache(maxsize=8)
def _mask_flips(version: int) -> list[tuple[int, int]]:
    """Per mask pattern p: the packed modules that differ from mask 0 (data area only)."""
    probe = qrcode.QRCode(version=version, border=0)
    n = probe.modules_count = version * 4 + 17
    probe.modules = [[None] * n for _ in range(n)]
    probe.setup_position_probe_pattern(0, 0)
    probe.setup_position_probe_pattern(n - 7, 0)
    probe.setup_position_probe_pattern(0, n - 7)
    probe.setup_position_adjust_pattern()
    probe.setup_timing_pattern()
    probe.setup_type_info(True, 0)
    if version >= 7:
        probe.setup_type_number(True)
    first = qrcode.util.mask_func(0)
    flips = []
    for pattern in range(8):
        other = qrcode.util.mask_func(pattern)
        flips.append(
            _pack(
                [
                    [
                        probe.modules[r][c] is None and bool(first(r, c)) != bool(other(r, c))
                        for c in range(n)
                    ]
                    for r in range(n)
                ]
            )
        )
    return flips


class _QRCode(qrcode.QRCode):
    modules: list[list[bool]]  # every module is placed once makeImpl has run

    def make(self, fit: bool = True) -> None:
        # Place the data once (with mask 0), derive the other masks by flipping data modules,
        # keep the one with the lowest penalty and write its real format (and version) bits.
        if fit or self.version is None:
            self.best_fit(start=self.version)
        self.makeImpl(True, 0)
        x, xt = _pack(self.modules)
        n = self.modules_count
        flips = _mask_flips(self.version)
        scores = [_packed_penalty(x ^ flip, xt ^ flip_t, n) for flip, flip_t in flips]
        best = scores.index(min(scores))
        packed = (x ^ flips[best][0]).to_bytes(n * n, "big")
        self.modules = [list(map(bool, packed[r * n : (r + 1) * n])) for r in range(n)]
        self.setup_type_info(False, best)
        if self.version >= 7:
            self.setup_type_number(False)


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of a QR code (error correction M, smallest version) without quiet zone."""
    code = _QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    return [list(row) for row in code.modules]


def dark_runs(matrix: list[list[bool]]):
    """Yield (row, first_column, length) for every horizontal run of dark modules."""
    for y, row in enumerate(matrix):
        x, n = 0, len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                yield y, start, x - start
            else:
                x += 1


def qr_svg(url: str, *, label: str | None = None, size: str | None = None) -> str:
    """An SVG QR code for screens: one path, crisp edges, a 4-module quiet zone, an accessible label."""
    matrix = qr_matrix(url)
    side = len(matrix) + 2 * QUIET_ZONE
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{length}v1h-{length}z"
        for y, x, length in dark_runs(matrix)
    )
    dimensions = f' width="{escape(size)}" height="{escape(size)}"' if size else ""
    title = escape(label or url)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}"{dimensions} '
        f'role="img" aria-label="{title}" shape-rendering="crispEdges">'
        f"<title>{title}</title>"
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )


def qr_png(url: str, *, scale: int = 8) -> bytes:
    """A black-on-white PNG of the QR code, ``scale`` pixels per module, with the quiet zone."""
    if not 1 <= scale <= 64:
        raise ValueError("scale must be between 1 and 64 pixels per module")
    matrix = qr_matrix(url)
    side = (len(matrix) + 2 * QUIET_ZONE) * scale
    light_row = b"\xff" * side
    margin = b"\xff" * (QUIET_ZONE * scale)
    raw = bytearray()
    blank = (b"\x00" + light_row) * (QUIET_ZONE * scale)
    raw += blank
    for row in matrix:
        pixels = b"".join((b"\x00" if dark else b"\xff") * scale for dark in row)
        raw += (b"\x00" + margin + pixels + margin) * scale
    raw += blank
    return _png(side, side, bytes(raw))


def _png(width: int, height: int, scanlines: bytes) -> bytes:
    """A greyscale 8-bit PNG from filtered scanlines (filter byte 0 per line)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        # level 6: a tenth larger than 9 (411 against 374 bytes for a booking code at scale 6)
        # in under half the time; every booking mail carries one
        + chunk(b"IDAT", zlib.compress(scanlines, 6))
        + chunk(b"IEND", b"")
    )


def qr_png_data_uri(url: str, *, scale: int = 8) -> str:
    """The QR code as a ``data:image/png;base64,...`` URI (for an <img> without a second request)."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url, scale=scale)).decode("ascii")
