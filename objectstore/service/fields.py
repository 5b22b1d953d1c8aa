"""Values lakebox stores and later sends back as HTTP header values (object metadata, ``response-*`` overrides,
CORS rules): checked when received, so that a stored value can never make a later response unsendable.

RFC 9110 5.5: a field value is visible characters, spaces and horizontal tabs (and obs-text); CR, LF, NUL, DEL
and the other control characters are refused.
"""

from __future__ import annotations

import re

from objectstore.service.errors import InvalidArgument

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def check_field_value(name: str, value: str) -> str:
    """``value`` if it can be sent as the value of header ``name``; else InvalidArgument."""
    if _CONTROL.search(value):
        raise InvalidArgument(
            f"{name} must not contain control characters (CR, LF, NUL, DEL, ...)", ArgumentName=name
        )
    return value
