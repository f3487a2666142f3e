"""A no-op ASGI app on the same hypercorn trio worker and settings as ``hbtd``: the baseline.

Usage: ``python -m bench.noop_server PORT``
"""

from __future__ import annotations

import sys
from typing import Any

import trio
from hypercorn.trio import serve

from hbtd_server.service import hypercorn_config


async def noop_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every request 200 with an empty body after reading the request body."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def main() -> None:
    """Serve the no-op app on 127.0.0.1:PORT until killed."""
    port = int(sys.argv[1])
    app: Any = noop_app
    trio.run(serve, app, hypercorn_config(host="127.0.0.1", port=port))


if __name__ == "__main__":
    main()
