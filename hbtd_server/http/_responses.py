"""Response heads as bytes: status lines with reason phrases, a cached Date."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

from ..core import PayloadTooLarge
from ._problem import PROBLEM_CONTENT_TYPE, problem_body

__all__ = ["CONTINUE", "DateCache", "problem_response", "response_head", "status_line"]

#: The interim answer to ``Expect: 100-continue``.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_STATUS_LINES: dict[int, bytes] = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in HTTPStatus
}
_PROBLEM_TYPE = PROBLEM_CONTENT_TYPE.encode()


def status_line(status: int) -> bytes:
    """``HTTP/1.1 404 Not Found\\r\\n``; a status without a registered phrase gets none."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} \r\n".encode()
    return line


class DateCache:
    """The ``Date`` header line, formatted at most once a second (RFC 9110 §6.6.1)."""

    __slots__ = ("_line", "_ok", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""
        self._ok = b""

    def line(self) -> bytes:
        """``date: Thu, 03 Dec 2026 10:00:00 GMT\\r\\n`` for the current second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._line = b"date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
            self._ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n" + self._line + b"\r\n"
        return self._line

    def ok_response(self) -> bytes:
        """A whole ``200 OK`` keep-alive response with an empty body, for the current second."""
        self.line()
        return self._ok


def response_head(
    status: int,
    headers: list[tuple[bytes, bytes]],
    *,
    date: bytes,
    keep_alive: bool,
    http_10: bool,
) -> bytes:
    """A whole response head: status line, ``headers``, Date, Connection, blank line.

    Args:
        status: the status code.
        headers: name-value pairs; a ``connection`` header among them is dropped, since the
            server decides that.
        date: the Date line from :class:`DateCache`.
        keep_alive: the connection stays open after this response.
        http_10: the request was HTTP/1.0, where keep-alive must be said.
    """
    parts = [status_line(status)]
    for name, value in headers:
        if name.lower() != b"connection":
            parts += (name, b": ", value, b"\r\n")
    parts.append(date)
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    elif http_10:
        parts.append(b"connection: keep-alive\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def problem_response(status: int, detail: str, instance: str, *, date: bytes) -> bytes:
    """A whole RFC 7807 response that closes the connection (for errors of the server's own).

    A 413 is titled as the API titles it, so a body over the server's cap and one over an
    endpoint's own cap read alike.
    """
    title = PayloadTooLarge.title if status == 413 else None
    body = problem_body(status, detail, instance, title)
    headers = [(b"content-type", _PROBLEM_TYPE), (b"content-length", str(len(body)).encode())]
    return response_head(status, headers, date=date, keep_alive=False, http_10=False) + body
