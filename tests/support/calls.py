"""Python function calls of one call, counted by cProfile: a measure of work that, unlike time,
does not depend on the machine's load (the cost tests compare it with the old path's)."""

from __future__ import annotations

import cProfile
import pstats


def python_calls(function, *args, **kwargs) -> tuple[object, int]:
    """(what ``function(*args, **kwargs)`` returned, the Python calls it made)."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        result = function(*args, **kwargs)
    finally:
        profile.disable()
    return result, pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
