"""API tokens the Cloudflare way (``POST /user/tokens`` with policies of R2's permission groups), token
verification, and R2's temporary access credentials, over ``auth.service``.

A lakebox token carries one of R2's four permissions, optionally limited to some buckets; a policy set is
accepted when it says exactly that. The response's ``id`` is the S3 access key id and the SHA-256 of its
``value`` the secret access key, as on R2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auth.service.principal import Permission, Principal
from auth.service.temporary import TempPermission
from auth.service.tokens import TokenInfo, TokenService
from management.service.buckets import iso
from management.service.errors import InvalidRequest, NotImplementedYet


@dataclass(frozen=True, slots=True)
class PermissionGroup:
    id: str
    name: str
    permission: (
        Permission | None
    )  # None: a Data Catalog group (lakebox's catalog follows the storage permission)
    account_level: bool


PERMISSION_GROUPS = (
    PermissionGroup(
        "bf7481a1826f439697cb59a20b22293e", "Workers R2 Storage Write", Permission.ADMIN_RW, True
    ),
    PermissionGroup("b4992e1108244f5d8bfbd5744320c2e1", "Workers R2 Storage Read", Permission.ADMIN_RO, True),
    PermissionGroup(
        "2efd5506f9c8494dacb1fa10a3e7d5b6",
        "Workers R2 Storage Bucket Item Write",
        Permission.OBJECT_RW,
        False,
    ),
    PermissionGroup(
        "6a018a9f2fc74eb6b293b0c548f38b39", "Workers R2 Storage Bucket Item Read", Permission.OBJECT_RO, False
    ),
    PermissionGroup("d229766a2f7f4d299f20eaa8c9b1fde9", "Workers R2 Data Catalog Write", None, True),
    PermissionGroup("", "Workers R2 Data Catalog Read", None, True),
)
_BY_ID = {g.id: g for g in PERMISSION_GROUPS if g.id}
_BY_NAME = {g.name: g for g in PERMISSION_GROUPS}
_ACCOUNT = "com.cloudflare.api.account."
_BUCKET = "com.cloudflare.edge.r2.bucket."
_ALL_BUCKETS = _BUCKET + "*"
_POLICY_KEYS = {"id", "effect", "resources", "permission_groups"}
_TOKEN_KEYS = {"name", "policies", "expires_on", "not_before", "condition"}
_TEMP_KEYS = {"bucket", "parentAccessKeyId", "permission", "ttlSeconds", "prefixes", "objects"}
_TEMP_PERMISSIONS = {"object-read-write", "object-read-only", "admin-read-write", "admin-read-only"}


def _group(raw: Any) -> PermissionGroup:
    if not isinstance(raw, dict):
        raise InvalidRequest("Every permission group must be an object with an 'id'")
    group = _BY_ID.get(raw.get("id") or "") or _BY_NAME.get(raw.get("name") or "")
    if group is None:
        raise InvalidRequest(f"Unknown or non-R2 permission group: {raw.get('id') or raw.get('name')!r}")
    return group


def _parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(f"'{what}' must be an ISO 8601 time")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"'{what}' must be an ISO 8601 time") from None


class R2Tokens:
    def __init__(self, tokens: TokenService, account_id: str) -> None:
        self.tokens = tokens
        self.account_id = account_id

    def _resources(self, resources: Any) -> tuple[str, ...] | None:
        """The buckets a policy's resources name; None for every bucket of the account."""
        if not isinstance(resources, dict) or not resources:
            raise InvalidRequest("'resources' must name the account or some buckets")
        buckets: list[str] = []
        every = False
        for key, value in resources.items():
            if key.startswith(_ACCOUNT):
                if key[len(_ACCOUNT) :] not in (self.account_id, "*"):
                    raise InvalidRequest(f"Unknown account in resource {key!r}")
                if value != "*" and value != {_ALL_BUCKETS: "*"}:
                    raise InvalidRequest(f"Unsupported resource value for {key!r}")
                every = True
            elif key == _ALL_BUCKETS:
                every = True
            elif key.startswith(_BUCKET):
                account, _, rest = key[len(_BUCKET) :].partition("_")
                jurisdiction, _, bucket = rest.partition("_")
                if account != self.account_id or not bucket:
                    raise InvalidRequest(f"Unknown account or bucket in resource {key!r}")
                if jurisdiction != "default":
                    raise NotImplementedYet(f"The {jurisdiction!r} jurisdiction")
                buckets.append(bucket)
            else:
                raise InvalidRequest(f"Not an R2 resource: {key!r}")
        return None if every else tuple(buckets)

    def _permission(self, policies: Any) -> tuple[Permission, tuple[str, ...]]:
        if not isinstance(policies, list) or not policies:
            raise InvalidRequest("'policies' must be a non-empty list")
        grants: set[tuple[Permission, tuple[str, ...] | None]] = set()
        for raw in policies:
            if not isinstance(raw, dict) or set(raw) - _POLICY_KEYS:
                raise InvalidRequest("Every policy has 'effect', 'resources' and 'permission_groups'")
            if raw.get("effect", "allow") != "allow":
                raise NotImplementedYet("Deny policies")
            scope = self._resources(raw.get("resources"))
            groups = raw.get("permission_groups")
            if not isinstance(groups, list) or not groups:
                raise InvalidRequest("'permission_groups' must be a non-empty list")
            for group in map(_group, groups):
                if group.permission is None:
                    continue
                if group.account_level and scope is not None:
                    raise InvalidRequest(f"{group.name!r} applies to the account, not to single buckets")
                grants.add((group.permission, scope))
        if not grants:
            raise InvalidRequest("A token needs one of R2's storage permission groups")
        if Permission.ADMIN_RW in {p for p, _ in grants}:
            return Permission.ADMIN_RW, ()
        if len(grants) > 1:
            raise InvalidRequest("A lakebox token carries one R2 permission for one set of buckets")
        permission, scope = grants.pop()
        return permission, scope or ()

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or set(body) - _TOKEN_KEYS:
            raise InvalidRequest("A token has 'name', 'policies' and optionally 'expires_on'")
        name = body.get("name", "")
        if not isinstance(name, str):
            raise InvalidRequest("'name' must be a string")
        if body.get("not_before") is not None:
            raise NotImplementedYet("'not_before' on tokens")
        if body.get("condition"):
            raise NotImplementedYet("Token conditions (IP filters)")
        permission, buckets = self._permission(body.get("policies"))
        expires = _parse_time(body["expires_on"], "expires_on") if body.get("expires_on") else None
        issued = self.tokens.create(permission, name=name, buckets=buckets, expires_at=expires)
        info = self.tokens.get(issued.id)
        now = iso(info.created_at.timestamp())
        return {
            "id": issued.id,
            "name": issued.name,
            "status": "active",
            "issued_on": now,
            "modified_on": now,
            "expires_on": iso(expires.timestamp()) if expires else None,
            "not_before": None,
            "policies": body["policies"],
            "condition": {},
            "value": issued.token,
        }

    def _policies_of(self, info: TokenInfo) -> list[dict[str, Any]]:
        """The policy a lakebox token's permission and buckets amount to, in R2's permission groups."""
        group = next(g for g in PERMISSION_GROUPS if g.permission is info.permission)
        if info.buckets:
            resources: dict[str, Any] = {f"{_BUCKET}{self.account_id}_default_{b}": "*" for b in info.buckets}
        elif group.account_level:
            resources = {f"{_ACCOUNT}{self.account_id}": "*"}
        else:
            resources = {f"{_ACCOUNT}{self.account_id}": {_ALL_BUCKETS: "*"}}
        return [
            {
                "id": info.id,
                "effect": "allow",
                "resources": resources,
                "permission_groups": [{"id": group.id, "name": group.name}],
            }
        ]

    def describe(self, info: TokenInfo) -> dict[str, Any]:
        """A token as Cloudflare lists it (never its value)."""
        created = iso(info.created_at.timestamp())
        return {
            "id": info.id,
            "name": info.name,
            "status": "active"
            if info.status == "active"
            else "expired"
            if info.status == "expired"
            else "disabled",
            "issued_on": created,
            "modified_on": iso(info.revoked_at.timestamp()) if info.revoked_at else created,
            "expires_on": iso(info.expires_at.timestamp()) if info.expires_at else None,
            "not_before": None,
            "policies": self._policies_of(info),
            "condition": {},
        }

    def list(self, page: str | None, per_page: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        try:
            number = int(page) if page not in (None, "") else 1
            size = int(per_page) if per_page not in (None, "") else 20
        except ValueError:
            raise InvalidRequest("'page' and 'per_page' must be integers") from None
        if number < 1 or not 5 <= size <= 1000:
            raise InvalidRequest("'page' must be at least 1 and 'per_page' between 5 and 1000")
        every = self.tokens.list()
        chunk = every[(number - 1) * size : number * size]
        info = {
            "page": number,
            "per_page": size,
            "count": len(chunk),
            "total_count": len(every),
            "total_pages": max(1, -(-len(every) // size)),
        }
        return [self.describe(t) for t in chunk], info

    def get(self, token_id: str) -> dict[str, Any]:
        return self.describe(self.tokens.get(token_id))

    def revoke(self, token_id: str) -> dict[str, Any]:
        self.tokens.revoke(token_id)
        return {"id": token_id}

    def verify(self, caller: Principal) -> dict[str, Any]:
        result: dict[str, Any] = {"id": caller.token_id, "status": "active"}
        if caller.expires_at is not None:
            result["expires_on"] = iso(caller.expires_at.timestamp())
        return result

    def temporary(self, caller: Principal, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or set(body) - _TEMP_KEYS:
            raise InvalidRequest(f"Temporary credentials take {', '.join(sorted(_TEMP_KEYS))}")
        bucket, permission, ttl = body.get("bucket"), body.get("permission"), body.get("ttlSeconds")
        if not isinstance(bucket, str) or not bucket:
            raise InvalidRequest("'bucket' is required")
        if permission not in _TEMP_PERMISSIONS:
            raise InvalidRequest(f"'permission' must be one of {', '.join(sorted(_TEMP_PERMISSIONS))}")
        if permission.startswith("admin-"):
            raise NotImplementedYet("Temporary credentials with admin permissions")
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            raise InvalidRequest("'ttlSeconds' must be an integer")
        parent = body.get("parentAccessKeyId") or caller.token_id
        if not isinstance(parent, str):
            raise InvalidRequest("'parentAccessKeyId' must be a string")
        issued = self.tokens.temporary.issue(
            parent,
            bucket,
            TempPermission(permission),
            ttl,
            prefixes=tuple(_strings(body.get("prefixes"), "prefixes")),
            objects=tuple(_strings(body.get("objects"), "objects")),
        )
        return {
            "accessKeyId": issued.access_key_id,
            "secretAccessKey": issued.secret_access_key,
            "sessionToken": issued.session_token,
        }


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"'{what}' must be a list of strings")
    return list(value)
