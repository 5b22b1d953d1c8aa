"""The test side of tests/spark/driver.py: one Spark driver process (the kit's own python, one JVM) per test
module, fed SQL statements over stdin and answering JSON lines on stdout."""

from __future__ import annotations

import json
import selectors
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.catalog.live import LiveLake

DRIVER = Path(__file__).with_name("driver.py")
REPLY = "@@spark-reply "


@dataclass(frozen=True)
class SparkKit:
    python: str
    jars: str


class SparkSqlError(Exception):
    """A statement Spark refused: ``kind`` is the Java exception class, ``root`` the innermost cause's."""

    def __init__(self, statement: str, error: dict[str, str]) -> None:
        self.kind = error["type"]
        self.root = error["root"]
        self.message = error["message"]
        self.root_message = error["root_message"]
        super().__init__(
            f"{statement!r} failed: {self.kind}: {self.message} (root: {self.root}: {self.root_message})"
        )


@dataclass
class SparkSql:
    process: subprocess.Popen[str]
    stderr_path: Path
    timeout: float = 600
    _selector: selectors.DefaultSelector = field(default_factory=selectors.DefaultSelector)

    @classmethod
    def start(cls, kit: SparkKit, *, uri: str, token: str, warehouse: str, workdir: Path) -> SparkSql:
        config = {
            "jars": kit.jars,
            "uri": uri,
            "token": token,
            "warehouse": warehouse,
            "catalog": "my_catalog",
            "local_dir": str(workdir),
        }
        stderr_path = workdir / "spark-driver.log"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                [kit.python, str(DRIVER), json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=workdir,
            )
        spark = cls(process, stderr_path)
        assert process.stdout is not None
        spark._selector.register(process.stdout, selectors.EVENT_READ)
        ready = spark._reply()
        assert ready.get("ready"), ready
        return spark

    def _reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            if not self._selector.select(self.timeout):
                raise TimeoutError(f"no answer from the Spark driver in {self.timeout} s:\n{self.log_tail()}")
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the Spark driver exited ({self.process.poll()}):\n{self.log_tail()}")
            if line.startswith(REPLY):
                reply: dict[str, Any] = json.loads(line[len(REPLY) :])
                return reply

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])

    def run(self, statement: str) -> dict[str, Any]:
        """Executes one statement; returns ``{"columns": [...], "rows": [[...], ...]}`` or raises SparkSqlError."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"sql": statement}) + "\n")
        self.process.stdin.flush()
        reply = self._reply()
        if not reply["ok"]:
            raise SparkSqlError(statement, reply["error"])
        return reply

    def rows(self, statement: str) -> list[list[Any]]:
        rows: list[list[Any]] = self.run(statement)["rows"]
        return rows

    def dicts(self, statement: str) -> list[dict[str, Any]]:
        reply = self.run(statement)
        return [dict(zip(reply["columns"], row, strict=True)) for row in reply["rows"]]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._selector.close()
        if self.process.stdout is not None:
            self.process.stdout.close()


def keys_under(lake: LiveLake, bucket: str, location: str) -> list[str]:
    """Every object key under a table's ``s3://bucket/...`` location."""
    prefix = location.removeprefix(f"s3://{bucket}/").rstrip("/") + "/"
    pages = lake.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]
