"""Namespace operations: nested (0x1F-joined), with properties, dropped only when empty."""

from __future__ import annotations

from dataclasses import dataclass

from auth.service.principal import Principal
from catalog.errors import BadRequest, NoSuchNamespace, UnprocessableEntity
from catalog.service.core import Context
from catalog.service.naming import (
    SEP,
    check_page_size,
    decode_page_token,
    encode_page_token,
    namespace_name,
)


@dataclass(frozen=True, slots=True)
class NamespacePage:
    namespaces: list[tuple[str, ...]]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class PropertiesChange:
    removed: list[str]
    updated: list[str]
    missing: list[str]


class NamespaceService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def list_namespaces(
        self,
        principal: Principal,
        prefix: str,
        parent: tuple[str, ...] | None,
        page_token: str | None,
        page_size: int | None,
    ) -> NamespacePage:
        bucket = self.ctx.warehouse(principal, prefix, write=False)
        parent_name = ""
        if parent:
            parent_name = self.ctx.namespace(bucket, parent).name
        limit = check_page_size(page_size)
        names = self.ctx.repo.list_namespaces(
            bucket, parent_name, decode_page_token(page_token), None if limit is None else limit + 1
        )
        token = None
        if limit is not None and len(names) > limit:
            names = names[:limit]
            token = encode_page_token(names[-1])
        return NamespacePage([tuple(n.split(SEP)) for n in names], token)

    def create(
        self, principal: Principal, prefix: str, levels: tuple[str, ...], properties: dict[str, str]
    ) -> tuple[tuple[str, ...], dict[str, str]]:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        _check_properties(properties)
        ns = self.ctx.repo.create_namespace(bucket, namespace_name(levels), properties)
        return ns.levels, ns.properties

    def load(self, principal: Principal, prefix: str, levels: tuple[str, ...]) -> dict[str, str]:
        bucket = self.ctx.warehouse(principal, prefix, write=False)
        return self.ctx.namespace(bucket, levels).properties

    def exists(self, principal: Principal, prefix: str, levels: tuple[str, ...]) -> None:
        self.load(principal, prefix, levels)

    def drop(self, principal: Principal, prefix: str, levels: tuple[str, ...]) -> None:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        self.ctx.repo.drop_namespace(bucket, namespace_name(levels))

    def update_properties(
        self,
        principal: Principal,
        prefix: str,
        levels: tuple[str, ...],
        removals: list[str],
        updates: dict[str, str],
    ) -> PropertiesChange:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        _check_properties(updates)
        both: list[str] = sorted(set(removals) & set(updates))
        if both:
            raise UnprocessableEntity(
                f"Invalid namespace update, cannot simultaneously set and remove keys: {both}"
            )
        name = namespace_name(levels)
        if self.ctx.repo.get_namespace(bucket, name) is None:
            raise NoSuchNamespace(f"Namespace does not exist: {'.'.join(levels)}")
        removed, updated, missing = self.ctx.repo.update_namespace_properties(bucket, name, removals, updates)
        return PropertiesChange(removed, updated, missing)


def _check_properties(properties: dict[str, str]) -> None:
    for key, value in properties.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BadRequest("Namespace properties must map strings to strings")
