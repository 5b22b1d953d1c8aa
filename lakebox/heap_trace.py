"""A debugging aid for memory that grows: with ``LAKEBOX_DEBUG_HEAP_TRACE=<dir>`` set, every worker traces its
Python allocations (``tracemalloc``) and appends a report to ``<dir>/heap-<pid>.txt`` every
``LAKEBOX_DEBUG_HEAP_TRACE_SECONDS`` (default 120): RSS, open files, threads, the allocator's and SQLite's totals,
resident memory by kind of mapping, the top allocation sites grown since the first report and since the last one,
and the object counts by type that grew. ``LAKEBOX_DEBUG_HEAP_TRACE_FRAMES=0`` skips tracemalloc (which costs the
worker a good part of its speed). Off by default; nothing runs unless the variable is set.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from infra.db import sqlite_heap_used

DIR_ENV = "LAKEBOX_DEBUG_HEAP_TRACE"
SECONDS_ENV = "LAKEBOX_DEBUG_HEAP_TRACE_SECONDS"
FRAMES_ENV = "LAKEBOX_DEBUG_HEAP_TRACE_FRAMES"  # 0: no tracemalloc, only the process's figures (cheap)
FRAMES = 8
TOP = 25


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost",
        )
    ]  # fmt: skip


def malloc_totals() -> dict[str, int]:
    """glibc's ``mallinfo2``: heap bytes obtained from the kernel (``arena``), in use and free; mmapped bytes."""
    name = ctypes.util.find_library("c")
    try:
        fn = ctypes.CDLL(name).mallinfo2 if name else None
    except (OSError, AttributeError):
        fn = None
    if fn is None:
        return {}
    fn.restype = _MallInfo2
    info = fn()
    return {"heap": info.arena, "in_use": info.uordblks, "free": info.fordblks, "mmapped": info.hblkhd}


def process_status() -> dict[str, int]:
    status: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                status[key] = int(value.split()[0])
        status["fds"] = len(os.listdir("/proc/self/fd"))
    except OSError:
        pass
    return status


def sqlite_memory() -> int:
    try:
        return sqlite_heap_used()
    except (OSError, AttributeError, ImportError):
        return -1


def resident_by_kind() -> dict[str, int]:
    """Resident KiB by kind of mapping (from /proc/self/smaps): the main heap, glibc's other arenas (64 MiB
    aligned reservations), shared anonymous maps, 256 KiB anonymous maps (CPython's object arenas when the kernel
    kept them apart), thread stacks (8 MiB), other anonymous maps, and files."""
    kinds: Counter[str] = Counter()
    try:
        text = Path("/proc/self/smaps").read_text()
    except OSError:
        return {}
    kind = ""
    for line in text.splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            start, end = (int(x, 16) for x in head[0].split("-"))
            path = head[5] if len(head) > 5 else ""
            size = end - start
            if path == "[heap]":
                kind = "heap"
            elif path.startswith("/dev/zero") or path.startswith("/SYSV"):
                kind = "shared-anon"  # mmap.mmap(-1, n): the blob store's pooled buffers
            elif path.startswith("["):
                kind = path
            elif path:
                kind = "file"
            elif start % (64 << 20) == 0:
                kind = "arena"
            elif size == 256 << 10:
                kind = "pyarena"
            elif size == 8 << 20:
                kind = "stack"
            else:
                kind = "anon"
        elif head[0] == "Rss:":
            kinds[kind] += int(head[1])
    return dict(kinds)


def _types() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


class HeapTrace:
    def __init__(self, directory: Path, interval: float) -> None:
        self.path = directory / f"heap-{os.getpid()}.txt"
        self.interval = interval
        self.first: tracemalloc.Snapshot | None = None
        self.last: tracemalloc.Snapshot | None = None
        self.first_types: Counter[str] = Counter()
        self.last_types: Counter[str] = Counter()
        self.started = time.monotonic()

    def report(self) -> str:
        types = _types()
        lines = [
            f"=== t={(time.monotonic() - self.started) / 60:.1f} min  {process_status()}  "
            f"malloc={malloc_totals()}  sqlite={sqlite_memory()}  objects={sum(types.values())}",
            f"  resident KiB by mapping: {resident_by_kind()}",
        ]
        if not tracemalloc.is_tracing():
            if self.first_types:
                grown = Counter(types)
                grown.subtract(self.first_types)
                lines.append(f"--- object types grown since the first report: {grown.most_common(TOP)}")
            else:
                self.first_types = types
            return "\n".join(lines) + "\n"
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
        )
        traced, peak = tracemalloc.get_traced_memory()
        lines.append(
            f"  traced={traced >> 10} KiB peak={peak >> 10} KiB "
            f"tracing itself={tracemalloc.get_tracemalloc_memory() >> 10} KiB"
        )
        if self.first is not None and self.last is not None:
            for title, base, base_types in (
                ("since the first report", self.first, self.first_types),
                ("since the last report", self.last, self.last_types),
            ):
                lines.append(f"--- allocation sites grown {title}")
                lines += [f"  {stat}" for stat in snap.compare_to(base, "lineno")[:TOP]]
                grown = Counter(types)
                grown.subtract(base_types)
                lines.append(f"--- object types grown {title}: {grown.most_common(TOP)}")
            lines.append("--- largest growth since the first report, with its traceback")
            for stat in snap.compare_to(self.first, "traceback")[:5]:
                lines.append(f"  {stat.size_diff >> 10:+} KiB in {stat.count_diff:+} blocks")
                lines += [f"    {line}" for line in stat.traceback.format()]
        else:
            self.first, self.first_types = snap, types
        self.last, self.last_types = snap, types
        return "\n".join(lines) + "\n"

    def run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self.path.open("a") as out:
                out.write(self.report())


def start_from_env(environ: dict[str, str] | None = None) -> bool:
    """Starts the tracing thread of this worker when the debug variable is set; True if it did."""
    env = os.environ if environ is None else environ
    directory = env.get(DIR_ENV)
    if not directory:
        return False
    Path(directory).mkdir(parents=True, exist_ok=True)
    frames = int(env.get(FRAMES_ENV, str(FRAMES)))
    if frames > 0:
        tracemalloc.start(frames)
    trace = HeapTrace(Path(directory), float(env.get(SECONDS_ENV, "120")))
    threading.Thread(target=trace.run, name="heap-trace", daemon=True).start()
    return True
