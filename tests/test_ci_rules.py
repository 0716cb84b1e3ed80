"""The CI rules hold in a parallel run too: with QS_REQUIRE_SERVICES=1 a skipped test fails the
run, also when pytest-xdist runs the tests in worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("workers", [[], ["-p", "xdist", "-n", "2"]], ids=["serial", "xdist"])
def test_a_skipped_test_fails_the_run_when_services_are_required(tmp_path, workers):
    # the suite's own hook, in a bare pytest: no other plugin is loaded (each would cost an
    # interpreter's worth of imports in every process), xdist only where the case asks for it
    (tmp_path / "conftest.py").write_text(
        "from tests.support.require import pytest_sessionfinish\n"
    )
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    assert True\n\n"
        "def test_skips():\n    pytest.skip('no service')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QS_REQUIRE_SERVICES": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers]
    result = subprocess.run(
        [*args, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 test(s) skipped; failing the run" in result.stdout
    allowed = subprocess.run(
        [*args, str(tmp_path)],
        cwd=tmp_path,
        env={**env, "QS_REQUIRE_SERVICES": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
