"""Where the served process spends its time during ``queue-service simulate`` (own deployment).

Runs the command as it is (any options after ``--`` are passed on) and samples each server
process it starts with py-spy: the one the residents book ahead on, then the day's. Prints the
frames of our code (and of the libraries that matter) by share of the busy samples, inclusive,
per phase, and keeps the raw samples. Needs py-spy (``pip install -e '.[profile]'``).

    .venv/bin/python benchmarks/profile_simulation.py -- --offices linden --visits 300
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.profile_queue import top_frames  # noqa: E402


def servers_of(parent: int) -> list[int]:
    """Pids of ``queue_service serve`` processes started by ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat[1]) == parent and b"serve" in command and b"queue_service" in command:
            found.append(int(entry.name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, help="folder for the raw samples and the report")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("simulate", nargs="*", help="options of queue-service simulate")
    options = parser.parse_args()
    spy_binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
        "py-spy"
    )
    if not spy_binary:
        sys.exit("py-spy is not installed: pip install -e '.[profile]'")
    out = options.out or Path(tempfile.mkdtemp(prefix="qs-profile-simulation-"))
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "queue-service"),
        "simulate",
        "--quiet",
        "--report",
        str(out / "report.json"),
        *options.simulate,
    ]
    simulation = subprocess.Popen(command)
    spies: dict[int, tuple[subprocess.Popen, Path]] = {}
    while simulation.poll() is None:
        for pid in servers_of(simulation.pid):
            if pid not in spies:
                raw = out / f"phase{len(spies) + 1}-{pid}.txt"
                spy = subprocess.Popen(
                    [spy_binary, "record", "-p", str(pid), "-o", str(raw), "-f", "raw"]
                    + ["-r", str(options.rate), "--nonblocking"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                spies[pid] = (spy, raw)
        time.sleep(0.05)
    for spy, _ in spies.values():
        if spy.poll() is None:
            spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    print(f"load average {[round(v, 2) for v in os.getloadavg()]}; raw samples in {out}")
    for phase, (_, raw) in enumerate(spies.values(), start=1):
        if not raw.exists():
            print(f"phase {phase}: no samples")
            continue
        total, frames = top_frames(raw, options.top)
        name = "booking ahead" if phase == 1 and len(spies) > 1 else "the day"
        print(f"\nphase {phase} ({name}): {total} busy samples; inclusive share:")
        for share, frame in frames:
            print(f"{share:6.1f}%  {frame}")
    sys.exit(simulation.returncode)


if __name__ == "__main__":
    main()
