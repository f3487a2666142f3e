"""Plain HTTP sent to the TLS port gets the answer Go's net/http gives, not a silent close.

A client that speaks ``http://`` to an ``https://`` port sends ``GET /...`` where a TLS
ClientHello belongs. Go's server reads the first five bytes as a TLS record header, sees that
they look like HTTP, writes ``HTTP/1.0 400 Bad Request`` with the body "Client sent an HTTP
request to an HTTPS server." and closes (``net/http/server.go``, ``tlsRecordHeaderLooksLikeHTTP``);
curl, a health check or an operator then reads why. :func:`answer_plain_http` puts a stream
under the TLS layer that does the same before the handshake sees those bytes.
"""

from __future__ import annotations

from typing import Final

import trio

__all__ = ["PLAIN_HTTP_ANSWER", "answer_plain_http"]

#: Go's answer, byte for byte.
PLAIN_HTTP_ANSWER: Final = (
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
)
#: The first five bytes Go takes for HTTP, and the methods of this API it does not list.
_HTTP_STARTS: Final = frozenset(
    {b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO", b"PATCH", b"DELET"}
)
#: A TLS record of type handshake starts with this byte.
_TLS_HANDSHAKE: Final = 0x16


class _PlainHttpAnswerer(trio.abc.HalfCloseableStream):
    """``stream`` as it is, but a first read that looks like HTTP is answered and refused."""

    def __init__(self, stream: trio.abc.HalfCloseableStream) -> None:
        self._stream = stream
        self._first = True

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Bytes from ``stream``; the first ones answered as Go does when they look like HTTP.

        Raises:
            trio.BrokenResourceError: they did (after the answer is sent).
        """
        stream = self._stream
        data = await stream.receive_some(max_bytes)
        if self._first and data and data[0] != _TLS_HANDSHAKE:
            while len(data) < 5:  # a header split over reads: Go reads five bytes too
                more = await stream.receive_some(max_bytes)
                if not more:
                    break
                data += more
            if data[:5] in _HTTP_STARTS:
                await stream.send_all(PLAIN_HTTP_ANSWER)
                raise trio.BrokenResourceError("plain HTTP sent to the TLS port")
        self._first = False
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send through ``stream``."""
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """Wait on ``stream``."""
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        """Half-close ``stream``."""
        await self._stream.send_eof()

    async def aclose(self) -> None:
        """Close ``stream``."""
        await self._stream.aclose()


def answer_plain_http(stream: trio.abc.HalfCloseableStream) -> trio.abc.HalfCloseableStream:
    """Wrap the stream a TLS layer will read, so plain HTTP gets Go's 400 (module docstring).

    Args:
        stream: the connection's transport, before ``trio.SSLStream`` is put over it.

    Returns:
        A stream to give ``trio.SSLStream`` in its place.
    """
    return _PlainHttpAnswerer(stream)
