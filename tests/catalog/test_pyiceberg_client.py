"""PyIceberg's REST client against the catalog app on a real port (uvicorn), metadata operations only: the
object store is the in-memory double, so no data files are written here (the end-to-end tests with data run
against ``lakebox serve``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import (
    BadRequestError,
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform
from pyiceberg.types import IntegerType, LongType, NestedField, StringType, TimestampType

from catalog.api.app import create_catalog_app
from catalog.service.catalog import CatalogService
from tests.catalog.conftest import S3_ENDPOINT
from tests.catalog.doubles import TOKENS, StaticAuthenticator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def uri(service: CatalogService) -> Iterator[str]:
    app = create_catalog_app(service, StaticAuthenticator(dict(TOKENS)), s3_endpoint=S3_ENDPOINT)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "name", StringType(), required=False),
    NestedField(3, "ts", TimestampType(), required=False),
    identifier_field_ids=[1],
)


def catalog(uri: str, **props: str) -> RestCatalog:
    return RestCatalog("lake", uri=uri, warehouse="lake", **({"token": "rw-token"} | props))


def test_namespaces(uri: str) -> None:
    cat = catalog(uri)
    cat.create_namespace("db", {"owner": "me"})
    cat.create_namespace(("db", "nested"))
    with pytest.raises(NamespaceAlreadyExistsError):
        cat.create_namespace("db")
    assert cat.list_namespaces() == [("db",)]
    assert cat.list_namespaces("db") == [("db", "nested")]
    assert cat.load_namespace_properties("db") == {"owner": "me"}
    assert cat.namespace_exists(("db", "nested"))
    summary = cat.update_namespace_properties("db", removals={"owner", "x"}, updates={"a": "b"})
    assert summary.removed == ["owner"]
    assert summary.missing == ["x"]
    with pytest.raises(NamespaceNotEmptyError):
        cat.drop_namespace("db")
    cat.drop_namespace(("db", "nested"))
    cat.drop_namespace("db")
    with pytest.raises(NoSuchNamespaceError):
        cat.load_namespace_properties("db")


def test_tables_metadata_lifecycle(uri: str) -> None:
    cat = catalog(uri)
    cat.create_namespace("db")
    spec = PartitionSpec(PartitionField(source_id=3, field_id=1000, transform=DayTransform(), name="ts_day"))
    table = cat.create_table("db.events", SCHEMA, partition_spec=spec, properties={"k": "v"})
    assert table.metadata.location.startswith("s3://lake/__lakebox/db/events-")
    assert table.spec().fields[0].name == "ts_day"
    with pytest.raises(TableAlreadyExistsError):
        cat.create_table("db.events", SCHEMA)
    assert cat.table_exists("db.events")
    assert cat.list_tables("db") == [("db", "events")]

    with table.update_schema() as update:
        update.add_column("score", IntegerType())
    with table.transaction() as tx:
        tx.set_properties(a="1")
        tx.remove_properties("k")
    loaded = cat.load_table("db.events")
    assert loaded.schema().find_field("score").field_type == IntegerType()
    assert loaded.properties.get("a") == "1"
    assert "k" not in loaded.properties
    assert len(loaded.metadata.metadata_log) == 2

    # a stale writer: its schema change is based on an old schema id
    stale = cat.load_table("db.events")
    with table.update_schema() as update:
        update.add_column("c2", StringType())
    with pytest.raises(CommitFailedException), stale.update_schema() as update:
        update.add_column("c3", StringType())

    cat.rename_table("db.events", "db.renamed")
    assert cat.list_tables("db") == [("db", "renamed")]
    cat.drop_table("db.renamed")
    with pytest.raises(NoSuchTableError):
        cat.load_table("db.renamed")


def test_create_table_transaction_is_a_staged_create(uri: str) -> None:
    cat = catalog(uri)
    cat.create_namespace("db")
    with cat.create_table_transaction("db.staged", SCHEMA) as tx:
        tx.set_properties(created="in-transaction")
    assert cat.load_table("db.staged").properties["created"] == "in-transaction"


def test_register_table(uri: str) -> None:
    cat = catalog(uri)
    cat.create_namespace("db")
    t = cat.create_table("db.orig", SCHEMA)
    with pytest.raises(BadRequestError):  # the live table owns its location
        cat.register_table("db.copy", t.metadata_location)
    cat.drop_table("db.orig")  # its files are kept
    copy = cat.register_table("db.copy", t.metadata_location)
    assert copy.metadata.table_uuid == t.metadata.table_uuid


@pytest.mark.filterwarnings("ignore:Deprecated in 0.8.0:DeprecationWarning")
def test_oauth_client_credentials(uri: str) -> None:
    cat = RestCatalog("lake", uri=uri, warehouse="lake", credential="client:rw-token")
    cat.create_namespace("viaoauth")
    assert ("viaoauth",) in cat.list_namespaces()


def test_oauth_with_explicit_server_uri(uri: str) -> None:
    cat = RestCatalog(
        "lake",
        uri=uri,
        warehouse="lake",
        credential="rw-token",
        **{"oauth2-server-uri": f"{uri}/v1/oauth/tokens"},
    )
    assert cat.list_namespaces() == []


def test_vended_config_reaches_the_file_io(uri: str) -> None:
    cat = catalog(uri)
    cat.create_namespace("db")
    table = cat.create_table("db.t", SCHEMA)
    props = table.io.properties
    assert props["s3.endpoint"] == S3_ENDPOINT
    assert props["s3.access-key-id"].startswith("TMPKEY")
    assert props["s3.session-token"].startswith("session")
