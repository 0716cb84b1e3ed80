"""QR codes: the fast mask choice agrees with qrcode's reference, screens decode what we encode."""

from __future__ import annotations

import base64
import random
import re
from io import BytesIO

import pypdfium2 as pdfium  # noqa: F401  (same extras as the PDF tests)
import qrcode
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from qrcode.util import lost_point

from queue_service.printing import qr_matrix, qr_png, qr_png_data_uri, qr_svg
from queue_service.printing.qr import penalty

URL = "https://termine.hannover.de/t/Ab3dEf6hIj9kLmN0pQr5tUv8wXyZ12_-"


def reference_matrix(data: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    return code.modules


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_matrix_equals_qrcode_reference_including_the_mask_choice(data):
    assert qr_matrix(data) == reference_matrix(data)


def test_penalty_equals_qrcode_lost_point_on_random_matrices():
    rng = random.Random(5)
    for size in (21, 25, 37, 45, 57):
        for _ in range(40):
            density = rng.choice([0.2, 0.5, 0.8])
            matrix = [[rng.random() < density for _ in range(size)] for _ in range(size)]
            assert penalty(matrix) == lost_point(matrix)


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def test_png_data_uri_decodes_to_the_url():
    uri = qr_png_data_uri(URL)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert image.format == "PNG"
    assert decode(image) == [URL]


def test_png_has_the_quiet_zone_and_scale():
    image = Image.open(BytesIO(qr_png(URL, scale=4))).convert("L")
    modules = len(qr_matrix(URL))
    assert image.size == ((modules + 8) * 4, (modules + 8) * 4)
    assert all(image.getpixel((x, y)) == 255 for x in range(16) for y in range(image.size[1]))


def test_svg_decodes_to_the_url_when_rendered():
    svg = qr_svg(URL, label="Status page")
    assert 'role="img"' in svg and 'aria-label="Status page"' in svg
    # render the SVG path ourselves (no SVG library in the test extras): parse the run rectangles
    side = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    scale = 6
    image = Image.new("L", (side * scale, side * scale), 255)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", svg):
        x, y, w = int(x), int(y), int(w)
        image.paste(0, (x * scale, y * scale, (x + w) * scale, (y + 1) * scale))
    assert decode(image) == [URL]


def test_svg_escapes_its_label():
    svg = qr_svg(URL, label='<script>"x"</script>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
