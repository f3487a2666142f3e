"""The admin token: ``PATCH /params`` (and optionally the reads) needs ``Authorization: Bearer``.

Theory of operation. In CSM the API gateway checks node and operator tokens; the tracker
itself only guards what changes its behaviour. With ``--admin-token-file`` set, a Quart
``before_request`` hook answers 401 (an RFC 7807 problem with ``WWW-Authenticate: Bearer``)
before any protected handler runs, so a refused request is never parsed and never changes the
parameters (its body is drained unread, to keep the connection usable). ``--protect reads``
adds the read endpoints. Heartbeats (answered inline by the HTTP server before Quart), liveness,
readiness and the OpenAPI document always stay open.

The token is compared with ``hmac.compare_digest`` and appears in no log line, no error and
no ``repr``.
"""

from __future__ import annotations

import hmac
import logging
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from quart import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from ._problem import PROBLEM_CONTENT_TYPE, problem_body

__all__ = ["PROMETHEUS_PATH", "AdminAuth", "auth_hook"]

log = logging.getLogger("hbtd.auth")

_ROOT = "/hmi/v1"
#: Metrics are also served at Prometheus' default path, outside the API root.
PROMETHEUS_PATH = "/metrics"
#: (method, Quart rule) pairs the token always protects.
ADMIN_ENDPOINTS = frozenset({("PATCH", _ROOT + "/params")})
#: The pairs ``--protect reads`` adds.
READ_ENDPOINTS = frozenset(
    {
        ("GET", _ROOT + "/params"),
        ("POST", _ROOT + "/hbstates"),
        ("GET", _ROOT + "/hbstate/<xname>"),
        ("GET", _ROOT + "/health"),
        ("GET", _ROOT + "/metrics"),
        ("GET", PROMETHEUS_PATH),
    }
)
_MAX_TOKEN_BYTES = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminAuth:
    """The admin token and what it protects.

    Attributes:
        token: the secret, as bytes (never shown by ``repr``).
        protect_reads: also protect the read endpoints.
    """

    token: bytes = field(repr=False)
    protect_reads: bool = False

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("the admin token is empty")
        if len(self.token) > _MAX_TOKEN_BYTES:
            raise ValueError(f"the admin token is longer than {_MAX_TOKEN_BYTES} bytes")
        if any(byte <= 0x20 or byte == 0x7F for byte in self.token):
            raise ValueError("the admin token contains whitespace or control characters")

    @classmethod
    def from_file(cls, path: Path, *, protect_reads: bool = False) -> AdminAuth:
        """Read the token from a file (surrounding whitespace, such as a final newline, is cut).

        Raises:
            OSError: the file cannot be read.
            ValueError: the file holds no usable token.
        """
        token = path.read_bytes().strip()
        auth = cls(token=token, protect_reads=protect_reads)
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("admin token file %s is readable by other users; chmod 600 it", path)
        return auth

    def protects(self, method: str, rule: str) -> bool:
        """Whether a request to the Quart route ``rule`` with ``method`` needs the token."""
        if method == "HEAD":
            method = "GET"  # Werkzeug answers HEAD with the GET handler
        key = (method, rule)
        return key in ADMIN_ENDPOINTS or (self.protect_reads and key in READ_ENDPOINTS)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the token, compared in constant time."""
        if not authorization:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        given = credentials.strip().encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self.token)


def auth_hook(auth: AdminAuth) -> Callable[[], Awaitable[Response | None]]:
    """A Quart ``before_request`` function: None lets a request through, else its 401."""

    async def check() -> Response | None:
        rule = request.url_rule
        if rule is None or not auth.protects(request.method, rule.rule):
            return None  # not protected, or a 404/405 that Quart answers next
        header = request.headers.get("Authorization")
        if auth.accepts(header):
            return None
        close = False
        try:
            # Drain the body, unparsed: answering before it is read can stall the keep-alive
            # connection, and the client's next request on it hangs (seen with hypercorn).
            await request.get_data()
        except RequestEntityTooLarge:
            close = True  # over the app's limit: do not read more, hang up after the 401
        if header:
            detail = "The bearer token is not valid"
            challenge = 'Bearer realm="hbtd", error="invalid_token"'
        else:
            detail = "This operation needs an Authorization: Bearer token"
            challenge = 'Bearer realm="hbtd"'
        log.warning(
            "refused %s %s from %s: %s",
            request.method,
            request.path,
            request.remote_addr,
            "bad token" if header else "no token",
        )
        response = Response(
            problem_body(401, detail, request.path),
            status=401,
            content_type=PROBLEM_CONTENT_TYPE,
        )
        response.headers["WWW-Authenticate"] = challenge
        if close:
            response.headers["Connection"] = "close"
        return response

    return check
