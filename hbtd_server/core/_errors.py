"""The tracker's error tree. Each error carries the HTTP status it suggests.

    HbtdError (500)
    ├── InvalidRequest (400)   a client sent something the API cannot take
    │   └── PayloadTooLarge (413)
    ├── NotFound (404)
    └── ComponentLimit (503)   tracking as many components as allowed; a new one must wait

The API renders every ``HbtdError`` as an RFC 7807 problem; any other exception is a bug and a
500. Each error also carries a :class:`Rejection`, decided where the error is raised: a refused
heartbeat is counted by it (the ``reason`` label of ``hbtd_heartbeats_rejected_total``), so no
one has to read the reason back out of the detail text.
"""

from __future__ import annotations

import enum

__all__ = [
    "ComponentLimit",
    "HbtdError",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "Rejection",
]


class Rejection(enum.Enum):
    """Why a request was refused, as refused heartbeats are counted (the value is the label).

    A short, bounded set: a metric label never echoes client input.
    """

    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    WRONG_FIELD_TYPE = "wrong_field_type"
    FIELD_TOO_LONG = "field_too_long"
    MISSING_COMPONENT = "missing_component"
    MISSING_STATUS = "missing_status"
    MISSING_TIMESTAMP = "missing_timestamp"
    INVALID_XNAME = "invalid_xname"
    INVALID_NID = "invalid_nid"
    INVALID_CHARACTERS = "invalid_characters"
    COMPONENT_LIMIT = "component_limit"
    OTHER = "other"


class HbtdError(Exception):
    """Base of every error the tracker reports to a client.

    Args:
        detail: the problem's detail text.
        reason: why, as a label; the class's own when not given.
    """

    status_hint = 500
    title = "Internal Server Error"
    reason = Rejection.OTHER

    def __init__(self, detail: str, reason: Rejection | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if reason is not None:
            self.reason = reason


class InvalidRequest(HbtdError):
    """The request is malformed or breaks a rule; the detail says which."""

    status_hint = 400
    title = "Invalid Request"


class PayloadTooLarge(InvalidRequest):
    """The request body is larger than this endpoint takes."""

    status_hint = 413
    title = "Payload Too Large"
    reason = Rejection.TOO_LARGE


class NotFound(HbtdError):
    """No such resource."""

    status_hint = 404
    title = "Not Found"


class ComponentLimit(HbtdError):
    """A heartbeat from a new component while as many as allowed are tracked."""

    status_hint = 503
    title = "Service Unavailable"
    reason = Rejection.COMPONENT_LIMIT
