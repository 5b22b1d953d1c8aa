"""The supervisor and its workers: workers never outlive a supervisor killed with SIGKILL (so a restart binds the
same ports), and a port that is taken is reported in one line naming the port and its flag."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import psutil

from tests.support.server import LakeboxServer, postgres_database


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        time.sleep(0.1)
    return alive


def test_workers_exit_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    server = LakeboxServer(tmp_path / "data", workers=2, database_url=postgres_database()).start()
    assert server.process is not None
    supervisor = psutil.Process(server.process.pid)
    workers = [child.pid for child in supervisor.children()]
    assert len(workers) == 2
    s3 = server.s3()
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="k", Body=b"before the kill")

    supervisor.kill()  # SIGKILL: no chance to pass anything on to the workers
    server.process.wait()
    assert _wait_gone(workers, 5.0) == []

    again = LakeboxServer(
        server.data_dir,
        workers=2,
        database_url=server.database_url,
        s3_port=server.s3_port,
        catalog_port=server.catalog_port,
        console_port=server.console_port,
        public_port=server.public_port,
        token=server.token,
        access_key_id=server.access_key_id,
    ).start()
    try:
        assert again.s3().get_object(Bucket="kept", Key="k")["Body"].read() == b"before the kill"
    finally:
        again.stop()


def test_port_in_use_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        for flag_port in ("s3_port", "catalog_port"):
            server = LakeboxServer(tmp_path / f"data-{flag_port}", **{flag_port: port})  # type: ignore[arg-type]
            result = subprocess.run(
                server.command(), env=server.env(), capture_output=True, timeout=60, check=False
            )
            flag = "--" + flag_port.replace("_", "-")
            assert result.returncode == 1
            assert result.stderr.decode().strip() == f"lakebox: port {port} ({flag}) is already in use"
            assert result.stdout == b""
    finally:
        taken.close()
