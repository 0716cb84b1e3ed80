"""Passwords change only through the auth service (the demo command resets them there)."""

from __future__ import annotations

import pytest

from queue_service.auth import services as auth
from queue_service.errors import NotFound


def test_a_reset_password_replaces_the_old_one(app, catalogue, make_user):
    old = make_user("clerk", "clerk", ["aegi"]).password
    assert auth.user_exists("clerk") and not auth.user_exists("nobody")
    new = auth.reset_password("clerk")
    assert new != old and len(new) >= 10
    assert auth.authenticate("clerk", old) is None
    assert auth.authenticate("clerk", new).username == "clerk"
    with pytest.raises(NotFound):
        auth.reset_password("nobody")


def test_only_the_auth_service_writes_password_hashes():
    """Only auth/services.py turns a password into a stored hash."""
    from pathlib import Path

    import queue_service

    root = Path(queue_service.__file__).parent
    writers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "password_hash =" in path.read_text() or "password_hash=" in path.read_text()
    )
    assert writers == ["auth/services.py"]
