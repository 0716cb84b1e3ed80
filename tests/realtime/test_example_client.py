"""The minimal Python display client of docs/realtime-protocol.md (section 10), run as it is
written there against a live server: it shows the snapshot's calls, then live ones, and after
calls it never heard of (made through a process that cannot reach it) its heartbeat finds the
gap and the replay brings every one of them, also those past the snapshot's last ten."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from .clients import Staff, live_env

DOC = Path(__file__).resolve().parents[2] / "docs" / "realtime-protocol.md"
SETTINGS = 'BASE, OFFICE, NS, POLL = "http://localhost:5000", "aegi", "/display", 10'


def documented_client() -> str:
    """The Python block of section 10, as published."""
    section = DOC.read_text(encoding="utf-8").split("## 10. Minimal example clients", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


class Output:
    """The client's output lines, read as they come."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: [self._queue.put(x) for x in stream], daemon=True).start()

    def wait_for(self, wanted: list[str], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not set(wanted) <= {line.rstrip("\n") for line in self.lines}:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"missing {set(wanted) - set(self.lines)}; got {self.lines}"
            try:
                self.lines.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                continue


def test_the_documented_python_client_shows_every_call_also_after_a_gap(live, tmp_path):
    server = live(live_env())
    elsewhere = live(live_env(), server.env["DATABASE_URL"], prepare=False)  # no Redis between
    clerk = Staff(server, "clerk-example-client")
    clerk.issue(server.base_url)
    before = clerk.call_next(server.base_url, 1)["number"]

    code = documented_client()
    assert SETTINGS in code  # the only line changed: this server, and a 2 s heartbeat
    script = tmp_path / "display_client.py"
    script.write_text(
        code.replace(
            SETTINGS, f'BASE, OFFICE, NS, POLL = "{server.base_url}", "aegi", "/display", 2'
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-u", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    try:
        output.wait_for([f"{before} -> Platz 1"])  # from the snapshot
        clerk.issue(server.base_url)
        live_call = clerk.call_next(server.base_url, 2)["number"]
        output.wait_for([f"{live_call} -> Platz 2"])  # pushed

        missed = []
        for _ in range(13):
            clerk.issue(elsewhere.base_url)
            called = clerk.call_next(elsewhere.base_url, 3)
            missed.append(called["number"])
            for action in ("start", "finish"):
                done = clerk.post(elsewhere.base_url, f"/api/v1/tickets/{called['token']}/{action}")
                assert done.status_code == 200, done.text
        output.wait_for([f"{number} -> Platz 3" for number in missed])
        assert process.poll() is None, output.lines  # still running
        shown = [line for line in output.lines if "->" in line]
        assert len(shown) == len(set(shown)) == 15  # each call once
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "Traceback" not in "".join(output.lines), output.lines
