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


def _error(name: str, message: str) -> type[StoreError]:
    return type(name, (StoreError,), {"code": name, "default_message": message})


NoSuchBucket = _error("NoSuchBucket", "The specified bucket does not exist.")
NoSuchKey = _error("NoSuchKey", "The specified key does not exist.")
NoSuchUpload = _error("NoSuchUpload", "The specified multipart upload does not exist.")
BucketAlreadyOwnedByYou = _error("BucketAlreadyOwnedByYou", "The bucket you tried to create already exists, and you own it.")
BucketNotEmpty = _error("BucketNotEmpty", "The bucket you tried to delete is not empty.")
InvalidBucketName = _error("InvalidBucketName", "The specified bucket is not valid.")
KeyTooLongError = _error("KeyTooLongError", "Your key is too long.")
MetadataTooLarge = _error("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
EntityTooLarge = _error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
EntityTooSmall = _error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
InvalidArgument = _error("InvalidArgument", "Invalid Argument")
InvalidRequest = _error("InvalidRequest", "Invalid Request")
InvalidRange = _error("InvalidRange", "The requested range is not satisfiable")
BadDigest = _error("BadDigest", "The Content-MD5 or checksum you specified did not match what we received.")
InvalidDigest = _error("InvalidDigest", "The Content-MD5 you specified is not valid.")
PreconditionFailed = _error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
NotModified = _error("NotModified", "Not Modified")
InvalidPart = _error("InvalidPart", "One or more of the specified parts could not be found.")
InvalidPartOrder = _error("InvalidPartOrder", "The list of parts was not in ascending order.")
MalformedXML = _error("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
IncompleteBody = _error("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
MissingContentLength = _error("MissingContentLength", "You must provide the Content-Length HTTP header.")
XAmzContentSHA256Mismatch = _error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
InvalidStorageClass = _error("InvalidStorageClass", "The storage class you specified is not valid.")
NotImplementedOp = _error("NotImplemented", "A header or query you provided implies functionality that is not implemented.")
MethodNotAllowed = _error("MethodNotAllowed", "The specified method is not allowed against this resource.")
InvalidObjectState = _error("InvalidObjectState", "The operation is not valid for the current state of the object.")
NoSuchCORSConfiguration = _error("NoSuchCORSConfiguration", "The CORS configuration does not exist")
NoSuchLifecycleConfiguration = _error("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
ServiceUnavailable = _error("ServiceUnavailable", "Please reduce your request rate.")
