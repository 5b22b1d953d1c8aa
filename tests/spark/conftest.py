"""Spark (pyspark 3.5.9 with the Apache Iceberg 1.10 runtime, in its own venv from scripts/install-spark) against a
live lakebox: one JVM per test module. The kit is installed once per session; the tests are skipped only when Java
is absent and cannot be installed (scripts/install-spark exits 3 then)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.catalog.live import LiveLake
from tests.spark.session import SparkKit, SparkSql
from tests.support.server import ROOT, running

JAVA_MISSING = 3


@pytest.fixture(scope="session")
def spark_kit() -> SparkKit:
    out = subprocess.run(
        [str(ROOT / "scripts" / "install-spark")], capture_output=True, text=True, timeout=1800, check=False
    )
    if out.returncode == JAVA_MISSING:
        pytest.skip(f"Spark needs Java, which is absent and could not be installed: {out.stderr.strip()}")
    assert out.returncode == 0, f"scripts/install-spark failed:\n{out.stderr}"
    paths = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return SparkKit(python=paths["python"], jars=paths["jars"])


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLake]:
    with running(tmp_path_factory.mktemp("lakebox") / "data") as srv:
        yield LiveLake(srv)


@pytest.fixture(scope="module")
def warehouse(lake: LiveLake) -> str:
    return lake.warehouse("lake")


@pytest.fixture(scope="module")
def spark(
    spark_kit: SparkKit, lake: LiveLake, warehouse: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SparkSql]:
    session = SparkSql.start(
        spark_kit,
        uri=lake.catalog_uri,
        token=lake.root.token,
        warehouse=warehouse,
        workdir=tmp_path_factory.mktemp("spark"),
    )
    yield session
    session.close()


@pytest.fixture(scope="module")
def pyiceberg(lake: LiveLake, warehouse: str) -> RestCatalog:
    """PyIceberg on the same catalog, to check what Spark wrote (and to write what Spark reads)."""
    return RestCatalog("lake", uri=lake.catalog_uri, warehouse=warehouse, token=lake.root.token)
