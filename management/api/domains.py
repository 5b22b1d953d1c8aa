"""``/accounts/{account_id}/r2/buckets/{bucket}/domains/custom[/{domain}]``: a bucket's custom domains, as
wrangler's ``r2 bucket domain`` commands and the Cloudflare SDK's ``r2.buckets.domains.custom`` send them.

A self-hosted server verifies no DNS zone and issues no certificate: ``status.ownership`` and ``status.ssl`` are
"active" once a domain is added, and the public-bucket port serves it by Host header."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, delete, get, post, put

from auth.service.principal import Action, Principal
from management.api.context import check_account, require
from management.api.envelope import json_body, ok
from management.service.buckets import bucket_ref
from management.service.errors import InvalidRequest
from objectstore.service.domains import CustomDomain, CustomDomainService

STATE_KEY = "custom_domains"
_CUSTOM = "/accounts/{account_id:str}/r2/buckets/{bucket:str}/domains/custom"
_ONE = _CUSTOM + "/{domain:str}"


def _service(request: Request[Any, Any, Any]) -> CustomDomainService:
    found: CustomDomainService = request.app.state[STATE_KEY]
    return found


def _bucket(request: Request[Any, Any, Any], account_id: str, bucket: str) -> str:
    check_account(request, account_id)
    return bucket_ref(bucket, request.headers.get("cf-r2-jurisdiction"))


def describe(domain: CustomDomain) -> dict[str, Any]:
    return {
        "domain": domain.domain,
        "enabled": domain.enabled,
        "status": {"ownership": "active", "ssl": "active"},
        "minTLS": domain.min_tls,
        "zoneId": domain.zone_id,
        "zoneName": domain.zone_name,
    }


async def _object_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object")
    return body


@get(_CUSTOM)
async def list_domains(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    bucket = _bucket(request, account_id, bucket)
    require(caller, Action.READ_BUCKET_CONFIG, bucket)
    found = await anyio.to_thread.run_sync(_service(request).list, bucket)
    return ok({"domains": [describe(domain) for domain in found]})


@post(_CUSTOM, status_code=200)
async def add_domain(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    bucket = _bucket(request, account_id, bucket)
    require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
    body = await _object_body(request)

    def add() -> CustomDomain:
        return _service(request).add(
            bucket,
            body.get("domain"),
            zone_id=body.get("zoneId"),
            zone_name=body.get("zoneName"),
            min_tls=body.get("minTLS"),
            enabled=body.get("enabled", True),
        )

    return ok(describe(await anyio.to_thread.run_sync(add)))


@get(_ONE)
async def get_domain(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str, domain: str
) -> Response[Any]:
    bucket = _bucket(request, account_id, bucket)
    require(caller, Action.READ_BUCKET_CONFIG, bucket)
    return ok(describe(await anyio.to_thread.run_sync(_service(request).get, bucket, domain)))


@put(_ONE)
async def update_domain(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str, domain: str
) -> Response[Any]:
    bucket = _bucket(request, account_id, bucket)
    require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
    body = await _object_body(request)
    if body.get("domain", domain) != domain:
        raise InvalidRequest("The body's domain differs from the domain in the path")

    def update() -> CustomDomain:
        return _service(request).update(
            bucket, domain, min_tls=body.get("minTLS"), enabled=body.get("enabled")
        )

    return ok(describe(await anyio.to_thread.run_sync(update)))


@delete(_ONE, status_code=200)
async def remove_domain(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str, domain: str
) -> Response[Any]:
    bucket = _bucket(request, account_id, bucket)
    require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
    await anyio.to_thread.run_sync(_service(request).remove, bucket, domain)
    return ok({"domain": domain})


HANDLERS = [list_domains, add_domain, get_domain, update_domain, remove_domain]
