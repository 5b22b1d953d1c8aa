"""A small file system of its own for a test: a tmpfs mounted (and unmounted) by the test, to fill up."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size_mib: int) -> Iterator[Path]:
    """Mounts a tmpfs of ``size_mib`` MiB at ``path`` (needs root, or CAP_SYS_ADMIN). Skips the test, saying so,
    only where mounting is not permitted; any other failure fails it."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = result.stderr.strip()
        if (
            "permission denied" in reason.lower()
            or "not permitted" in reason.lower()
            or "only root" in reason
        ):
            pytest.skip(f"mounting a tmpfs is not permitted here (needs root): {reason}")
        raise RuntimeError(f"mount -t tmpfs failed: {reason}")
    try:
        yield path
    finally:
        for _attempt in range(50):
            if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.2)  # a process that had files open there is still exiting
        else:
            subprocess.run(["umount", "-l", str(path)], check=True)
