"""Authentication and authorisation errors, protocol-neutral.

Each error's ``code`` is the S3 error code a client sees; the catalog maps the same errors to Iceberg types
(401 NotAuthorizedException / 403 ForbiddenException) at its own edge.
"""

from __future__ import annotations


class AuthError(Exception):
    code = "AccessDenied"
    default_message = "Access Denied"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class AccessDenied(AuthError):
    code = "AccessDenied"


class InvalidAccessKeyId(AuthError):
    code = "InvalidAccessKeyId"
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class SignatureDoesNotMatch(AuthError):
    code = "SignatureDoesNotMatch"
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class ExpiredToken(AuthError):
    code = "ExpiredToken"
    default_message = "The provided token has expired."


class InvalidToken(AuthError):
    code = "InvalidToken"
    default_message = "The provided token is malformed or otherwise invalid."


class RequestTimeTooSkewed(AuthError):
    code = "RequestTimeTooSkewed"
    default_message = "The difference between the request time and the server's time is too large."


class AuthorizationHeaderMalformed(AuthError):
    code = "AuthorizationHeaderMalformed"
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(AuthError):
    code = "AuthorizationQueryParametersError"
    default_message = "Error parsing the X-Amz-Credential parameter."


class MissingSecurityHeader(AuthError):
    code = "MissingSecurityHeader"
    default_message = "Your request is missing a required header."


class AuthInvalidArgument(AuthError):
    code = "InvalidArgument"
    default_message = "Invalid argument."


class NotAuthenticated(AuthError):
    """No credentials at all where they are required (catalog: 401)."""

    code = "AccessDenied"


class AuthInvalidRequest(AuthError):
    code = "InvalidRequest"
    default_message = "Invalid Request"


class NoSuchToken(AuthError):
    """The admin API's 404: no token (or temporary credential) with that id."""

    code = "NoSuchToken"
    default_message = "The token does not exist."
