from litestar.testing import TestClient

from tests.catalog.helpers import P, create_namespace, create_table


def test_create_and_load(client: TestClient) -> None:  # type: ignore[type-arg]
    create_namespace(client, "db")
    created = create_table(client, "db", "t1")
    assert created["metadata-location"].startswith("s3://lake/__lakebox/db/t1-")
    r = client.get(f"{P}/namespaces/db/tables/t1")
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["table-uuid"] == created["metadata"]["table-uuid"]
