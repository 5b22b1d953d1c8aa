"""``lakebox --version`` wall time, the CLI's start-up (the client must not import the server): the installed
``lakebox`` script run several times after a warm-up, min/median/max printed, and the 300 ms budget checked.

    .venv/bin/python -m bench.cli_bench [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET_MS = 300.0


def lakebox_command() -> list[str]:
    script = Path(sys.executable).with_name("lakebox")
    found = str(script) if script.exists() else shutil.which("lakebox")
    return [found, "--version"] if found else [sys.executable, "-m", "lakebox", "--version"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    command = lakebox_command()
    subprocess.run(command, check=True, capture_output=True)  # warm-up: the page cache and .pyc files
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append((time.perf_counter() - start) * 1000)
    median = statistics.median(walls)
    verdict = "within" if median < BUDGET_MS else "OVER"
    print(
        f"lakebox --version: median {median:.0f} ms, min {min(walls):.0f} ms, max {max(walls):.0f} ms "
        f"over {args.runs} runs ({verdict} the {BUDGET_MS:.0f} ms budget)"
    )


if __name__ == "__main__":
    main()
