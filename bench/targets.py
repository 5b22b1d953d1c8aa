"""The servers under test: a real ``lakebox serve`` (temporary data dir) and moto's S3 server, plus a sampler of
each one's process tree (peak RSS, CPU time)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from tests.support.server import LakeboxServer, free_port


class Target:
    name = ""
    region = ""
    endpoint = ""
    access_key_id = ""
    secret_access_key = ""
    description = ""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        raise NotImplementedError


class LakeboxTarget(Target):
    name = "lakebox"
    region = "auto"

    def __init__(self, workers: int, tmp_dir: str | None, *, encryption: bool = True) -> None:
        self.workers = workers
        self.tmp_dir = tmp_dir
        self.tmp = Path()
        self.server: LakeboxServer | None = None
        self.encryption = encryption
        self.description = f"lakebox serve --workers {workers} (SQLite WAL, fsync before 200)"
        if not encryption:
            self.name = "lakebox-plain"
            self.description += ", --no-encryption (to measure what encryption at rest costs)"

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="lakebox-bench-", dir=self.tmp_dir))
        extra_env = {} if self.encryption else {"LAKEBOX_ENCRYPTION": "false"}
        self.server = LakeboxServer(self.tmp / "data", workers=self.workers, extra_env=extra_env)
        self.server.start()
        self.endpoint = self.server.s3_endpoint
        self.access_key_id = self.server.access_key_id
        self.secret_access_key = self.server.secret_access_key

    def stop(self) -> None:
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def pid(self) -> int:
        assert self.server is not None
        assert self.server.process is not None
        return self.server.process.pid


class MotoTarget(Target):
    name = "moto"
    region = "us-east-1"
    access_key_id = "bench"
    secret_access_key = "bench-secret"  # moto accepts any credentials

    def __init__(self, tmp_dir: str | None) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.tmp_dir = tmp_dir
        self.tmp = Path()
        self.process: subprocess.Popen[bytes] | None = None
        self.description = "moto_server (moto[server], threaded werkzeug, objects in memory/spooled files)"

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="moto-bench-", dir=self.tmp_dir))
        exe = Path(sys.executable).with_name("moto_server")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
        log = open(self.tmp / "moto.log", "wb")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [*cmd, "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {(self.tmp / 'moto.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.endpoint + "/", timeout=1):
                return
            time.sleep(0.1)
        raise TimeoutError("moto_server not ready after 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


class TreeSampler:
    """Samples the RSS (summed over a process and all its descendants) every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._procs: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _tree(self) -> list[psutil.Process]:
        procs = [self.root]
        with contextlib.suppress(psutil.Error):
            procs += self.root.children(recursive=True)
        return procs

    def processes(self) -> list[tuple[str, psutil.Process]]:
        """The root ("supervisor") and its descendants ("worker")."""
        tree = self._tree()
        return [("supervisor" if p is self.root else "worker", p) for p in tree]

    def rss(self) -> int:
        total = 0
        for p in self._tree():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time of the tree (live processes; workers are long-lived)."""
        total = 0.0
        for p in self._tree():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def reset_peak(self) -> None:
        self.peak = self.rss()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
