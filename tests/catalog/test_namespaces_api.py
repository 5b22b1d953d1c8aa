"""Namespaces over HTTP: nesting, properties, pagination, drop only when empty, exact errors."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.catalog.helpers import P, create_namespace, create_table

Client = TestClient  # type: ignore[type-arg]


def error(r: object) -> tuple[int, str]:
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code"}
    assert body["error"]["code"] == r.status_code  # type: ignore[attr-defined]
    return body["error"]["code"], body["error"]["type"]


def test_create_load_exists_drop(client: Client) -> None:
    r = client.post(f"{P}/namespaces", json={"namespace": ["db"], "properties": {"owner": "me"}})
    assert r.status_code == 200
    assert r.json() == {"namespace": ["db"], "properties": {"owner": "me"}}
    assert client.get(f"{P}/namespaces/db").json() == {"namespace": ["db"], "properties": {"owner": "me"}}
    assert client.head(f"{P}/namespaces/db").status_code == 204
    assert client.delete(f"{P}/namespaces/db").status_code == 204
    assert client.head(f"{P}/namespaces/db").status_code == 404
    assert error(client.get(f"{P}/namespaces/db")) == (404, "NoSuchNamespaceException")


def test_create_twice_is_already_exists(client: Client) -> None:
    create_namespace(client, "db")
    assert error(client.post(f"{P}/namespaces", json={"namespace": ["db"]})) == (
        409,
        "AlreadyExistsException",
    )


def test_nested_namespaces_and_parent_listing(client: Client) -> None:
    create_namespace(client, "a")
    create_namespace(client, "a", "b")
    create_namespace(client, "a", "b", "c")
    create_namespace(client, "z")
    assert client.get(f"{P}/namespaces").json() == {"namespaces": [["a"], ["z"]]}
    assert client.get(f"{P}/namespaces", params={"parent": "a"}).json() == {"namespaces": [["a", "b"]]}
    assert client.get(f"{P}/namespaces", params={"parent": "a\x1fb"}).json() == {
        "namespaces": [["a", "b", "c"]]
    }
    assert client.get(f"{P}/namespaces/a%1Fb%1Fc").json()["namespace"] == ["a", "b", "c"]
    assert error(client.get(f"{P}/namespaces", params={"parent": "nope"})) == (
        404,
        "NoSuchNamespaceException",
    )


def test_nested_create_needs_parent(client: Client) -> None:
    r = client.post(f"{P}/namespaces", json={"namespace": ["x", "y"]})
    assert error(r) == (404, "NoSuchNamespaceException")


def test_drop_only_when_empty(client: Client) -> None:
    create_namespace(client, "a")
    create_namespace(client, "a", "b")
    assert error(client.delete(f"{P}/namespaces/a")) == (409, "NamespaceNotEmptyException")
    create_table(client, "a%1Fb", "t")
    assert error(client.delete(f"{P}/namespaces/a%1Fb")) == (409, "NamespaceNotEmptyException")
    assert client.delete(f"{P}/namespaces/a%1Fb/tables/t").status_code == 204
    assert client.delete(f"{P}/namespaces/a%1Fb").status_code == 204
    assert client.delete(f"{P}/namespaces/a").status_code == 204
    assert error(client.delete(f"{P}/namespaces/a")) == (404, "NoSuchNamespaceException")


def test_pagination(client: Client) -> None:
    names = [f"ns{i:02d}" for i in range(7)]
    for n in names:
        create_namespace(client, n)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"pageSize": "3"} if token is None else {"pageSize": "3", "pageToken": token}
        body = client.get(f"{P}/namespaces", params=params).json()
        seen += [ns[0] for ns in body["namespaces"]]
        pages += 1
        token = body.get("next-page-token")
        if token is None:
            break
    assert seen == names
    assert pages == 3
    assert len(client.get(f"{P}/namespaces").json()["namespaces"]) == 7  # no pageSize: everything


def test_bad_page_parameters(client: Client) -> None:
    assert error(client.get(f"{P}/namespaces", params={"pageSize": "0"})) == (400, "IllegalArgumentException")
    assert error(client.get(f"{P}/namespaces", params={"pageSize": "x"})) == (400, "BadRequestException")
    assert error(client.get(f"{P}/namespaces", params={"pageToken": "%%%"})) == (400, "BadRequestException")


def test_update_properties(client: Client) -> None:
    create_namespace(client, "db", a="1", b="2")
    r = client.post(f"{P}/namespaces/db/properties", json={"removals": ["a", "zz"], "updates": {"c": "3"}})
    assert r.status_code == 200
    assert r.json() == {"removed": ["a"], "updated": ["c"], "missing": ["zz"]}
    assert client.get(f"{P}/namespaces/db").json()["properties"] == {"b": "2", "c": "3"}
    r = client.post(f"{P}/namespaces/db/properties", json={"removals": ["b"], "updates": {"b": "x"}})
    assert error(r) == (422, "UnprocessableEntityException")
    r = client.post(f"{P}/namespaces/nope/properties", json={"updates": {"c": "3"}})
    assert error(r) == (404, "NoSuchNamespaceException")


def test_malformed_bodies(client: Client) -> None:
    assert error(client.post(f"{P}/namespaces", content=b"{")) == (400, "BadRequestException")
    assert error(client.post(f"{P}/namespaces", json={"namespace": "db"})) == (400, "BadRequestException")
    assert error(client.post(f"{P}/namespaces", json={"namespace": []})) == (400, "BadRequestException")
    assert error(client.post(f"{P}/namespaces", json={"namespace": [""]})) == (400, "BadRequestException")
    assert error(client.post(f"{P}/namespaces", content=b"")) == (400, "BadRequestException")
