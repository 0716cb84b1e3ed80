"""Server-side printing through a fake ``lp`` placed first on PATH (a real process boundary).

CUPS itself cannot run in the test environment (no scheduler, no printer); what we own is the
hand-over to ``lp``: the program, its arguments, the bytes on its standard input, its failures.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from queue_service.printing.cups import PrinterError, send_to_printer

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def install_fake_lp(tmp_path: Path, monkeypatch, body: str) -> Path:
    """Write an executable ``lp`` (Python) into a bin folder at the front of PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lp = bin_dir / "lp"
    lp.write_text(f"#!{sys.executable}\nimport json, sys, time\n{body}\n")
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return tmp_path


def test_lp_receives_the_printer_name_and_the_exact_pdf_bytes(tmp_path, monkeypatch):
    out = install_fake_lp(
        tmp_path,
        monkeypatch,
        f"data = sys.stdin.buffer.read()\n"
        f"open({str(tmp_path / 'job.pdf')!r}, 'wb').write(data)\n"
        f"json.dump(sys.argv[1:], open({str(tmp_path / 'argv.json')!r}, 'w'))\n"
        f"print('request id is Kasse-1-42 (1 file(s))')",
    )
    send_to_printer(
        PDF, "Kiosk_Aegi-1", title="Wartemarke A042", options={"media": "Custom.80x140mm"}
    )
    assert (out / "job.pdf").read_bytes() == PDF
    argv = json.loads((out / "argv.json").read_text())
    assert argv[:2] == ["-d", "Kiosk_Aegi-1"]
    assert argv[argv.index("-t") + 1] == "Wartemarke A042"
    assert argv[argv.index("-o") + 1] == "media=Custom.80x140mm"


def test_a_failing_lp_raises_a_printer_error_with_its_message(tmp_path, monkeypatch):
    install_fake_lp(
        tmp_path,
        monkeypatch,
        "sys.stdin.buffer.read()\n"
        "sys.stderr.write('lp: The printer or class does not exist.\\n')\nsys.exit(1)",
    )
    with pytest.raises(PrinterError) as caught:
        send_to_printer(PDF, "Missing")
    assert caught.value.reason == "refused" and caught.value.printer == "Missing"
    assert "does not exist" in str(caught.value) and "Missing" in str(caught.value)


def test_a_hanging_lp_is_killed_after_the_timeout(tmp_path, monkeypatch):
    install_fake_lp(tmp_path, monkeypatch, "time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(PrinterError) as caught:
        send_to_printer(PDF, "Slow", timeout=0.5)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 3


def test_missing_lp_is_a_clear_printer_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no lp anywhere
    with pytest.raises(PrinterError, match="cups-client") as caught:
        send_to_printer(PDF, "Kiosk")
    assert caught.value.reason == "no-lp"


@pytest.mark.parametrize("name", ["", "-o", "two words", "a/b", "a#b", "x" * 128, "tab\there"])
def test_invalid_printer_names_are_refused_before_anything_runs(tmp_path, monkeypatch, name):
    out = install_fake_lp(tmp_path, monkeypatch, f"open({str(tmp_path / 'ran')!r}, 'w').write('1')")
    with pytest.raises(PrinterError) as caught:
        send_to_printer(PDF, name)
    assert caught.value.reason == "invalid-name"
    assert not (out / "ran").exists()
