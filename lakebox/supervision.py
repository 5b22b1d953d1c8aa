"""Workers that die with their supervisor, and sockets bound with errors an operator can act on.

A worker must not outlive the ``lakebox serve`` process that forked it: if it did, it would keep the listening
sockets and a restart would meet ``Address already in use``. Two mechanisms, because neither covers every case:
on Linux the kernel sends the worker SIGTERM when its parent dies (``PR_SET_PDEATHSIG``); everywhere a pipe whose
only writer is the supervisor reads end-of-file in the worker once the supervisor is gone, however it died.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
# After the supervisor is gone a worker gets this long to finish in-flight requests, then exits regardless.
ORPHAN_GRACE_SECONDS = 2.0


class StartupError(Exception):
    """A reason the server cannot start, worded for the operator (printed as one line, no traceback)."""


def bind(host: str, port: int, flag: str, backlog: int) -> socket.socket:
    """A listening socket on host:port; a port that is taken or forbidden is a StartupError naming ``flag``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} ({flag}) is already in use") from None
        if exc.errno == errno.EACCES:
            raise StartupError(f"port {port} ({flag}) cannot be bound: permission denied") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(f"address {host} (--host) is not an address of this machine") from None
        raise StartupError(f"port {port} ({flag}) cannot be bound: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


class ParentWatch:
    """Made by the supervisor before it forks; each worker calls ``in_worker()`` right after the fork.

    The supervisor holds both ends (it forks replacement workers later) and never writes: its exit is the message.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        self._parent = os.getpid()

    def in_worker(self) -> None:
        os.close(self._write)  # the supervisor must be the pipe's only writer
        _set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != self._parent:  # the supervisor died before the signal was armed
            os._exit(1)
        threading.Thread(target=self._wait_for_parent, name="lakebox-parent-watch", daemon=True).start()

    def _wait_for_parent(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._read, 1):
                pass
        # EOF: the supervisor is gone. Shut down as on SIGTERM; exit regardless after a short grace.
        print("lakebox: supervisor gone; worker exiting", file=sys.stderr, flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_SECONDS)
        os._exit(1)


def _set_parent_death_signal(signum: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
