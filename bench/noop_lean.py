"""A no-op keep-alive HTTP/1.1 server on trio + httptools: the floor for the lean server (#12).

One task per connection, one httptools parser each; every complete request is answered
``200`` with an empty body (the same head bytes as hbtd's heartbeat answer, less the Date).
No timeouts, no limits: only what any trio + llhttp server must do.

With ``--transport`` the same loop runs on hbtd's own ``SocketTransport`` instead of trio's
``SocketStream`` (it yields only when it must wait): the floor under hbtd's own transport.

Usage: ``python -m bench.noop_lean PORT [--transport]``
"""

from __future__ import annotations

import sys
from functools import partial

import httptools
import trio

from hbtd_server.http import SocketTransport

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


class _Requests:
    def __init__(self) -> None:
        self.complete = 0

    def on_message_complete(self) -> None:
        self.complete += 1


async def handle(stream: trio.abc.Stream) -> None:
    """Answer every request on ``stream`` until the client closes it."""
    requests = _Requests()
    parser = httptools.HttpRequestParser(requests)
    try:
        while data := await stream.receive_some(65536):
            parser.feed_data(data)
            if requests.complete:
                await stream.send_all(OK * requests.complete)
                requests.complete = 0
    except (trio.BrokenResourceError, httptools.HttpParserError):
        pass
    finally:
        await stream.aclose()


def main() -> None:
    """Serve on 127.0.0.1:PORT until killed."""

    async def on_transport(stream: trio.SocketStream) -> None:
        await handle(SocketTransport(stream))

    handler = on_transport if "--transport" in sys.argv[2:] else handle
    trio.run(partial(trio.serve_tcp, handler, int(sys.argv[1]), host="127.0.0.1"))


if __name__ == "__main__":
    main()
