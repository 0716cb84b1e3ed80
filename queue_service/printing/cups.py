"""Server-side printing through CUPS: hand a ticket PDF to ``lp`` for a named printer.

Optional and off by default (config ``KIOSK_CUPS_PRINTING``); the usual way is the kiosk browser
printing silently (docs/kiosk-setup.md). ``lp`` only queues the job with the CUPS scheduler (local,
or the one named by ``CUPS_SERVER``) and returns; it never waits for paper. Still, a hung scheduler
must not hang the kiosk: the call is bounded by a timeout and the whole process group is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

DEFAULT_TIMEOUT_SECONDS = 3.0
MAX_PRINTER_NAME = 127
# CUPS printer names: printable characters except space, tab, "/", "\\", "#", quotes; we also
# refuse a leading "-" so a name can never look like an option of lp
_FORBIDDEN = set(" \t/\\#'\"")


class PrinterError(RuntimeError):
    """A ticket could not be handed to the printer; ``reason`` says why in one word."""

    def __init__(self, message: str, *, printer: str, reason: str) -> None:
        super().__init__(message)
        self.printer = printer
        self.reason = reason  # invalid-name | no-lp | timeout | refused


def check_printer_name(printer: str) -> str:
    """Return ``printer`` if it is a valid CUPS destination name (optionally name@host)."""
    if (
        not printer
        or len(printer) > MAX_PRINTER_NAME
        or printer.startswith("-")
        or any(ch in _FORBIDDEN or not ch.isprintable() for ch in printer)
    ):
        raise PrinterError(
            f"{printer!r} is not a valid CUPS printer name (printable characters, no spaces, "
            "slashes, '#' or quotes, at most 127 characters).",
            printer=printer,
            reason="invalid-name",
        )
    return printer


def send_to_printer(
    pdf: bytes,
    printer: str,
    *,
    title: str = "Wartemarke",
    options: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Queue ``pdf`` on CUPS printer ``printer`` with ``lp -d``; raise PrinterError on any failure.

    Paper size and margins are the printer's defaults in CUPS (see docs/kiosk-setup.md);
    ``options`` adds ``-o key=value`` job options where a site needs them.
    """
    check_printer_name(printer)
    lp = shutil.which("lp")
    if lp is None:
        raise PrinterError(
            "The lp command (CUPS client, Debian package cups-client) is not installed on the server.",
            printer=printer,
            reason="no-lp",
        )
    command = [lp, "-d", printer, "-t", title[:100]]
    for key, value in (options or {}).items():
        command += ["-o", f"{key}={value}"]
    # lp reads the document from standard input when no file is named
    process = subprocess.Popen(  # noqa: S603 - fixed program, arguments are not shell-parsed
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(pdf, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise PrinterError(
            f"The printer {printer!r} did not accept the ticket within {timeout:g} s (lp timed out).",
            printer=printer,
            reason="timeout",
        ) from None
    if process.returncode != 0:
        detail = (
            stderr.decode("utf-8", "replace").strip()[:300] or f"exit status {process.returncode}"
        )
        raise PrinterError(
            f"The printer {printer!r} refused the ticket: {detail}",
            printer=printer,
            reason="refused",
        )


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.communicate(timeout=1)
    except subprocess.TimeoutExpired:
        pass
