"""Allocator tuning for a server that moves megabyte-sized buffers.

glibc serves allocations of 128 KiB and more (file reads, request and response bodies) with fresh ``mmap`` pages
or returns them to the kernel as soon as they are freed (trimming the heap), and adapts those limits as it goes.
Every request then pays for page faults on memory the kernel must zero first: measured on a 1 MiB GET, two thirds
of the server's CPU time. Fixed, higher limits keep freed buffers in the process for the next request; what stays
resident is bounded by the threshold (per allocator arena), not by the traffic.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("lakebox")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
KEEP_BYTES = 32 * 1024 * 1024


def trim_malloc() -> bool:
    """Hands freed heap memory of every allocator arena back to the kernel (glibc's ``malloc_trim``; elsewhere a
    no-op). The limits above keep up to ``keep`` bytes of free memory per arena, and a worker's thread pool uses
    many arenas, whose free space grows slowly as their high-water marks do: trimmed about once a minute, what
    stays resident follows the live data, and a request pays the page faults for at most a minute's reuse."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))


def tune_malloc(keep: int = KEEP_BYTES) -> bool:
    """Keeps up to ``keep`` bytes of freed heap and serves allocations below it from the heap (glibc only:
    other C libraries are left as they are). True if applied."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, keep)) and bool(mallopt(_M_TRIM_THRESHOLD, keep))
    if not applied:
        log.debug("mallopt refused the allocator limits")
    return applied
