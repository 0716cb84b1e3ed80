"""Small helpers to read our own pages in tests."""

from __future__ import annotations

import re


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html
    )
    if not match:
        raise AssertionError("no CSRF token in the page")
    return match.group(1)
