"""The tracker's error tree. Each error carries the HTTP status it suggests.

    HbtdError (500)
    ├── InvalidRequest (400)   a client sent something the API cannot take
    │   └── PayloadTooLarge (413)
    ├── NotFound (404)
    └── ComponentLimit (503)   tracking as many components as allowed; a new one must wait

The API renders every ``HbtdError`` as an RFC 7807 problem; any other exception is a bug and a
500.
"""

from __future__ import annotations

__all__ = ["ComponentLimit", "HbtdError", "InvalidRequest", "NotFound", "PayloadTooLarge"]


class HbtdError(Exception):
    """Base of every error the tracker reports to a client."""

    status_hint = 500
    title = "Internal Server Error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(HbtdError):
    """The request is malformed or breaks a rule; the detail says which."""

    status_hint = 400
    title = "Invalid Request"


class PayloadTooLarge(InvalidRequest):
    """The request body is larger than this endpoint takes."""

    status_hint = 413
    title = "Payload Too Large"


class NotFound(HbtdError):
    """No such resource."""

    status_hint = 404
    title = "Not Found"


class ComponentLimit(HbtdError):
    """A heartbeat from a new component while as many as allowed are tracked."""

    status_hint = 503
    title = "Service Unavailable"
