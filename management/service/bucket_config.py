"""A bucket's CORS and lifecycle rules in the Cloudflare API's JSON shapes, stored where the S3 API stores them
(``objectstore.service.bucket_config``), so both APIs read and change the same configuration and the S3
validation applies to both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from management.service.errors import InvalidRequest, NoCorsConfiguration
from objectstore.service.bucket_config import BucketConfigService, Node, children, rule_prefix, text
from objectstore.service.errors import NoSuchCORSConfiguration

DAY = 86400
_CORS_KEYS = {"id", "allowed", "exposeHeaders", "maxAgeSeconds"}
_ALLOWED_KEYS = {"origins", "methods", "headers"}
_LIFECYCLE_KEYS = {
    "id",
    "enabled",
    "conditions",
    "deleteObjectsTransition",
    "storageClassTransitions",
    "abortMultipartUploadsTransition",
}


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"'{what}' must be a list of strings")
    return list(value)


def _object(value: Any, what: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{what}' must be an object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise InvalidRequest(f"Unknown field in '{what}': {unknown[0]!r}")
    return value


def rules_of(body: Any) -> list[Any]:
    rules = _object(body, "body", {"rules"}).get("rules")
    if not isinstance(rules, list):
        raise InvalidRequest("'rules' must be a list")
    return rules


# -- CORS -------------------------------------------------------------------------------------------------


def cors_to_nodes(rules: list[Any]) -> list[Node]:
    nodes: list[Node] = []
    for raw in rules:
        rule = _object(raw, "rules[]", _CORS_KEYS)
        allowed = _object(rule.get("allowed", {}), "allowed", _ALLOWED_KEYS)
        fields: list[Node] = []
        if rule.get("id") is not None:
            if not isinstance(rule["id"], str):
                raise InvalidRequest("'id' must be a string")
            fields.append(["ID", rule["id"]])
        fields += [["AllowedOrigin", o] for o in _strings(allowed.get("origins"), "allowed.origins")]
        fields += [["AllowedMethod", m] for m in _strings(allowed.get("methods"), "allowed.methods")]
        fields += [["AllowedHeader", h] for h in _strings(allowed.get("headers"), "allowed.headers")]
        fields += [["ExposeHeader", h] for h in _strings(rule.get("exposeHeaders"), "exposeHeaders")]
        max_age = rule.get("maxAgeSeconds")
        if max_age is not None:
            if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
                raise InvalidRequest("'maxAgeSeconds' must be a non-negative integer")
            fields.append(["MaxAgeSeconds", str(max_age)])
        nodes.append(["CORSRule", fields])
    return nodes


def cors_from_nodes(nodes: list[Node]) -> list[dict[str, Any]]:
    rules = []
    for node in nodes:
        rule: dict[str, Any] = {}
        rule_id = text(node, "ID")
        if rule_id is not None:
            rule["id"] = rule_id
        rule["allowed"] = {
            "origins": [n[1] for n in children(node, "AllowedOrigin")],
            "methods": [n[1] for n in children(node, "AllowedMethod")],
            "headers": [n[1] for n in children(node, "AllowedHeader")],
        }
        expose = [n[1] for n in children(node, "ExposeHeader")]
        if expose:
            rule["exposeHeaders"] = expose
        max_age = text(node, "MaxAgeSeconds")
        if max_age is not None:
            rule["maxAgeSeconds"] = int(max_age.strip())
        rules.append(rule)
    return rules


# -- lifecycle --------------------------------------------------------------------------------------------


def _condition_to_nodes(raw: Any, what: str, day_tag: str = "Days", dates: bool = True) -> list[Node]:
    condition = _object(raw, what, {"type", "maxAge", "date"})
    kind = condition.get("type")
    if kind == "Age":
        max_age = condition.get("maxAge")
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age <= 0 or max_age % DAY:
            raise InvalidRequest(f"'{what}.maxAge' must be a positive number of seconds in whole days")
        return [[day_tag, str(max_age // DAY)]]
    if kind == "Date" and dates:
        date = condition.get("date")
        if not isinstance(date, str):
            raise InvalidRequest(f"'{what}.date' must be an ISO 8601 date")
        return [["Date", date]]
    allowed = "Age or Date" if dates else "Age"
    raise InvalidRequest(f"'{what}.type' must be {allowed}")


def lifecycle_to_nodes(rules: list[Any]) -> list[Node]:
    nodes: list[Node] = []
    for raw in rules:
        rule = _object(raw, "rules[]", _LIFECYCLE_KEYS)
        rule_id, enabled = rule.get("id"), rule.get("enabled")
        if not isinstance(rule_id, str) or not rule_id:
            raise InvalidRequest("Every rule needs an 'id'")
        if not isinstance(enabled, bool):
            raise InvalidRequest("'enabled' must be true or false")
        conditions = _object(rule.get("conditions", {}), "conditions", {"prefix"})
        prefix = conditions.get("prefix", "")
        if not isinstance(prefix, str):
            raise InvalidRequest("'conditions.prefix' must be a string")
        fields: list[Node] = [
            ["ID", rule_id],
            ["Filter", [["Prefix", prefix]]],
            ["Status", "Enabled" if enabled else "Disabled"],
        ]
        if rule.get("deleteObjectsTransition") is not None:
            delete = _object(rule["deleteObjectsTransition"], "deleteObjectsTransition", {"condition"})
            fields.append(["Expiration", _condition_to_nodes(delete.get("condition"), "condition")])
        for transition in rule.get("storageClassTransitions") or []:
            t = _object(transition, "storageClassTransitions[]", {"condition", "storageClass"})
            if t.get("storageClass") != "InfrequentAccess":
                raise InvalidRequest("'storageClass' of a transition must be InfrequentAccess")
            when = _condition_to_nodes(t.get("condition"), "condition")
            fields.append(["Transition", [*when, ["StorageClass", "STANDARD_IA"]]])
        if rule.get("abortMultipartUploadsTransition") is not None:
            abort = _object(
                rule["abortMultipartUploadsTransition"], "abortMultipartUploadsTransition", {"condition"}
            )
            days = _condition_to_nodes(
                abort.get("condition"), "condition", "DaysAfterInitiation", dates=False
            )
            fields.append(["AbortIncompleteMultipartUpload", days])
        nodes.append(["Rule", fields])
    return nodes


def _condition(node: Node, day_tag: str = "Days") -> dict[str, Any]:
    days, date = text(node, day_tag), text(node, "Date")
    if date is not None:
        when = datetime.fromisoformat(date.replace("Z", "+00:00")).astimezone(UTC)
        return {"type": "Date", "date": when.isoformat().replace("+00:00", "Z")}
    return {"type": "Age", "maxAge": int(days or 0) * DAY}


def lifecycle_from_nodes(nodes: list[Node]) -> list[dict[str, Any]]:
    rules = []
    for node in nodes:
        rule: dict[str, Any] = {
            "id": text(node, "ID") or "",
            "enabled": text(node, "Status") == "Enabled",
            "conditions": {"prefix": rule_prefix(node)},
        }
        for expiration in children(node, "Expiration"):
            if text(expiration, "Days") is not None or text(expiration, "Date") is not None:
                rule["deleteObjectsTransition"] = {"condition": _condition(expiration)}
        transitions = [
            {"condition": _condition(t), "storageClass": "InfrequentAccess"}
            for t in children(node, "Transition")
        ]
        if transitions:
            rule["storageClassTransitions"] = transitions
        for abort in children(node, "AbortIncompleteMultipartUpload"):
            rule["abortMultipartUploadsTransition"] = {"condition": _condition(abort, "DaysAfterInitiation")}
        rules.append(rule)
    return rules


class R2BucketConfig:
    def __init__(self, config: BucketConfigService) -> None:
        self.config = config

    def cors(self, bucket: str) -> dict[str, Any]:
        try:
            return {"rules": cors_from_nodes(self.config.get_cors(bucket))}
        except NoSuchCORSConfiguration:
            raise NoCorsConfiguration() from None

    def put_cors(self, bucket: str, body: Any) -> None:
        rules = rules_of(body)
        if not rules:
            self.config.delete_cors(bucket)  # an empty rule list removes the configuration, as on R2
            return
        self.config.put_cors(bucket, cors_to_nodes(rules))

    def delete_cors(self, bucket: str) -> None:
        self.config.delete_cors(bucket)

    def lifecycle(self, bucket: str) -> dict[str, Any]:
        return {"rules": lifecycle_from_nodes(self.config.lifecycle_in_effect(bucket))}

    def put_lifecycle(self, bucket: str, body: Any) -> None:
        rules = rules_of(body)
        if not rules:
            self.config.clear_lifecycle(bucket)
            return
        self.config.put_lifecycle(bucket, lifecycle_to_nodes(rules))
