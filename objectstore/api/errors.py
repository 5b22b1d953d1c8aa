"""S3 error responses: each domain error's code mapped once to its HTTP status, rendered as ``<Error>`` XML."""

from __future__ import annotations

from auth.service.errors import AuthError
from objectstore.api.xml import escape_any
from objectstore.service.errors import InsufficientStorage, StoreError
from objectstore.service.placement import bucket_name
from objectstore.service.space import is_out_of_space

STATUS = {
    "AccessDenied": 403,
    "AccessForbidden": 403,
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "BadDigest": 400,
    "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "ExpiredToken": 400,
    "IncompleteBody": 400,
    "InsufficientStorage": 507,
    "InternalError": 500,
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidDigest": 400,
    "InvalidObjectState": 403,
    "InvalidPart": 400,
    "InvalidPartOrder": 400,
    "InvalidRange": 416,
    "InvalidRegionName": 400,
    "InvalidRequest": 400,
    "InvalidStorageClass": 400,
    "InvalidLocationConstraint": 400,
    "InvalidToken": 400,
    "InvalidURI": 400,
    "KeyTooLongError": 400,
    "MalformedTrailerError": 400,
    "MalformedXML": 400,
    "MetadataTooLarge": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "MissingSecurityHeader": 400,
    "NoSuchBucket": 404,
    "NoSuchCORSConfiguration": 404,
    "NoSuchKey": 404,
    "NoSuchLifecycleConfiguration": 404,
    "NoSuchTagSet": 404,
    "NoSuchUpload": 404,
    "ObjectLockConfigurationNotFoundError": 404,
    "ReplicationConfigurationNotFoundError": 404,
    "NotImplemented": 501,
    "NotModified": 304,
    "PreconditionFailed": 412,
    "RequestTimeTooSkewed": 403,
    "ServiceUnavailable": 503,
    "SignatureDoesNotMatch": 403,
    "XAmzContentSHA256Mismatch": 400,
}


# Seconds a client is told to wait before retrying a request refused for lack of storage.
RETRY_AFTER = {"InsufficientStorage": "30", "ServiceUnavailable": "1", "SlowDown": "1"}


def error_status(code: str) -> int:
    return STATUS.get(code, 400)


def error_body(code: str, message: str, request_id: str, resource: str = "", **fields: str) -> bytes:
    extra = "".join(f"<{k}>{escape_any(v)}</{k}>" for k, v in fields.items())
    resource_xml = f"<Resource>{escape_any(resource)}</Resource>" if resource else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape_any(message)}</Message>{extra}{resource_xml}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


def describe(exc: BaseException) -> tuple[str, str, dict[str, str]]:
    """(code, message, extra fields) of an error a client may see; anything else is an InternalError."""
    if isinstance(exc, StoreError):
        if "BucketName" in exc.fields:  # as the client named it, without lakebox's jurisdiction prefix
            return exc.code, exc.message, {**exc.fields, "BucketName": bucket_name(exc.fields["BucketName"])}
        return exc.code, exc.message, exc.fields
    if isinstance(exc, AuthError):
        return exc.code, exc.message, {}
    if is_out_of_space(exc):  # met below the service's own checks (a database write, a rename)
        return InsufficientStorage.code, InsufficientStorage.default_message, {}
    return "InternalError", "We encountered an internal error. Please try again.", {}
