"""The CI rule that nothing may skip: with QS_REQUIRE_SERVICES=1 (set by .ci/run) a skipped test
fails the run. Kept apart from the fixtures, which import the whole application, so that
``tests/test_ci_rules.py`` can run the hook in a bare pytest of its own."""

from __future__ import annotations

import os

REQUIRE = os.environ.get("QS_REQUIRE_SERVICES") == "1"


def pytest_sessionfinish(session, exitstatus):
    """Under pytest-xdist the controller sees every worker's reports: it alone counts skips."""
    if not REQUIRE or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"QS_REQUIRE_SERVICES=1: {len(skipped)} test(s) skipped; failing the run", red=True
        )
        session.exitstatus = 1
