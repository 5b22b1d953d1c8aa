"""Object store domain errors.

Each error carries the S3 code that names it; the S3 edge (``objectstore.api.errors``) maps the code to its HTTP
status and XML body, and the catalog maps the few it cares about to Iceberg errors. Anything that is not a
``StoreError`` is an internal error and is never shown to a client in detail.
"""

from __future__ import annotations


class StoreError(Exception):
    code = "InternalError"
    default_message = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, **fields: str) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        # Extra elements for the <Error> body (e.g. BucketName, Key, ArgumentName).
        self.fields = fields


class NoSuchBucket(StoreError):
    code = "NoSuchBucket"
    default_message = "The specified bucket does not exist."


class NoSuchKey(StoreError):
    code = "NoSuchKey"
    default_message = "The specified key does not exist."


class NoSuchUpload(StoreError):
    code = "NoSuchUpload"
    default_message = "The specified multipart upload does not exist."


class BucketAlreadyOwnedByYou(StoreError):
    code = "BucketAlreadyOwnedByYou"
    default_message = "The bucket you tried to create already exists, and you own it."


class BucketNotEmpty(StoreError):
    code = "BucketNotEmpty"
    default_message = "The bucket you tried to delete is not empty."


class InvalidBucketName(StoreError):
    code = "InvalidBucketName"
    default_message = "The specified bucket is not valid."


class InvalidURI(StoreError):
    code = "InvalidURI"
    default_message = "Couldn't parse the specified URI."


class InvalidRegionName(StoreError):
    code = "InvalidRegionName"
    default_message = "The region name is not valid."


class KeyTooLongError(StoreError):
    code = "KeyTooLongError"
    default_message = "Your key is too long."


class MetadataTooLarge(StoreError):
    code = "MetadataTooLarge"
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class EntityTooLarge(StoreError):
    code = "EntityTooLarge"
    default_message = "Your proposed upload exceeds the maximum allowed object size."


class EntityTooSmall(StoreError):
    code = "EntityTooSmall"
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


class InvalidArgument(StoreError):
    code = "InvalidArgument"
    default_message = "Invalid Argument"


class InvalidEncryptionAlgorithm(StoreError):
    code = "InvalidEncryptionAlgorithmError"
    default_message = "The encryption request you specified is not valid. The valid value is AES256."


class InvalidRequest(StoreError):
    code = "InvalidRequest"
    default_message = "Invalid Request"


class InvalidRange(StoreError):
    code = "InvalidRange"
    default_message = "The requested range is not satisfiable"


class BadDigest(StoreError):
    code = "BadDigest"
    default_message = "The Content-MD5 or checksum you specified did not match what we received."


class InvalidDigest(StoreError):
    code = "InvalidDigest"
    default_message = "The Content-MD5 you specified is not valid."


class PreconditionFailed(StoreError):
    code = "PreconditionFailed"
    default_message = "At least one of the pre-conditions you specified did not hold."


class NotModified(StoreError):
    code = "NotModified"
    default_message = "Not Modified"


class InvalidPart(StoreError):
    code = "InvalidPart"
    default_message = "One or more of the specified parts could not be found."


class InvalidPartOrder(StoreError):
    code = "InvalidPartOrder"
    default_message = "The list of parts was not in ascending order."


class MalformedXML(StoreError):
    code = "MalformedXML"
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema."
    )


class IncompleteBody(StoreError):
    code = "IncompleteBody"
    default_message = "You did not provide the number of bytes specified by the Content-Length HTTP header."


class MissingContentLength(StoreError):
    code = "MissingContentLength"
    default_message = "You must provide the Content-Length HTTP header."


class XAmzContentSHA256Mismatch(StoreError):
    code = "XAmzContentSHA256Mismatch"
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class InvalidStorageClass(StoreError):
    code = "InvalidStorageClass"
    default_message = "The storage class you specified is not valid."


class InvalidLocationConstraint(StoreError):
    code = "InvalidLocationConstraint"
    default_message = "The specified location-constraint is not valid."


class NotImplementedOp(StoreError):
    code = "NotImplemented"
    default_message = "A header or query you provided implies functionality that is not implemented."


class MethodNotAllowed(StoreError):
    code = "MethodNotAllowed"
    default_message = "The specified method is not allowed against this resource."


class InvalidObjectState(StoreError):
    code = "InvalidObjectState"
    default_message = "The operation is not valid for the current state of the object."


class NoSuchCORSConfiguration(StoreError):
    code = "NoSuchCORSConfiguration"
    default_message = "The CORS configuration does not exist"


class NoSuchLifecycleConfiguration(StoreError):
    code = "NoSuchLifecycleConfiguration"
    default_message = "The lifecycle configuration does not exist"


class ServiceUnavailable(StoreError):
    code = "ServiceUnavailable"
    default_message = "Please reduce your request rate."


class ReplicationConfigurationNotFoundError(StoreError):
    code = "ReplicationConfigurationNotFoundError"
    default_message = "The replication configuration was not found"


class NoSuchTagSet(StoreError):
    code = "NoSuchTagSet"
    default_message = "The TagSet does not exist"


class ObjectLockConfigurationNotFoundError(StoreError):
    code = "ObjectLockConfigurationNotFoundError"
    default_message = "Object Lock configuration does not exist for this bucket"


class InsufficientStorage(StoreError):
    code = "InsufficientStorage"
    default_message = (
        "The server has not enough free storage space to store this data. Delete objects or abort multipart "
        "uploads to free space, then retry."
    )
