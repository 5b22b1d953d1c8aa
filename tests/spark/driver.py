"""Runs inside the Spark kit's own venv (scripts/install-spark), not the project's: one SparkSession configured
as R2's Spark page shows (REST catalog, token, vended credentials, no remote signing), with every jar of the kit
on spark.jars, executing SQL statements read one per line from stdin (JSON: {"sql": ...}) and answering one JSON
line per statement on stdout, prefixed with REPLY so that anything else the JVM prints there is ignored.

usage: python driver.py CONFIG_JSON   (keys: jars, uri, token, warehouse, catalog, local_dir)"""

import datetime
import decimal
import glob
import json
import sys

REPLY = "@@spark-reply "


def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "asDict"):  # a struct (a Row is also a tuple)
        return {k: plain(v) for k, v in value.asDict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def session(config):
    from pyspark.sql import SparkSession

    name = config["catalog"]
    prefix = f"spark.sql.catalog.{name}"
    builder = (
        SparkSession.builder.appName("lakebox-spark-tests")
        .master("local[2]")
        .config("spark.jars", ",".join(sorted(glob.glob(config["jars"] + "/*.jar"))))
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config(prefix, "org.apache.iceberg.spark.SparkCatalog")
        .config(f"{prefix}.type", "rest")
        .config(f"{prefix}.uri", config["uri"])
        .config(f"{prefix}.warehouse", config["warehouse"])
        .config(f"{prefix}.token", config["token"])
        .config(f"{prefix}.header.X-Iceberg-Access-Delegation", "vended-credentials")
        .config(f"{prefix}.s3.remote-signing-enabled", "false")
        .config("spark.sql.defaultCatalog", name)
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.local.dir", config["local_dir"])
        .config("spark.sql.warehouse.dir", config["local_dir"] + "/spark-warehouse")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql(f"USE {name}")
    return spark


def error_of(exc):
    java = getattr(exc, "_origin", None) or getattr(exc, "java_exception", None)
    kind = type(exc).__name__
    if java is not None:
        kind = java.getClass().getName()
        cause = java
        while cause.getCause() is not None:
            cause = cause.getCause()
        return {
            "type": kind,
            "message": str(java.getMessage()),
            "root": cause.getClass().getName(),
            "root_message": str(cause.getMessage()),
        }
    return {"type": kind, "message": str(exc), "root": kind, "root_message": str(exc)}


def main():
    config = json.loads(sys.argv[1])
    spark = session(config)
    print(REPLY + json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        statement = json.loads(line)["sql"]
        try:
            frame = spark.sql(statement)
            rows = [[plain(v) for v in row] for row in frame.collect()]
            reply = {"ok": True, "columns": frame.columns, "rows": rows}
        except Exception as exc:  # every failure goes back to the test, which asserts on it
            reply = {"ok": False, "error": error_of(exc)}
        print(REPLY + json.dumps(reply, default=str), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
