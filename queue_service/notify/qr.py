"""QR codes as PNG (for mails and pages)."""

from __future__ import annotations

import base64
import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(data: str, box_size: int = 8, border: int = 4) -> bytes:
    # A fixed mask: any of the eight is valid for every reader, and choosing the "best" one
    # costs qrcode ~10 ms of pure Python per code (floors.md section 2.2).
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border,
                         mask_pattern=2)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def qr_data_uri(data: str, box_size: int = 8) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(data, box_size)).decode()
