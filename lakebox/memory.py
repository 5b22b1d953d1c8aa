"""Allocator tuning for a server that moves megabyte-sized buffers.

glibc serves allocations of 128 KiB and more (file reads, request and response bodies) with fresh ``mmap`` pages
or returns them to the kernel as soon as they are freed (trimming the heap), and adapts those limits as it goes.
Every request then pays for page faults on memory the kernel must zero first: measured on a 1 MiB GET, two thirds
of the server's CPU time. Fixed, higher limits keep freed buffers in the process for the next request; what stays
resident is bounded by the threshold (per allocator arena), not by the traffic.

glibc also gives each new thread its own arena, up to eight per core, and every arena keeps its own free memory
and high-water mark: a worker's thread pool (up to 40 threads, retired and started again as load varies) held some
50 MiB of free heap per worker and added more for as long as it ran, as the arenas fragmented one by one. Two
arenas (the main one and one shared by the threads) hold a steady few MiB; the threads' malloc calls contend
little, as most of their work runs under the GIL or in SQLite and the kernel.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("lakebox")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
KEEP_BYTES = 32 * 1024 * 1024
ARENAS = 2


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


def tune_malloc(keep: int = KEEP_BYTES, arenas: int = ARENAS) -> bool:
    """Keeps up to ``keep`` bytes of freed heap, serves allocations below it from the heap and shares at most
    ``arenas`` allocator arenas between all threads (glibc only: other C libraries are left as they are). Call it
    before any thread starts (the server: before it forks its workers). True if applied."""
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
    applied = (
        bool(mallopt(_M_MMAP_THRESHOLD, keep))
        and bool(mallopt(_M_TRIM_THRESHOLD, keep))
        and bool(mallopt(_M_ARENA_MAX, arenas))
    )
    if not applied:
        log.debug("mallopt refused the allocator limits")
    return applied
