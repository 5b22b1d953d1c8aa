"""Bucket default encryption (PutBucketEncryption): R2 takes only AES256, which is what lakebox does to every object
anyway (encryption at rest), so a valid configuration changes nothing and is not stored: GetBucketEncryption
always answers the one rule there is, before a PUT, after it and after a DELETE (as S3 answers SSE-S3 once a
configuration is deleted)."""

from __future__ import annotations

from objectstore.service.bucket_config import Node
from objectstore.service.errors import InvalidArgument, MalformedXML

ALGORITHM = "AES256"
_KMS_ALGORITHMS = {"aws:kms", "aws:kms:dsse"}
_DEFAULT_FIELDS = {"SSEAlgorithm", "KMSMasterKeyID"}


def check_encryption_rules(rules: list[Node]) -> None:
    """Validates a ServerSideEncryptionConfiguration's children (one Rule, as S3 requires); raises the error a
    client sees. aws:kms is refused as an object's ``x-amz-server-side-encryption: aws:kms`` is: there is no KMS."""
    if len(rules) != 1 or rules[0][0] != "Rule" or not isinstance(rules[0][1], list):
        raise MalformedXML()
    fields = rules[0][1]
    if any(tag not in ("ApplyServerSideEncryptionByDefault", "BucketKeyEnabled") for tag, _ in fields):
        raise MalformedXML()
    defaults = [value for tag, value in fields if tag == "ApplyServerSideEncryptionByDefault"]
    enabled = [value for tag, value in fields if tag == "BucketKeyEnabled"]
    if len(defaults) != 1 or not isinstance(defaults[0], list) or len(enabled) > 1:
        raise MalformedXML()
    if enabled and enabled[0] not in ("true", "false"):
        raise MalformedXML()
    settings = defaults[0]
    tags = [tag for tag, _ in settings]
    if any(tag not in _DEFAULT_FIELDS for tag in tags) or len(set(tags)) != len(tags):
        raise MalformedXML()
    values = {tag: value for tag, value in settings}
    algorithm = values.get("SSEAlgorithm")
    if algorithm in _KMS_ALGORITHMS:
        raise InvalidArgument(
            f"Server Side Encryption with {algorithm} is not supported: every object is encrypted at rest with "
            "AES256",
            ArgumentName="SSEAlgorithm",
            ArgumentValue=algorithm,
        )
    if algorithm != ALGORITHM:
        raise MalformedXML()
    if "KMSMasterKeyID" in values:
        raise InvalidArgument(
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            ArgumentName="ApplyServerSideEncryptionByDefault",
        )
