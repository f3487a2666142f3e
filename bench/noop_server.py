"""A no-op ASGI app on hypercorn's trio worker, with the settings ``hbtd`` had on it before
the lean server (#12) replaced it: the ceiling the heartbeat benchmark compares against.

Usage: ``python -m bench.noop_server PORT``
"""

from __future__ import annotations

import sys
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


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


def hypercorn_config(port: int) -> Config:
    """hbtd's former hypercorn settings, on 127.0.0.1:``port``."""
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.keep_alive_timeout = 30.0
    config.graceful_timeout = 2.0
    config.h11_max_incomplete_size = 16 * 1024
    config.backlog = 1024
    return config


def main() -> None:
    """Serve the no-op app on 127.0.0.1:PORT until killed."""
    port = int(sys.argv[1])
    app: Any = noop_app
    trio.run(serve, app, hypercorn_config(port))


if __name__ == "__main__":
    main()
